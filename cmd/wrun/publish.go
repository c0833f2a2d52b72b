package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/registryclient"
)

type publishOptions struct {
	sign string
}

func newPublishCmd(g *globalOptions) *cobra.Command {
	o := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish [DIR|BUNDLE]",
		Short: "Publish a package to its registry",
		Long: `Publish a package directory (default ".") or a bundle file to the registry
its namespace maps to (config.toml; --registry overrides; the default is the
embedded local store). A package that is only a wasm is published as a CNCF
Wasm OCI artifact that other Wasm tools pull; any other as a wrun package.`,
		Example: `  wrun publish ./hello
  wrun publish --registry localhost:5000 --sign release.key hello.wrun`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := "."
			if len(args) == 1 {
				src = args[0]
			}
			opts := g.registryOptions()
			if o.sign != "" {
				b, err := os.ReadFile(o.sign)
				if err != nil {
					return fmt.Errorf("--sign: %w", err)
				}
				if opts.SignKey, err = bundle.ParsePrivateKey(b); err != nil {
					return fmt.Errorf("--sign %s: %w", o.sign, err)
				}
			}
			pkg, err := bundle.Load(src)
			if err != nil {
				return err
			}
			defer pkg.Close()
			if opts.SignKey != nil {
				// --sign wins over a signature a bundle already carries.
				if err := bundle.Sign(pkg, opts.SignKey); err != nil {
					return fmt.Errorf("--sign %s: %w", o.sign, err)
				}
			}
			client, err := registryclient.New(opts)
			if err != nil {
				return err
			}
			desc, err := client.Publish(cmd.Context(), pkg)
			if err != nil {
				return err
			}
			m := pkg.Manifest.Package
			fmt.Fprintf(cmd.OutOrStdout(), "published %s@%s\ncontent %s\nmanifest %s\n", m.Name, m.Version, pkg.Digest(), desc.Digest)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.sign, "sign", "", "sign the release with this ed25519 key (wrun key generate), replacing a bundle's own signature")
	return cmd
}
