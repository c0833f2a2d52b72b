package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/tetratelabs/wazero/sys"
)

// globalOptions are the flags every command takes.
type globalOptions struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:           "wrun [REF] [-- ARGS...]",
		Short:         "Run WebAssembly packages under wazero",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.AddCommand(
		newRunCmd(g),
		newPreinitCmd(g),
		newBuildCmd(g),
		newDigestCmd(g),
		newInspectCmd(g),
		newKeyCmd(g),
		newWasmCmd(g),
		// One line per command; each command lives in its own file.
	)
	return root
}

// execute runs the CLI and returns the process exit code: the guest's own
// exit code, or 1 with a one-line message on stderr for anything else.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return int(exit.ExitCode() & 0xff)
	}
	fmt.Fprintf(stderr, "wrun: %v\n", err)
	return 1
}
