package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/bundle"
)

// buildOptions are the flags of `wrun build`.
type buildOptions struct {
	output string
	sign   string
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [DIR] [-o FILE] [--sign KEY]",
		Short: "Build a package directory into one bundle file",
		Long: `Build a package directory (wrun.toml, its wasm and its asset directories) into
one bundle: a canonical tar of exactly the files the manifest names, the same
bytes on any machine. Prints the content digest, which equals the digest of
the directory. [package] fields wrun.toml leaves out are filled from the
wasm's metadata sections. With --sign, the bundle carries a release manifest
and its Ed25519 signature (outside the content digest).`,
		Example: `  wrun build
  wrun build ./hello -o hello.wrun --sign ~/.wrun-key`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return o.run(cmd, dir)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "bundle file to write (default: NAME-VERSION.wrun, or DIR.wrun, in the current directory)")
	f.StringVar(&o.sign, "sign", "", "sign the release with this private key (from `wrun key generate`)")
	return cmd
}

func (o *buildOptions) run(cmd *cobra.Command, dir string) error {
	var key []byte
	if o.sign != "" {
		var err error
		if key, err = os.ReadFile(o.sign); err != nil {
			return fmt.Errorf("--sign: %w", err)
		}
	}
	p, err := bundle.LoadDir(dir)
	if err != nil {
		return err
	}
	if key != nil {
		k, err := bundle.ParsePrivateKey(key)
		if err != nil {
			return fmt.Errorf("--sign %s: %w", o.sign, err)
		}
		if err := bundle.Sign(p, k); err != nil {
			return err
		}
	}
	out := o.output
	if out == "" {
		out = defaultBundleName(p.Manifest, dir)
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return fmt.Errorf("-o %s is a directory; give a file name", out)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := p.WriteArchiveFile(out); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), p.Digest())
	return nil
}

func defaultBundleName(m *bundle.Manifest, dir string) string {
	if m.Package.Name != "" && m.Package.Version != "" {
		_, name, _ := cutLast(m.Package.Name, ":")
		return name + "-" + m.Package.Version + ".wrun"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return filepath.Base(abs) + ".wrun"
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return "", s, false
}
