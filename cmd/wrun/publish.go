package main

import (
	"context"
	"fmt"
	"io"
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
			return publishSource(cmd.Context(), g, src, o.sign, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.sign, "sign", "", "sign the release with this ed25519 key (wrun key generate), replacing a bundle's own signature")
	return cmd
}

// publishSource publishes the package directory or bundle file src to its
// registry, signed with the ed25519 key in the file sign unless sign is "",
// and prints what it published to out.
func publishSource(ctx context.Context, g *globalOptions, src, sign string, out io.Writer) error {
	opts := g.registryOptions()
	if sign != "" {
		b, err := os.ReadFile(sign)
		if err != nil {
			return fmt.Errorf("--sign: %w", err)
		}
		if opts.SignKey, err = bundle.ParsePrivateKey(b); err != nil {
			return fmt.Errorf("--sign %s: %w", sign, err)
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
			return fmt.Errorf("--sign %s: %w", sign, err)
		}
	}
	client, err := registryclient.New(opts)
	if err != nil {
		return err
	}
	desc, err := client.Publish(ctx, pkg)
	if err != nil {
		return err
	}
	m := pkg.Manifest.Package
	fmt.Fprintf(out, "published %s@%s\ncontent %s\nmanifest %s\n", m.Name, m.Version, pkg.Digest(), desc.Digest)
	return nil
}
