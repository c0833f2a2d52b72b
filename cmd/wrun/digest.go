package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/bundle"
)

func newDigestCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "digest PATH",
		Short: "Print the content digest of a package directory, a bundle, a .wasm or a directory",
		Long: `Print the content digest (sha256:<hex>) of PATH:
  a directory with wrun.toml  the files its manifest names
  another directory           every regular file under it
  a .wasm                     its exploded files (see wrun wasm explode)
  a bundle file               its files, verified while read
The digest is the SIG-Registries rule: SHA-256 over the entries sorted by
path, each SHA-256(content) || u16le(len(path)) || path.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := bundle.DigestPath(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), d)
			return nil
		},
	}
}
