package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/registryclient"
)

type lsOptions struct {
	json bool
}

func newLsCmd(g *globalOptions) *cobra.Command {
	o := &lsOptions{}
	cmd := &cobra.Command{
		Use:   "ls [NAMESPACE[:NAME]]",
		Short: "List packages and their versions in a registry",
		Example: `  wrun ls
  wrun ls example
  wrun ls --json example:hello`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			client, err := registryclient.New(g.registryOptions())
			if err != nil {
				return err
			}
			ls, err := client.List(cmd.Context(), prefix)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if ls == nil {
					ls = []registryclient.Listing{}
				}
				return enc.Encode(ls)
			}
			if len(ls) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no packages")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PACKAGE\tVERSIONS\tREGISTRY")
			for _, l := range ls {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Name, versionsColumn(l), l.Registry)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// lsMaxVersions is how many versions a line of `wrun ls` shows.
const lsMaxVersions = 8

// versionsColumn is a package's versions for one line: all when few, else
// the newest few and a count (--json lists all).
func versionsColumn(l registryclient.Listing) string {
	vs := l.Versions
	if len(vs) <= lsMaxVersions {
		return strings.Join(vs, " ")
	}
	return fmt.Sprintf("… %s (%d versions, the newest %d shown; --json lists all)", strings.Join(vs[len(vs)-lsMaxVersions:], " "), len(vs), lsMaxVersions)
}
