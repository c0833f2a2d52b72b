package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/preinit"
)

// buildOptions are the flags of `wrun build`.
type buildOptions struct {
	output    string
	sign      string
	noPreinit bool
	limits    initLimits // of the [preinit] init
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
and its Ed25519 signature (outside the content digest).

When wrun.toml has [preinit], the wasm is pre-initialized first (its init
export runs with the package's assets mounted) and the bundle ships the
snapshot in its place, so the package starts without initializing; its
digest is then the digest of that content. --no-preinit ships it as it is.`,
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
	f.BoolVar(&o.noPreinit, "no-preinit", false, "ship the wasm as it is even when wrun.toml has [preinit]")
	o.limits.addFlags(f)
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
	warnEmptyDirs(cmd.ErrOrStderr(), dir, p)
	if p.Manifest.Preinit != nil && !o.noPreinit {
		staged, cleanup, err := preinitStage(cmd, p, dir, o.limits)
		if err != nil {
			return err
		}
		defer cleanup()
		if staged != nil {
			p = staged
		}
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

// warnEmptyDirs warns, one line each, about the empty directories under
// the package's asset trees, which the package leaves out: a package (its
// bundle, its OCI layers and its content digest) holds files only.
func warnEmptyDirs(w io.Writer, dir string, p *bundle.Package) {
	for _, d := range p.EmptyDirs() {
		fmt.Fprintf(w, "wrun: warning: %s: %s is an empty directory: a package holds files, not directories, so it is left out; put a file in it (such as .keep) to keep it\n", dir, quoteWord(d))
	}
}

// preinitStage pre-initializes the package's wasm as [preinit] says and
// returns the package with the snapshot in place of its wasm, staged in a
// temporary directory (the package directory itself is never changed), or
// nil when the wasm was pre-initialized already.
func preinitStage(cmd *cobra.Command, p *bundle.Package, dir string, limits initLimits) (*bundle.Package, func(), error) {
	nothing := func() {}
	var opts preinit.Options
	if err := limits.apply(&opts); err != nil {
		return nil, nothing, err
	}
	rt, err := wrun.New(cmd.Context(), wrun.NewConfig().WithCloseOnContextDone(false))
	if err != nil {
		return nil, nothing, err
	}
	defer rt.Close(context.WithoutCancel(cmd.Context()))
	snap, rep, err := rt.PreinitPackage(cmd.Context(), p, opts)
	if errors.Is(err, preinit.ErrNoInitFunc) {
		return nil, nothing, nil // shipped pre-initialized already
	}
	if err != nil {
		return nil, nothing, fmt.Errorf("%s: [preinit]: %w", dir, err)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "wrun: warning: %s\n", w)
	}
	stage, err := os.MkdirTemp("", "wrun-build-")
	if err != nil {
		return nil, nothing, err
	}
	cleanup := func() { os.RemoveAll(stage) }
	for _, f := range p.Files() {
		dst := filepath.Join(stage, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			cleanup()
			return nil, nothing, err
		}
		var b []byte
		if f.Path == p.Manifest.Run.Wasm {
			b = snap
		} else if b, err = p.ReadFile(f.Path); err != nil {
			cleanup()
			return nil, nothing, err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			cleanup()
			return nil, nothing, err
		}
	}
	staged, err := bundle.LoadDir(stage)
	if err != nil {
		cleanup()
		return nil, nothing, err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "pre-initialized %s with %s: %d data segments, %d → %d bytes\n",
		pr(p.Manifest.Run.Wasm), pr(rep.InitFunc), rep.Segments, rep.InputBytes, rep.OutputBytes)
	return staged, cleanup, nil
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
