package main

import (
	"strings"

	"github.com/spf13/cobra"
)

func newTestCmd(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "test [DIR] [-- ARGS...]",
		Short: "Run a package's tests in its sandbox",
		Long: `Run a package's tests inside the same sandbox it runs in, and exit with
their result. The command is the package's [test] args; a Python app without
a [test] table runs pytest in its first asset directory when it depends on
pypi:pytest, else "python -m unittest discover" there. Files the tests write next to the package's own land in a
per-run overlay, never in DIR.

` + strings.Replace(argumentRule, "after TARGET", "after DIR", 1),
		Example: `  wrun test ./app
  wrun test ./app -- -k test_parse`,
		Args:        cobra.ArbitraryArgs,
		Annotations: map[string]string{programArgs: "[DIR]"},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) > 0 && cmd.ArgsLenAtDash() != 0 {
				dir, args = args[0], args[1:]
			}
			return o.run(cmd.Context(), g, dir, args, true)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}
