package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/registryclient"
)

func newPullCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "pull REF",
		Short: "Fetch a package and its dependencies into the cache",
		Long: `Resolve REF with its runtime and dependencies, fetch what the cache lacks,
verify every byte (content digest, and signature where the namespace has
trusted keys) and print where each package is.`,
		Example: `  wrun pull example:hello@1.0.0
  wrun pull localhost:5000/example/hello:1.0.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := registryclient.New(g.registryOptions())
			if err != nil {
				return err
			}
			res, err := client.Pull(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, p := range append([]*registryclient.Package{res.Root}, res.Deps...) {
				signed := "unsigned"
				if p.Verification.Verified {
					signed = "signed by " + p.Verification.KeyID
				}
				fmt.Fprintf(out, "%s@%s %s (%s)\n", p.Name(), p.Version(), p.Digest(), signed)
				p.Close()
			}
			return nil
		},
	}
}
