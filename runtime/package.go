package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/wasmbin"
	"github.com/wrun-dev/wrun/preinit"
	"github.com/wrun-dev/wrun/registryclient"
	"github.com/wrun-dev/wrun/vfs"
)

// Package is a loaded package, ready to run: its program compiled, its
// dependencies resolved and their assets opened as read-only layers that
// every run shares. Each run sees the layers through its own copy-on-write
// overlay, so runs never see each other's writes and the packages on disk
// never change.
type Package struct {
	// Name, Version and Digest identify the package that was asked for.
	Name, Version string
	Digest        bundle.Digest
	// Manifest is its wrun.toml.
	Manifest *bundle.Manifest
	// Resolved lists it and every package it runs with.
	Resolved *registryclient.Resolved
	// Preinit is set when the package's [preinit] was applied on this
	// machine (first run, or from the snapshot cache).
	Preinit *preinit.Report

	prog     *Program
	runtime  string // the runtime package's name, "" for a component
	layers   []vfs.Mount
	args     []string
	env      map[string]string
	closers  []func() error
	testArgs []string
	testEnv  map[string]string
}

// Program is the compiled program a run executes: the package's own wasm or
// its runtime's.
func (p *Package) Program() *Program { return p.prog }

// Close releases the asset layers, the compiled program and the resolved
// packages (an open bundle file among them).
func (p *Package) Close(ctx context.Context) error {
	err := p.prog.Close(ctx)
	for _, c := range p.closers {
		err = errors.Join(err, c())
	}
	for _, d := range p.Resolved.Deps {
		err = errors.Join(err, d.Close())
	}
	return errors.Join(err, p.Resolved.Root.Close())
}

// Load resolves ref — a package reference (ns:name@version or a range), an
// OCI reference, a package directory or a bundle file — with its runtime and
// dependencies, verifies them, and compiles the program it runs. A package
// that declares [preinit] but ships no snapshot is pre-initialized here, once
// per machine (the result is cached by its inputs' digests).
func (r *Runtime) Load(ctx context.Context, ref string) (*Package, error) {
	client, err := r.registry()
	if err != nil {
		return nil, err
	}
	res, err := client.Pull(ctx, ref)
	if err != nil {
		return nil, err
	}
	p, err := r.assemble(ctx, res)
	if err != nil {
		for _, d := range res.Deps {
			d.Close()
		}
		res.Root.Close()
		return nil, err
	}
	return p, nil
}

// registry returns the Runtime's registry client, made on first use.
func (r *Runtime) registry() (*registryclient.Client, error) {
	r.clientOnce.Do(func() {
		opts := r.cfg.registry
		if opts.Home == (home.Dirs{}) {
			opts.Home, r.clientErr = r.home()
		}
		if r.clientErr == nil {
			r.client, r.clientErr = registryclient.New(opts)
		}
	})
	return r.client, r.clientErr
}

func (r *Runtime) assemble(ctx context.Context, res *registryclient.Resolved) (_ *Package, err error) {
	root := res.Root
	m := root.Manifest
	p := &Package{
		Name: m.Package.Name, Version: m.Package.Version, Digest: root.Digest(),
		Manifest: m, Resolved: res, env: map[string]string{},
	}
	defer func() {
		if err != nil {
			for _, c := range p.closers {
				c()
			}
		}
	}()
	exe := root
	if m.Run.Runtime != "" {
		if res.Runtime == nil {
			return nil, fmt.Errorf("%s: runtime %s did not resolve", p.Name, m.Run.Runtime)
		}
		exe = res.Runtime
		p.runtime = exe.Name()
	}
	if exe.Manifest.Run.Wasm == "" {
		return nil, fmt.Errorf("%s is a package of kind %q with nothing to run: it has neither [run] wasm nor [run] runtime",
			exe.Label(), exe.Manifest.Package.Kind)
	}

	// Compile (the slow part, even from the cache) while the layers are
	// indexed, unless the wasm must be pre-initialized with them first.
	wasm, err := exe.ReadFile(exe.Manifest.Run.Wasm)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", exe.Label(), exe.Manifest.Run.Wasm, err)
	}
	name := exe.Label()
	preinitPending := exe.Manifest.Preinit != nil
	type result struct {
		prog *Program
		err  error
	}
	compiled := make(chan result, 1)
	var done *result
	wait := func() result {
		if done == nil {
			c := <-compiled
			done = &c
		}
		return *done
	}
	if !preinitPending {
		go func() {
			prog, err := r.Compile(ctx, name, wasm)
			compiled <- result{prog, err}
		}()
		defer func() {
			if c := wait(); err != nil && c.prog != nil {
				c.prog.Close(ctx)
			}
		}()
	}

	// Layers: the runtime's own assets and the root's at their absolute
	// paths, then every dependency's under the path its dependent gives.
	var layers []vfs.Mount
	add := func(pkg *registryclient.Package, base string) error {
		for _, a := range pkg.Manifest.Assets {
			l, closer, err := assetLayer(pkg, a.From)
			if err != nil {
				return err
			}
			if closer != nil {
				p.closers = append(p.closers, closer)
			}
			layers = append(layers, vfs.Mount{Guest: path.Join("/", base, a.To), FS: l})
		}
		return nil
	}
	if exe != root {
		if err := add(exe, "/"); err != nil {
			return nil, err
		}
	}
	if err := add(root, "/"); err != nil {
		return nil, err
	}
	for _, pkg := range append([]*registryclient.Package{root}, res.Deps...) {
		for _, name := range slices.Sorted(maps.Keys(pkg.Manifest.Dependencies)) {
			dep := res.Package(name)
			if dep == nil {
				return nil, fmt.Errorf("%s: dependency %s did not resolve", pkg.Name(), name)
			}
			to := pkg.Manifest.Dependencies[name].To
			if to == "" {
				continue // resolved for its own sake (e.g. a runtime), not mounted
			}
			if err := add(dep, to); err != nil {
				return nil, err
			}
		}
	}
	p.layers = unionByPath(layers)

	if exe != root {
		p.args = slices.Clone(exe.Manifest.Run.Args)
		maps.Copy(p.env, exe.Manifest.Run.Env)
	}
	p.args = append(p.args, m.Run.Args...)
	maps.Copy(p.env, m.Run.Env)
	if m.Test != nil {
		p.testArgs, p.testEnv = m.Test.Args, m.Test.Env
	}

	if preinitPending {
		if wasm, err = r.preinit(ctx, exe, wasm, p.layers); err != nil {
			return nil, err
		}
		p.prog, err = r.Compile(ctx, name, wasm)
	} else {
		c := wait()
		p.prog, err = c.prog, c.err
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// preinit pre-initializes a package that declares [preinit] but still
// exports its init function (it ships no snapshot), caching the result by
// the digests of the wasm and of the packages whose files the init sees.
func (r *Runtime) preinit(ctx context.Context, exe *registryclient.Package, wasm []byte, layers []vfs.Mount) ([]byte, error) {
	pre := exe.Manifest.Preinit
	initFunc := orDefault(pre.Init, preinit.DefaultInitFunc)
	pending, err := exportsFunc(wasm, initFunc)
	if err != nil {
		return nil, fmt.Errorf("%s is %w: %v", exe.Name(), ErrInvalidModule, err)
	}
	if !pending {
		return wasm, nil // shipped pre-initialized
	}
	var mounts []vfs.Mount
	for _, l := range layers {
		if len(pre.Mounts) == 0 || slices.Contains(pre.Mounts, l.Guest) {
			mounts = append(mounts, vfs.Mount{Guest: l.Guest, FS: vfs.NewCopyOnWriteFS(l.FS)})
		}
	}
	dirs, err := r.home()
	if err != nil {
		return nil, err
	}
	inputs := exe.Digest().String()
	out, _, err := preinit.Cached(ctx, dirs.Snapshots(), wasm, inputs, preinit.Options{
		InitFunc: initFunc, Mounts: mounts, CompilationCache: r.cache,
		Env: envList(exe.Manifest.Run.Env), AllowRandom: true,
		Timeout: r.cfg.preinitTimeout, MaxMemoryBytes: uint64(r.cfg.preinitMaxPages) * pageSize,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: pre-initializing: %w", exe.Name(), err)
	}
	return out, nil
}

// assetLayer opens the directory from of a package as a read-only layer:
// straight from disk for a directory or a pulled (extracted) package, from
// the verified archive otherwise.
func assetLayer(pkg *registryclient.Package, from string) (sys.FS, func() error, error) {
	if dir, ok := pkg.Dir(); ok {
		l, err := vfs.NewDirLayer(filepath.Join(dir, filepath.FromSlash(from)))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: assets %q: %w", pkg.Name(), from, err)
		}
		var closer func() error
		if c, ok := l.(interface{ Close() error }); ok {
			closer = c.Close
		}
		return l, closer, nil
	}
	sub, err := fs.Sub(pkg.FS(), from)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: assets %q: %w", pkg.Name(), from, err)
	}
	return &sysfs.AdaptFS{FS: sub}, nil, nil
}

// unionByPath stacks layers that share a guest path, later ones winning.
func unionByPath(layers []vfs.Mount) []vfs.Mount {
	var out []vfs.Mount
	for _, l := range layers {
		i := slices.IndexFunc(out, func(m vfs.Mount) bool { return m.Guest == l.Guest })
		if i < 0 {
			out = append(out, l)
			continue
		}
		out[i].FS = vfs.NewUnion(out[i].FS, l.FS)
	}
	return out
}

// Run runs the package: its [run] args before cfg's, its [run] env under
// cfg's, its assets at their guest paths (each behind a fresh copy-on-write
// overlay) and cfg's mounts, which win at the same guest path. A required
// [[mounts]] entry that cfg does not grant stops the run before it starts.
func (p *Package) Run(ctx context.Context, cfg RunConfig) error {
	if err := p.CheckMounts(cfg); err != nil {
		return err
	}
	return p.prog.Run(ctx, p.runConfig(cfg, p.args, p.env))
}

// Test runs the package's tests in the same sandbox as Run: [test] args
// instead of [run] args (default for a Python app: unittest discovery in
// its first asset directory), with [test] env added.
func (p *Package) Test(ctx context.Context, cfg RunConfig) error {
	args := p.testArgs
	if args == nil {
		if !strings.HasPrefix(p.runtime, "python:") {
			return fmt.Errorf("%s has no [test] table: add one to wrun.toml, e.g. [test] args = [\"--test\"]", p.Name)
		}
		dir := "/"
		if len(p.Manifest.Assets) > 0 {
			dir = p.Manifest.Assets[0].To
		}
		args = []string{"-m", "unittest", "discover", "-s", dir}
	}
	env := maps.Clone(p.env)
	maps.Copy(env, p.testEnv)
	if p.runtime == "" {
		args = append(slices.Clone(p.args), args...)
	}
	if err := p.CheckMounts(cfg); err != nil {
		return err
	}
	return p.prog.Run(ctx, p.runConfig(cfg, args, env))
}

// CheckMounts reports the first required [[mounts]] entry cfg does not grant.
func (p *Package) CheckMounts(cfg RunConfig) error {
	return p.Manifest.CheckMounts(func(guest string) bool {
		return slices.ContainsFunc(cfg.mounts, func(m vfs.Mount) bool { return m.Guest == guest })
	})
}

func (p *Package) runConfig(cfg RunConfig, args []string, env map[string]string) RunConfig {
	if cfg.scratch == 0 {
		cfg.scratch = DefaultScratchBytes
	}
	cfg.args = append(slices.Clone(args), cfg.args...)
	merged := maps.Clone(env)
	maps.Copy(merged, cfg.env)
	cfg.env = merged
	mounts := make([]vfs.Mount, 0, len(p.layers)+len(cfg.mounts))
	for _, l := range p.layers {
		if !slices.ContainsFunc(cfg.mounts, func(m vfs.Mount) bool { return m.Guest == l.Guest }) {
			mounts = append(mounts, vfs.Mount{Guest: l.Guest, FS: vfs.NewCopyOnWriteFS(l.FS)})
		}
	}
	cfg.mounts = append(mounts, cfg.mounts...)
	return cfg
}

func envList(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// exportsFunc reports whether a module exports a function called name,
// reading only its export section: compiling a large module just to look
// costs far more than the run it precedes.
func exportsFunc(wasm []byte, name string) (bool, error) {
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return false, err
	}
	sec := m.Section(wasmbin.SectionExport)
	if sec == nil {
		return false, nil
	}
	exports, err := wasmbin.DecodeExports(sec.Payload, sec.PayloadOffset)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(exports, func(e wasmbin.Export) bool {
		return e.Name == name && e.Kind == wasmbin.KindFunc
	}), nil
}
