package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/printable"
	"github.com/wrun-dev/wrun/internal/pywheel"
	"github.com/wrun-dev/wrun/vfs"
)

func newPythonCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "python",
		Short: "Python tools: import wheels as library packages",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPythonImportCmd(g))
	return cmd
}

type pythonImportOptions struct {
	out     string
	publish bool
	runtime string
}

// defaultPythonRuntime compiles the bytecode of imported wheels.
const defaultPythonRuntime = "python:cpython@^3.11"

func newPythonImportCmd(g *globalOptions) *cobra.Command {
	o := &pythonImportOptions{}
	cmd := &cobra.Command{
		Use:   "import WHEEL[extra,...]...",
		Short: "Turn wheels into wrun Python library packages",
		Long: `Import turns wheel files (what pip download or pip wheel writes) into wrun
library packages, one per distribution: DIR/pypi-NAME-VERSION/ with wrun.toml
(name pypi:NAME, the PEP 440 version mapped to semver, Requires-Dist as
[dependencies] mounted at ` + pywheel.SitePackages + `) and
site-packages/ (the modules, the .dist-info, and .pyc compiled by the
runtime package). Markers are evaluated for CPython 3.11.2 on wasm32-wasi;
extras only when asked: WHEEL[extra1,extra2] (quote it in a shell).

Wheels with native extension modules are refused, as are wheels whose files
do not match their RECORD. Nothing is written unless every wheel imports.`,
		Example: `  wrun python import six-1.16.0-py2.py3-none-any.whl
  wrun python import -o libs --publish ./wheels/*.whl
  wrun python import 'requests-2.31.0-py3-none-any.whl[socks]'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var inputs []pywheel.Input
			for _, a := range args {
				in, err := pywheel.ParseInput(a)
				if err != nil {
					return err
				}
				inputs = append(inputs, in)
			}
			c := &pyCompiler{g: g, ref: o.runtime}
			defer c.close(context.WithoutCancel(cmd.Context()))
			pkgs, err := pywheel.Import(cmd.Context(), inputs, o.out, nil, c.compile)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, w := range c.warnings {
				fmt.Fprintf(g.stderr, "wrun: warning: %s\n", w)
			}
			for _, p := range pkgs {
				for _, w := range p.Warnings {
					fmt.Fprintf(g.stderr, "wrun: warning: %s\n", w)
				}
				fmt.Fprintf(out, "imported %s as %s@%s in %s\n", printable.String(p.Wheel.File), p.Name, p.Version, filepath.Join(o.out, p.DirName()))
			}
			if !o.publish {
				return nil
			}
			// Publish through `wrun publish` itself, one package at a time.
			for _, p := range pkgs {
				if err := publishSource(cmd.Context(), g, filepath.Join(o.out, p.DirName()), "", out); err != nil {
					return fmt.Errorf("--publish %s (written to %s): %w", p.Name, filepath.Join(o.out, p.DirName()), err)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", ".", "write the package directories into this directory")
	f.BoolVar(&o.publish, "publish", false, "publish each package (as wrun publish does) once all are written")
	f.StringVar(&o.runtime, "runtime", defaultPythonRuntime, "the Python runtime package that compiles the bytecode: a reference or a package directory")
	return cmd
}

// pyCompiler byte-compiles new site-packages directories with the Python
// runtime package, loaded once on first use.
type pyCompiler struct {
	g        *globalOptions
	ref      string
	once     sync.Once
	rt       *wrun.Runtime
	pkg      *wrun.Package
	err      error
	warnings []string
}

// compileDir is where the new site-packages is mounted, read-write, for
// compileall; -d names the files as they will be found at run time.
const compileDir = "/wrun-python-import"

func (c *pyCompiler) compile(ctx context.Context, dir string) error {
	c.once.Do(func() {
		cfg := wrun.NewConfig().WithRegistry(c.g.registryOptions()).WithCloseOnContextDone(true)
		if c.rt, c.err = wrun.New(ctx, cfg); c.err != nil {
			return
		}
		if c.pkg, c.err = c.rt.Load(ctx, c.ref); c.err != nil {
			c.err = fmt.Errorf("--runtime %s: %w", c.ref, c.err)
		}
	})
	if c.err != nil {
		return c.err
	}
	if !strings.HasPrefix(c.pkg.Name(), "python:") {
		return fmt.Errorf("--runtime %s is %s, not a Python runtime package (python:cpython)", c.ref, c.pkg.Name())
	}
	site, err := vfs.Host(dir, false)
	if err != nil {
		return err
	}
	if cl, ok := site.(interface{ Close() error }); ok {
		defer cl.Close()
	}
	var out bytes.Buffer
	rc := wrun.NewRunConfig().
		WithArgs("-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", "-d", pywheel.SitePackages, compileDir).
		WithEnv("PYTHONHASHSEED", "0").         // deterministic frozensets in constants
		WithEnv("PYTHONPYCACHEPREFIX", "").     // .pyc beside the sources, not in a cache
		WithEnv("PYTHONDONTWRITEBYTECODE", ""). // compileall writes regardless; keep it plain
		WithMount(vfs.Mount{Guest: compileDir, FS: site}).
		WithStdout(&out).WithStderr(&out)
	err = c.pkg.Run(ctx, rc)
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		// compileall could not compile some file (a syntax error, Python 2
		// code): the rest is compiled, as pip leaves it.
		c.warnings = append(c.warnings, "some files did not compile to bytecode: "+printable.String(strings.TrimSpace(out.String())))
		return nil
	}
	if err != nil {
		return fmt.Errorf("running compileall on %s: %w: %s", c.pkg.Name(), err, printable.String(strings.TrimSpace(out.String())))
	}
	return nil
}

func (c *pyCompiler) close(ctx context.Context) {
	if c.pkg != nil {
		c.pkg.Close(ctx)
	}
	if c.rt != nil {
		c.rt.Close(ctx)
	}
}
