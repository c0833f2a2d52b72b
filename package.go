package wrun

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/printable"
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
//
// Packages mounted at one guest directory — several dependencies with the
// same to, or a library mounted inside the runtime's own directory (at
// /usr/local/lib/python3.11/site-packages, inside the runtime's
// /usr/local/lib) — are stacked as one read-only union with what the
// enclosing mount has there: directories are shared, but a file may come
// from one package only. Two packages providing the same file fail Load
// with a *FileConflictError naming both and the file. A package reached
// twice (a diamond) is mounted once.
//
// A Python app loaded from a directory gets a bytecode cache that
// outlives its runs, under the cache directory's pycache/ (see PycacheGuest).
// Removing it, or any part of it, loses only compiled bytecode.
//
// Its shape is the one bundle.Package and registryclient.Package have:
// Name, Version and Digest methods, and the Manifest field.
type Package struct {
	// Manifest is its wrun.toml.
	Manifest *bundle.Manifest
	// Resolved lists it and every package it runs with.
	Resolved *registryclient.Resolved
	// Preinit is set when the package's [preinit] was applied on this
	// machine (first run, or from the snapshot cache).
	Preinit *preinit.Report

	name, version string
	digest        bundle.Digest

	prog     *Program
	release  func() // gives prog back to the Runtime's load cache; nil: prog is the Package's own
	closed   atomic.Bool
	runtime  string // the runtime package's name, "" for a component
	layers   []vfs.Mount
	args     []string
	env      map[string]string
	closers  []func() error
	testArgs []string
	testEnv  map[string]string // the whole environment of a test run
	cwd      string            // [run] cwd
	testCwd  string            // [test] cwd
	pycache  sys.FS            // the bytecode cache's host directory, or nil
	pycViews []vfs.Mount       // the packages' own .pyc files, inside it
}

// Name returns the name of the package that was asked for, namespace:name.
func (p *Package) Name() string { return p.name }

// Version returns its version.
func (p *Package) Version() string { return p.version }

// Digest returns its content digest.
func (p *Package) Digest() bundle.Digest { return p.digest }

// Program is the compiled program a run executes: the package's own wasm or
// its runtime's. Packages loaded by one Runtime share it when their wasm is
// the same: close the Package, never its Program.
func (p *Package) Program() *Program { return p.prog }

// Close releases the asset layers, the compiled program (or the Package's
// share of it) and the resolved packages (an open bundle file among them).
// A closed Package's Run and Test fail with ErrClosed. Closing twice is a
// no-op.
func (p *Package) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	var err error
	if p.release != nil {
		p.release()
	} else {
		err = p.prog.Close(ctx)
	}
	for _, c := range p.closers {
		err = errors.Join(err, c())
	}
	for _, d := range p.Resolved.Deps {
		err = errors.Join(err, d.Close())
	}
	return errors.Join(err, p.Resolved.Root.Close())
}

// LoadOptions are per-call settings of Load, LoadRef and LoadBundle, over
// the Runtime's registry settings (Config.WithRegistry).
type LoadOptions struct {
	// Offline makes no network request for this call: only packages
	// already cached resolve, and a range resolves among cached versions.
	Offline bool
	// Refresh ignores wrun.lock and cached resolutions for this call.
	Refresh bool
}

// Load resolves ref — a package reference (ns:name@version or a range), an
// OCI reference, a package directory or a bundle file — with its runtime and
// dependencies, verifies them, and compiles the program it runs. A package
// that declares [preinit] but ships no snapshot is pre-initialized here, once
// per machine (the result is cached by its inputs' digests). opts, when
// given, are this call's settings (the first is used).
//
// A done ctx fails Load before any work, with an error wrapping ctx.Err().
//
// Load is not free even when everything is cached: it checks the cache
// entries, indexes the asset directories and opens them. A service loads a
// package once and keeps the *Package, running it as often as it likes
// (Run is safe for concurrent use). Loading again is cheaper than the
// first time: the Runtime keeps the programs it compiled for Load while
// any Package uses them, and a few more after, keyed by the wasm's content
// digest, so a package (or another app on the same language runtime) loaded
// again does not recompile, nor even read, its wasm.
func (r *Runtime) Load(ctx context.Context, ref string, opts ...LoadOptions) (*Package, error) {
	rr, err := registryclient.ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return r.LoadRef(ctx, rr, opts...)
}

// LoadRef is Load of a parsed reference (see registryclient.ParseRef).
func (r *Runtime) LoadRef(ctx context.Context, ref registryclient.Ref, opts ...LoadOptions) (*Package, error) {
	return r.load(ctx, ref.String(), opts, func(c *registryclient.Client) (*registryclient.Resolved, error) {
		return c.PullRef(ctx, ref)
	})
}

// LoadBundle is Load of a bundle that is already in memory, or anywhere an
// io.ReaderAt reads: size bytes of ra, as `wrun build` writes a .wrun file
// (bundle.Package.WriteArchive). name labels it in errors. It is verified
// as a bundle file is, its signature against the trusted keys, and its
// runtime and dependencies resolve from the registry. ra must stay readable
// and unchanged until the Package is closed: its files are read from it.
func (r *Runtime) LoadBundle(ctx context.Context, name string, ra io.ReaderAt, size int64, opts ...LoadOptions) (*Package, error) {
	return r.load(ctx, name, opts, func(c *registryclient.Client) (*registryclient.Resolved, error) {
		return c.PullBundle(ctx, name, ra, size)
	})
}

func (r *Runtime) load(ctx context.Context, what string, opts []LoadOptions, pull func(*registryclient.Client) (*registryclient.Resolved, error)) (*Package, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loading %s: %w", what, err)
	}
	if err := r.checkOpen(); err != nil {
		return nil, fmt.Errorf("loading %s: %w", what, err)
	}
	client, err := r.registry()
	if err != nil {
		return nil, err
	}
	if len(opts) > 0 {
		if opts[0].Offline {
			client = client.Offline()
		}
		if opts[0].Refresh {
			client = client.Refresh()
		}
	}
	res, err := pull(client)
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
		if opts.Home == "" && r.cfg.home != (home.Dirs{}) {
			opts.Home = r.cfg.home.Data // WithHome: home.At(Data) is cfg.home
		}
		r.client, r.clientErr = registryclient.New(opts)
	})
	return r.client, r.clientErr
}

func (r *Runtime) assemble(ctx context.Context, res *registryclient.Resolved) (_ *Package, err error) {
	root := res.Root
	m := root.Manifest
	p := &Package{
		name: m.Package.Name, version: m.Package.Version, digest: root.Digest(),
		Manifest: m, Resolved: res, env: map[string]string{},
	}
	defer func() {
		if err != nil {
			for _, c := range p.closers {
				c()
			}
		}
	}()
	exe, err := p.executable(res)
	if err != nil {
		return nil, err
	}

	// Compile (the slow part, even from the cache) while the layers are
	// indexed, unless the wasm must be pre-initialized with them first.
	preinitPending := exe.Manifest.Preinit != nil
	var wait func() compileResult
	if !preinitPending {
		wait = r.startCompile(ctx, exe)
		defer func() {
			if c := wait(); err != nil && c.prog != nil {
				if c.release != nil {
					c.release()
				} else {
					c.prog.Close(ctx)
				}
			}
		}()
	}

	origins, err := r.mountLayers(p, res, exe)
	if err != nil {
		return nil, err
	}
	if err := p.setArgsEnv(exe); err != nil {
		return nil, err
	}
	r.openPycache(p, res)

	if !preinitPending {
		c := wait()
		if c.err != nil {
			return nil, c.err
		}
		p.prog, p.release = c.prog, c.release
		return p, nil
	}
	env := p.initEnv()
	mounts, inputs := preinitMounts(exe, p.layers, origins)
	sum, ok := fileSum(exe.Package, exe.Manifest.Run.Wasm)
	compile := func() (*Program, error) {
		if ok {
			// A snapshot cached for this very module (by its verified
			// digest) and these inputs is all a warm start reads.
			snap, release, hit, err := r.cachedSnapshot(exe, sum, inputs, env)
			if err != nil {
				return nil, err
			}
			if hit {
				defer release() // the snapshot is mapped: Compile keeps no reference to it
				return r.Compile(ctx, exe.Label(), snap)
			}
		}
		wasm, err := readWasm(exe)
		if err != nil {
			return nil, err
		}
		if wasm, err = r.preinit(ctx, exe, wasm, mounts, inputs, env); err != nil {
			return nil, err
		}
		return r.compileOwned(ctx, exe.Label(), wasm)
	}
	if !ok {
		if p.prog, err = compile(); err != nil {
			return nil, err
		}
		return p, nil
	}
	// The snapshot is a function of the inputs its cache is keyed by: a
	// Load with the same inputs uses the program compiled from it (a warm
	// `wrun server` skips reading, and wazero's decoding of, the snapshot).
	p.prog, p.release, err = r.loads().program(ctx, progKey{exe.Label(), preinitKey(exe, sum, inputs, env)}, compile)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// preinitKey names the pre-initialized program of exe in the load cache:
// what the snapshot cache's key (preinit.CacheKey) is made of, with the
// wasm's digest from the package's file index rather than from its bytes
// (which a warm Load does not read). Each field is framed by its length.
func preinitKey(exe *registryclient.Package, wasm bundle.Digest, inputs string, env []string) bundle.Digest {
	var b strings.Builder
	field := func(name, value string) { fmt.Fprintf(&b, "%s %d:%s\n", name, len(value), value) }
	field("wasm", wasm.String())
	field("inputs", inputs)
	field("init", exe.Manifest.Preinit.Init)
	for _, e := range env {
		field("env", e)
	}
	return bundle.SumBytes([]byte(b.String()))
}

// preinitMounts returns the layers the init of exe sees (those [preinit]
// mounts names, else all) and the snapshot cache's inputs for them: the
// package's digest, and each mounted guest path with what its layers hold
// (origins).
func preinitMounts(exe *registryclient.Package, layers []vfs.Mount, origins map[string][]string) ([]vfs.Mount, string) {
	pre := exe.Manifest.Preinit
	var mounts []vfs.Mount
	inputs := []string{"package " + exe.Digest().String()}
	for _, l := range layers {
		if len(pre.Mounts) == 0 || slices.Contains(pre.Mounts, l.Guest) {
			mounts = append(mounts, l)
			for _, o := range origins[l.Guest] {
				inputs = append(inputs, "mount "+l.Guest+" "+o)
			}
		}
	}
	return mounts, strings.Join(inputs, "\n")
}

// executable is the package whose wasm runs: the root, or the runtime it
// names (recorded in p.runtime).
func (p *Package) executable(res *registryclient.Resolved) (*registryclient.Package, error) {
	root := res.Root
	exe := root
	if rt := root.Manifest.Run.Runtime; rt != "" {
		if res.Runtime == nil {
			return nil, fmt.Errorf("%s: runtime %s did not resolve", p.name, rt)
		}
		exe = res.Runtime
		p.runtime = exe.Name()
	}
	if exe.Manifest.Run.Wasm == "" {
		return nil, fmt.Errorf("%s is a package of kind %q with nothing to run: it has neither [run] wasm nor [run] runtime",
			exe.Label(), exe.Manifest.Package.Kind)
	}
	return exe, nil
}

// wasmReads counts readWasm's reads, for the tests that a warm Load of a
// pre-initialized package reads no module.
var wasmReads atomic.Int64

// readWasm reads the wasm exe runs.
func readWasm(exe *registryclient.Package) ([]byte, error) {
	wasmReads.Add(1)
	wasm, err := exe.ReadFile(exe.Manifest.Run.Wasm)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", exe.Label(), exe.Manifest.Run.Wasm, err)
	}
	return wasm, nil
}

// compileResult is the outcome of startCompile: a program, and the release
// of its share of the Runtime's program cache (nil when it is not shared:
// close the program instead).
type compileResult struct {
	prog    *Program
	release func()
	err     error
}

// startCompile compiles exe's wasm in the background and returns a
// function that waits for the result (the same result on every call, from
// one goroutine). A program this Runtime compiled for an earlier Load of
// the same wasm is reused without reading the wasm again.
func (r *Runtime) startCompile(ctx context.Context, exe *registryclient.Package) func() compileResult {
	name := exe.Label()
	compiled := make(chan compileResult, 1)
	go func() {
		compile := func() (*Program, error) {
			wasm, err := readWasm(exe)
			if err != nil {
				return nil, err
			}
			return r.compileOwned(ctx, name, wasm)
		}
		sum, ok := fileSum(exe.Package, exe.Manifest.Run.Wasm)
		if !ok {
			prog, err := compile()
			compiled <- compileResult{prog, nil, err}
			return
		}
		prog, release, err := r.loads().program(ctx, progKey{name, sum}, compile)
		compiled <- compileResult{prog, release, err}
	}()
	var done *compileResult
	return func() compileResult {
		if done == nil {
			c := <-compiled
			done = &c
		}
		return *done
	}
}

// mountLayers sets p.layers: the runtime's own assets and the root's at
// their absolute paths, then every dependency's under the path its
// dependent gives. Layers at one guest path, and a layer mounted inside
// another's directory, stack as one union (see stackLayers); two packages
// providing the same file there fail the load. It returns, by guest path,
// what its layers hold (package digest and directory), for the
// pre-initialization cache key.
func (r *Runtime) mountLayers(p *Package, res *registryclient.Resolved, exe *registryclient.Package) (map[string][]string, error) {
	root := res.Root
	var layers []pkgLayer
	origins := map[string][]string{}
	add := func(pkg *registryclient.Package, base string) error {
		for _, a := range pkg.Manifest.Assets {
			guest := path.Join("/", base, a.To)
			if slices.ContainsFunc(layers, func(l pkgLayer) bool {
				return l.pkg.Digest() == pkg.Digest() && l.from == a.From && l.guest == guest
			}) {
				continue // the same package reached twice (a diamond)
			}
			l, closer, err := r.assetLayer(pkg, a.From)
			if err != nil {
				return err
			}
			if closer != nil {
				p.closers = append(p.closers, closer)
			}
			layers = append(layers, pkgLayer{pkg: pkg, from: a.From, guest: guest, fs: l})
			origins[guest] = append(origins[guest], pkg.Digest().String()+" "+a.From)
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
	if err := checkOverlaps(layers); err != nil {
		return nil, err
	}
	p.layers = stackLayers(layers, origins)
	return origins, nil
}

// pkgLayer is one [[assets]] directory of a resolved package, mounted at
// guest.
type pkgLayer struct {
	pkg   *registryclient.Package
	from  string // the package directory
	guest string
	fs    sys.FS
}

// FileConflictError is a load that stacks two packages providing the same
// file at one guest path (see Package for the union rule).
type FileConflictError struct {
	Path     string    // the guest path of the file
	Packages [2]string // the two packages, name@version
}

func (e *FileConflictError) Error() string {
	return fmt.Sprintf("%s and %s both provide %s: packages mounted at one guest directory are stacked as a union, and a file may come from one package only; drop one of them or mount it elsewhere (its dependency's to)",
		e.Packages[0], e.Packages[1], e.Path)
}

// under reports whether guest path p is dir or beneath it.
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// checkOverlaps fails with a *FileConflictError when two layers provide a
// file at the same guest path. Only the regions where layers overlap (a
// guest path where a layer is mounted at or inside another's) are looked
// at, in each package's verified file index: no directory is walked.
// Directories may be shared, files not.
func checkOverlaps(layers []pkgLayer) error {
	var regions []string
	for i, a := range layers {
		for j, b := range layers {
			if i != j && under(b.guest, a.guest) && !slices.Contains(regions, b.guest) {
				regions = append(regions, b.guest)
			}
		}
	}
	// Keep the outermost regions: one nested in another is checked with it.
	slices.Sort(regions)
	regions = slices.CompactFunc(regions, func(a, b string) bool { return under(b, a) })
	for _, region := range regions {
		owner := map[string]*pkgLayer{}
		for i := range layers {
			l := &layers[i]
			var prefix string // the files of l under region, by package path
			switch {
			case under(l.guest, region):
				prefix = l.from + "/"
			case under(region, l.guest):
				prefix = path.Join(l.from, strings.TrimPrefix(region, l.guest)) + "/"
			default:
				continue
			}
			files := l.pkg.Files()
			k, _ := slices.BinarySearchFunc(files, prefix, func(e bundle.Entry, p string) int { return strings.Compare(e.Path, p) })
			for ; k < len(files) && strings.HasPrefix(files[k].Path, prefix); k++ {
				guest := path.Join(l.guest, strings.TrimPrefix(files[k].Path, l.from+"/"))
				if o, ok := owner[guest]; ok && o.pkg != l.pkg {
					return &FileConflictError{Path: guest, Packages: [2]string{o.pkg.Label(), l.pkg.Label()}}
				}
				owner[guest] = l
			}
		}
	}
	return nil
}

// stackLayers turns layers into mounts, one per guest path: the layers at
// one path as a union (later ones winning, though checkOverlaps leaves
// them no file to win), over what the nearest enclosing mount has at that
// path, so that a library mounted in the runtime's site-packages adds to
// it rather than hiding it. origins gets the enclosing mount's origins.
func stackLayers(layers []pkgLayer, origins map[string][]string) []vfs.Mount {
	var out []vfs.Mount
	for _, l := range layers {
		i := slices.IndexFunc(out, func(m vfs.Mount) bool { return m.Guest == l.guest })
		if i < 0 {
			out = append(out, vfs.Mount{Guest: l.guest, FS: l.fs})
			continue
		}
		out[i].FS = vfs.NewUnion(out[i].FS, l.fs)
	}
	// Outer mounts first, so that each one's enclosing mount is complete.
	order := slices.Clone(out)
	slices.SortStableFunc(order, func(a, b vfs.Mount) int {
		return cmp.Compare(strings.Count(a.Guest, "/"), strings.Count(b.Guest, "/"))
	})
	done := map[string]sys.FS{}
	for _, m := range order {
		fsys := m.FS
		var parent string
		for g := range done {
			if g != m.Guest && under(m.Guest, g) && len(g) > len(parent) {
				parent = g
			}
		}
		if parent != "" {
			rel := strings.TrimPrefix(strings.TrimPrefix(m.Guest, parent), "/")
			if sub, err := vfs.Sub(done[parent], rel); err == nil {
				fsys = vfs.NewUnion(sub, fsys)
				for _, o := range origins[parent] {
					origins[m.Guest] = append(origins[m.Guest], o+" "+rel)
				}
			}
		}
		done[m.Guest] = fsys
	}
	for i := range out {
		out[i].FS = done[out[i].Guest]
	}
	return out
}

// setArgsEnv sets p's arguments, environment and working directory: the
// runtime's [run] args and env, then the root's on top, and the root's
// [test] ones. Each env value's ${NAME} expands, once, here, against the
// environment below it (bundle.ExpandEnv): the runtime's against nothing,
// the root's [run] env against the runtime's, [test] env against the
// result. A table whose values expand to more than maxExpandedEnv bytes in
// all fails the Load.
func (p *Package) setArgsEnv(exe *registryclient.Package) error {
	m := p.Manifest
	var err error
	if exe != p.Resolved.Root {
		p.args = slices.Clone(exe.Manifest.Run.Args)
		if p.env, err = expandEnv(nil, exe.Manifest.Run.Env); err != nil {
			return fmt.Errorf("%s: [run] env: %w", exe.Label(), err)
		}
	}
	p.args = append(p.args, m.Run.Args...)
	if p.env, err = expandEnv(p.env, m.Run.Env); err != nil {
		return fmt.Errorf("%s: [run] env: %w", p.Resolved.Root.Label(), err)
	}
	p.cwd = m.Run.Cwd
	if m.Test != nil {
		p.testArgs = m.Test.Args
		if p.testEnv, err = expandEnv(p.env, m.Test.Env); err != nil {
			return fmt.Errorf("%s: [test] env: %w", p.Resolved.Root.Label(), err)
		}
		p.testCwd = m.Test.Cwd
	}
	return nil
}

// maxExpandedEnv bounds what the values of one env table expand to, in
// all: each ${NAME} copies a value, so a manifest naming a long one many
// times would otherwise take gigabytes.
const maxExpandedEnv = bundle.MaxManifestSize

// expandEnv returns base with env laid over it, env's values expanded
// against base.
func expandEnv(base, env map[string]string) (map[string]string, error) {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	budget := maxExpandedEnv
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v, err := bundle.ExpandEnvMax(env[k], base, budget)
		if err != nil {
			return nil, fmt.Errorf("%s: %w; name long values fewer times", printable.String(k), err)
		}
		budget -= len(v)
		out[k] = v
	}
	return out, nil
}

// initEnv is the environment a pre-initialization of p's runtime runs
// with: p's [run] env (the runtime's with the app's over it, as a run gets
// it, so that an app can name what its runtime's init should load, e.g.
// WRUN_PYTHON_PRELOAD and PYTHONPATH for python:cpython-preinit), and its
// [run] cwd as PWD, as a run conveys it.
func (p *Package) initEnv() []string {
	env := maps.Clone(p.env)
	if _, ok := env["PWD"]; !ok && p.cwd != "" {
		env["PWD"] = p.cwd
	}
	return envList(env)
}

// preinit pre-initializes a package that declares [preinit] but still
// exports its init function (it ships no snapshot), caching the result by
// everything the init can observe: the wasm, the package it comes from,
// every layer mounted for it (guest path, and the digest and directory of
// each package whose files it holds: an app's files, not only the
// runtime's), its environment env (the app's [run] env over the runtime's,
// see initEnv: part of the key) and the init's name. layers are the ones
// it mounts and inputs what they hold (see preinitMounts). A failed init's
// error ends with the last line it wrote on stderr (printable characters
// only).
func (r *Runtime) preinit(ctx context.Context, exe *registryclient.Package, wasm []byte, layers []vfs.Mount, inputs string, env []string) ([]byte, error) {
	initFunc := orDefault(exe.Manifest.Preinit.Init, preinit.DefaultInitFunc)
	pending, err := exportsFunc(wasm, initFunc)
	if err != nil {
		return nil, fmt.Errorf("%s is %w: %w", exe.Name(), ErrInvalidModule, err)
	}
	if !pending {
		return wasm, nil // shipped pre-initialized
	}
	var mounts []vfs.Mount
	for _, l := range layers {
		mounts = append(mounts, vfs.Mount{Guest: l.Guest, FS: vfs.NewCopyOnWriteFS(l.FS)})
	}
	dirs, err := r.home()
	if err != nil {
		return nil, err
	}
	// The init compiles into r's cache: a Close meanwhile must not close
	// the cache under it.
	release, err := r.acquire()
	if err != nil {
		return nil, fmt.Errorf("%s: pre-initializing: %w", exe.Label(), err)
	}
	defer release()
	var stderr tailWriter
	opts := r.preinitOptions(exe, env)
	opts.Mounts, opts.Stderr = mounts, &stderr
	out, _, err := preinit.Cached(ctx, dirs.Snapshots(), wasm, inputs, opts)
	if err != nil {
		if last := stderr.lastLine(); last != "" {
			return nil, fmt.Errorf("%s: pre-initializing: %w; the init's last words: %s", exe.Name(), err, last)
		}
		return nil, fmt.Errorf("%s: pre-initializing: %w", exe.Name(), err)
	}
	return out, nil
}

// preinitOptions are the options of exe's init that its snapshot's cache
// key covers (preinit.CacheKey), without mounts and stderr.
func (r *Runtime) preinitOptions(exe *registryclient.Package, env []string) preinit.Options {
	return preinit.Options{
		InitFunc: orDefault(exe.Manifest.Preinit.Init, preinit.DefaultInitFunc), CompilationCache: r.cache,
		Env: env, AllowRandom: true,
		Timeout: r.cfg.preinitTimeout, MaxMemoryBytes: uint64(r.cfg.preinitMaxPages) * pageSize,
		FSLimits: NewRunConfig().limits(), // a run's defaults: the init is a registry package's code
	}
}

// cachedSnapshot returns the snapshot of exe's wasm, whose verified digest
// is sum, that an earlier init with these inputs and env stored (the key
// preinit.Cached stores it under), mapped until release, without reading
// the wasm; hit is false when there is none. Only a module that exported its init function was
// ever stored, so a hit needs no look at the module's exports.
func (r *Runtime) cachedSnapshot(exe *registryclient.Package, sum bundle.Digest, inputs string, env []string) (snap []byte, release func(), hit bool, err error) {
	dirs, err := r.home()
	if err != nil {
		return nil, nil, false, err
	}
	snap, release, hit, err = preinit.LookupMapped(dirs.Snapshots(), preinit.CacheKeyOf(sum, inputs, r.preinitOptions(exe, env)))
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: pre-initializing: %w", exe.Label(), err)
	}
	return snap, release, hit, nil
}

// tailWriter keeps the last maxTail bytes written to it: the end of an
// init's stderr, for its error.
type tailWriter struct{ b []byte }

const maxTail = 4096

func (w *tailWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	if len(w.b) > maxTail {
		w.b = append(w.b[:0], w.b[len(w.b)-maxTail:]...)
	}
	return len(p), nil
}

// lastLine is the last non-empty line written, printable and at most 1,000
// bytes.
func (w *tailWriter) lastLine() string {
	lines := strings.Split(strings.TrimRight(string(w.b), "\r\n\t "), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if len(last) > 1000 {
		last = strings.ToValidUTF8(last[:1000], "") + "..."
	}
	return printable.String(last)
}

// assetLayer opens the directory from of a package as a read-only layer:
// straight from disk for a directory or a pulled (extracted) package, from
// the verified archive otherwise. A pulled package's layers are shared
// through the Runtime's load cache: its files never change.
func (r *Runtime) assetLayer(pkg *registryclient.Package, from string) (sys.FS, func() error, error) {
	if dir, ok := pkg.Dir(); ok && pkg.Descriptor.Digest != "" {
		key := layerKey{pkg.Digest(), filepath.Join(dir, filepath.FromSlash(from))}
		return r.loads().layer(key, func() (sys.FS, func() error, error) {
			return assetLayer(pkg, from)
		})
	}
	return assetLayer(pkg, from)
}

// assetLayer opens the directory from of a package as a read-only layer.
func assetLayer(pkg *registryclient.Package, from string) (sys.FS, func() error, error) {
	if _, ok := pkg.Dir(); ok {
		l, err := packageDirLayer(pkg.Package, from)
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

// packageDirLayer opens the directory from of a package on disk as a
// read-only layer. A package loaded through its verified index (a pulled
// package) is served from that index, each file checked when opened
// (vfs.NewIndexLayer); any other directory is walked (vfs.NewDirLayer).
func packageDirLayer(pkg *bundle.Package, from string) (sys.FS, error) {
	dir, _ := pkg.Dir()
	host := filepath.Join(dir, filepath.FromSlash(from))
	if pkg.Indexed() {
		return vfs.NewIndexLayer(host, filesUnder(pkg.Files(), from))
	}
	return vfs.NewDirLayer(host)
}

// filesUnder returns the files of a package (sorted by path, as
// bundle.Package.Files lists them) beneath the directory from, with paths
// relative to it.
func filesUnder(files []bundle.Entry, from string) []vfs.IndexFile {
	from = path.Clean(from)
	if from == "." || from == "/" {
		out := make([]vfs.IndexFile, len(files))
		for i, f := range files {
			out[i] = vfs.IndexFile{Path: f.Path, Size: f.Size}
		}
		return out
	}
	prefix := strings.TrimPrefix(from, "/") + "/"
	i, _ := slices.BinarySearchFunc(files, prefix, func(e bundle.Entry, p string) int { return strings.Compare(e.Path, p) })
	var out []vfs.IndexFile
	for ; i < len(files) && strings.HasPrefix(files[i].Path, prefix); i++ {
		out = append(out, vfs.IndexFile{Path: files[i].Path[len(prefix):], Size: files[i].Size})
	}
	return out
}

// Run runs the package: its [run] args before cfg's, its [run] env under
// cfg's, its assets at their guest paths (each behind a fresh copy-on-write
// overlay) and cfg's mounts, which win at the same guest path. A required
// [[mounts]] entry that cfg does not grant stops the run before it starts.
func (p *Package) Run(ctx context.Context, cfg RunConfig) error {
	if err := p.checkOpen(); err != nil {
		return err
	}
	if err := p.CheckMounts(cfg); err != nil {
		return err
	}
	return p.prog.Run(ctx, p.runConfig(cfg, p.args, p.env, p.cwd))
}

// Test runs the package's tests in the same sandbox as Run: [test] args
// instead of [run] args, with [test] env added, in [test] cwd (else [run]
// cwd). A Python app without [test] args runs pytest when it depends on
// it (its resolved packages include pypi:pytest): "python -m pytest DIR"
// with DIR, its first asset directory, as the working directory;
// otherwise unittest discovery in DIR ("python -m unittest discover -s
// DIR"). cfg's args follow either.
func (p *Package) Test(ctx context.Context, cfg RunConfig) error {
	if err := p.checkOpen(); err != nil {
		return err
	}
	args := p.testArgs
	cwd := orDefault(p.testCwd, p.cwd)
	if args == nil {
		if !strings.HasPrefix(p.runtime, "python:") {
			return fmt.Errorf("%s has no [test] table: add one to wrun.toml, e.g. [test] args = [\"--test\"]", p.name)
		}
		dir := "/"
		if len(p.Manifest.Assets) > 0 {
			dir = p.Manifest.Assets[0].To
		}
		if p.Resolved.Package(PytestPackage) != nil {
			args = []string{"-m", "pytest", dir}
			cwd = orDefault(cwd, dir)
		} else {
			args = []string{"-m", "unittest", "discover", "-s", dir}
		}
	}
	env := p.env
	if p.testEnv != nil {
		env = p.testEnv
	}
	if p.runtime == "" {
		args = append(slices.Clone(p.args), args...)
	}
	if err := p.CheckMounts(cfg); err != nil {
		return err
	}
	return p.prog.Run(ctx, p.runConfig(cfg, args, env, cwd))
}

// PytestPackage is the package whose presence among an app's resolved
// packages makes Package.Test run pytest.
const PytestPackage = "pypi:pytest"

// checkOpen fails with ErrClosed once the Package is closed.
func (p *Package) checkOpen() error {
	if p.closed.Load() {
		return fmt.Errorf("running %s: package %w", p.name, ErrClosed)
	}
	return nil
}

// CheckMounts reports the first required [[mounts]] entry cfg does not grant.
func (p *Package) CheckMounts(cfg RunConfig) error {
	return p.Manifest.CheckMounts(func(guest string) bool {
		return slices.ContainsFunc(cfg.mounts, func(m vfs.Mount) bool { return m.Guest == guest })
	})
}

func (p *Package) runConfig(cfg RunConfig, args []string, env map[string]string, cwd string) RunConfig {
	if cfg.scratch == 0 {
		cfg.scratch = DefaultScratchBytes
	}
	if cfg.workdir == "" {
		cfg.workdir = cwd
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
	if p.pycache != nil && !slices.ContainsFunc(cfg.mounts, func(m vfs.Mount) bool { return m.Guest == PycacheGuest }) {
		mounts = append(mounts, vfs.Mount{Guest: PycacheGuest, FS: p.pycache})
		mounts = append(mounts, p.pycViews...)
		if _, ok := merged["PYTHONPYCACHEPREFIX"]; !ok {
			merged["PYTHONPYCACHEPREFIX"] = PycacheGuest
		}
	}
	cfg.mounts = append(mounts, cfg.mounts...)
	return cfg
}

// PycacheGuest is the guest path of the bytecode cache of a Python app run
// from a directory (see Package).
const PycacheGuest = "/var/cache/pycache"

// MaxPycacheBytes bounds one app's bytecode cache on the host: the bytes
// its runs may add to it between two Loads (the guest's writes past it
// fail with ENOSPC, which CPython ignores: it only stops caching). A Load
// that finds the cache over half of it empties it.
const MaxPycacheBytes = 256 << 20

// openPycache gives p, a Python app loaded from a directory (not a
// registry or bundle), a writable bytecode cache: a host directory under
// wrun's cache directory, keyed by the app's absolute directory and the
// digests of its runtime and dependencies (not of the app itself: its own
// sources change all the time, and CPython's timestamp-based .pyc files
// notice that), mounted at PycacheGuest with PYTHONPYCACHEPREFIX pointing
// there, so that CPython's .pyc files and pytest's rewritten test modules
// outlive the run's overlay. The user's directory never receives a file.
// An app keeps one cache: a new key removes its caches of other ones. The
// cache is an optimization: when it cannot be made, the app runs without.
func (r *Runtime) openPycache(p *Package, res *registryclient.Resolved) {
	root := res.Root
	dir, ok := root.Dir()
	if !ok || root.Descriptor.Digest != "" || !strings.HasPrefix(p.runtime, "python:") {
		return
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return
	}
	dirs, err := r.home()
	if err != nil {
		return
	}
	app := sha256.Sum256([]byte(abs))
	h := sha256.New()
	for _, d := range res.Deps {
		fmt.Fprintf(h, "%s %s\n", d.Name(), d.Digest())
	}
	prefix := hex.EncodeToString(app[:8]) + "-"
	key := prefix + hex.EncodeToString(h.Sum(nil)[:8])
	base := dirs.Pycache()
	if ents, err := os.ReadDir(base); err == nil {
		var others []fs.DirEntry // other apps' caches
		for _, e := range ents {
			switch {
			case strings.HasPrefix(e.Name(), prefix):
				if e.Name() != key && e.Name() != key+".sources" {
					os.RemoveAll(filepath.Join(base, e.Name()))
				}
			case e.IsDir():
				others = append(others, e)
			}
		}
		evictPycaches(base, others, MaxPycacheApps-1)
	}
	cache := filepath.Join(base, key)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return
	}
	used := dirBytes(cache)
	if used > MaxPycacheBytes/2 {
		os.RemoveAll(cache)
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return
		}
		used = 0
	}
	if !forgetChanged(cache, root) {
		return
	}
	now := time.Now()
	os.Chtimes(cache, now, now) // last used: what a prune by age looks at
	layer, err := vfs.Host(cache, false)
	if err != nil {
		return
	}
	if c, ok := layer.(io.Closer); ok {
		p.closers = append(p.closers, c.Close)
	}
	p.pycache = vfs.WithQuota(layer, vfs.NewQuota(MaxPycacheBytes, used))

	// With a prefix, CPython looks for every module's bytecode under it,
	// the standard library's and the libraries' too: show the .pyc files
	// their packages ship (unchecked-hash, always valid) where it looks,
	// read-only, rather than compiling them again into each app's cache.
	var own []string
	for _, a := range root.Manifest.Assets {
		own = append(own, path.Join("/", a.To))
	}
	for _, l := range p.layers {
		if slices.Contains(own, l.Guest) {
			continue
		}
		if v, ok := vfs.Lift(l.FS, "__pycache__"); ok {
			p.pycViews = append(p.pycViews, vfs.Mount{Guest: path.Join(PycacheGuest, l.Guest), FS: v})
		}
	}
}

// MaxPycacheApps bounds how many apps keep a bytecode cache (one per
// directory loaded from): a Load removes the least recently loaded ones
// past it, so that the caches hold at most MaxPycacheApps times
// MaxPycacheBytes (plus what one Load lets runs add) in all.
const MaxPycacheApps = 32

// evictPycaches removes the least recently used of the bytecode caches
// caches (directories of base, each with its ".sources" record) but keep.
func evictPycaches(base string, caches []fs.DirEntry, keep int) {
	if len(caches) <= keep {
		return
	}
	used := map[string]time.Time{}
	for _, c := range caches {
		if fi, err := c.Info(); err == nil {
			used[c.Name()] = fi.ModTime()
		}
	}
	slices.SortFunc(caches, func(a, b fs.DirEntry) int { return used[a.Name()].Compare(used[b.Name()]) })
	for _, c := range caches[:len(caches)-keep] {
		os.RemoveAll(filepath.Join(base, c.Name()))
		os.Remove(filepath.Join(base, c.Name()+".sources"))
	}
}

// forgetChanged removes from the bytecode cache dir what was compiled from
// an app source that changed since the last Load: CPython's timestamp
// .pyc files record a source's mtime in whole seconds and its size, so an
// edit within the second that keeps the size would go unnoticed. The
// sources' digests come from the package's file index (computed by the
// Load anyway) and are kept in dir + ".sources", which the guest does not
// see. A cache without that record is emptied. It reports whether the
// cache is usable.
func forgetChanged(dir string, root *registryclient.Package) bool {
	record := dir + ".sources"
	old := map[string]string{}
	b, readErr := os.ReadFile(record)
	if readErr != nil {
		if err := os.RemoveAll(dir); err != nil {
			return false
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if sum, guest, ok := strings.Cut(line, " "); ok {
			old[guest] = sum
		}
	}
	cache, err := os.OpenRoot(dir)
	if err != nil {
		return false
	}
	defer cache.Close()
	var now strings.Builder
	for _, e := range root.Files() {
		for _, a := range root.Manifest.Assets {
			rel, ok := strings.CutPrefix(e.Path, a.From+"/")
			if !ok || !strings.HasSuffix(rel, ".py") {
				continue
			}
			guest := path.Join("/", a.To, rel)
			fmt.Fprintf(&now, "%s %s\n", e.Sum, guest)
			if prev, ok := old[guest]; ok && prev != e.Sum.String() {
				forgetSource(cache, guest)
			}
		}
	}
	if readErr == nil && string(b) == now.String() {
		return true // unchanged: no write
	}
	tmp := record + ".tmp"
	if err := os.WriteFile(tmp, []byte(now.String()), 0o644); err != nil {
		return false
	}
	return os.Rename(tmp, record) == nil
}

// forgetSource removes the bytecode cached for the guest source file
// guest: CPython's STEM.cpython-311.pyc and pytest's
// STEM.cpython-311-pytest-VERSION.pyc in the directory mirroring its own.
// The guest writes the cache, links included: cache confines the walk to
// it, so a link leading out (a directory renamed with one inside) fails
// to open rather than having files removed wherever it points.
func forgetSource(cache *os.Root, guest string) {
	d := strings.TrimPrefix(path.Dir(guest), "/")
	if d == "" {
		d = "."
	}
	f, err := cache.Open(d)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	stem := strings.TrimSuffix(path.Base(guest), ".py") + "."
	for _, name := range names {
		if strings.HasPrefix(name, stem) && strings.HasSuffix(name, ".pyc") {
			cache.Remove(path.Join(d, name))
		}
	}
}

// dirBytes is what the files under dir hold, counted as vfs.WithQuota
// counts them.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n += 4096
		if fi, err := d.Info(); err == nil && d.Type().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
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

// fileSum is the content digest of a package file, from the package's
// verified file index (no file is read).
func fileSum(p *bundle.Package, name string) (bundle.Digest, bool) {
	name = path.Clean(name)
	for _, e := range p.Files() {
		if e.Path == name {
			return e.Sum, true
		}
	}
	return bundle.Digest{}, false
}

// How many entries no Package uses a Runtime keeps for the next Load, by
// kind: a compiled CPython program holds tens of MiB, a layer an index of
// its directory.
const (
	maxIdlePrograms = 4
	maxIdleLayers   = 64
)

// progKey names a compiled program in the load cache: the name it was
// compiled under (errors show it) and the wasm's content digest.
type progKey struct {
	name string
	sum  bundle.Digest
}

// layerKey names the asset layer of a directory of an extracted registry
// package, which never changes once verified (package directories of an
// author's source may, so they are indexed again on every Load).
type layerKey struct {
	pkg bundle.Digest
	dir string // the directory on disk
}

// loadCache is the state Load keeps in a Runtime: the programs it compiled
// and the asset layers it indexed, shared by the Packages that use them.
type loadCache struct {
	mu      sync.Mutex
	entries map[any]*cacheEntry // by progKey or layerKey
	clock   uint64
	closed  bool // the Runtime closed: entries close when their last user goes
}

type cacheEntry struct {
	val   any
	close func()
	live  func() bool // false: closed behind the cache's back
	refs  int         // Packages using it
	used  uint64      // loadCache.clock when last taken
	gone  bool        // dropped from the cache while in use: closed by its last release
}

// loads returns r's load cache, made on first use. Closing the Runtime
// closes every program compiled by it; idle entries close at once, the
// others when their last Package goes.
func (r *Runtime) loads() *loadCache {
	r.loadsOnce.Do(func() {
		c := &r.loadCache
		c.entries = map[any]*cacheEntry{}
		context.AfterFunc(r.closing, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.closed = true
			for k, e := range c.entries {
				if e.refs == 0 {
					e.close()
					delete(c.entries, k)
				}
			}
		})
	})
	return &r.loadCache
}

// program returns the program under key, compiling it with compile when
// the cache has none, and the function that gives it back.
func (c *loadCache) program(ctx context.Context, key progKey, compile func() (*Program, error)) (*Program, func(), error) {
	v, release, err := c.get(key, func() (*cacheEntry, error) {
		prog, err := compile()
		if err != nil {
			return nil, err
		}
		return &cacheEntry{
			val:   prog,
			close: func() { prog.Close(context.Background()) },
			live:  func() bool { return prog.closing.Err() == nil },
		}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return v.(*Program), release, nil
}

// layer returns the layer under key, opening it with open when the cache
// has none, and the function that gives it back.
//
// A layer lives while its directory does: one that `wrun cache prune`
// removed (and a later pull extracted again) is opened again.
func (c *loadCache) layer(key layerKey, open func() (sys.FS, func() error, error)) (sys.FS, func() error, error) {
	v, release, err := c.get(key, func() (*cacheEntry, error) {
		fi, err := os.Stat(key.dir)
		if err != nil {
			return nil, err
		}
		l, closer, err := open()
		if err != nil {
			return nil, err
		}
		live := func() bool {
			now, err := os.Stat(key.dir)
			return err == nil && os.SameFile(fi, now)
		}
		e := &cacheEntry{val: l, close: func() {}, live: live}
		if closer != nil {
			e.close = func() { closer() }
		}
		return e, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return v.(sys.FS), func() error { release(); return nil }, nil
}

// get takes a reference to the entry under key, making it with make when
// there is none (outside the lock: loads of other packages go on).
func (c *loadCache) get(key any, make func() (*cacheEntry, error)) (any, func(), error) {
	if v, release := c.take(key, nil); release != nil {
		return v, release, nil
	}
	e, err := make()
	if err != nil {
		return nil, nil, err
	}
	v, release := c.take(key, e)
	if v != e.val { // another Load made it meanwhile
		e.close()
	}
	return v, release, nil
}

// take takes a reference to the entry under key; when there is none, it
// caches e (when not nil) and takes that.
func (c *loadCache) take(key any, e *cacheEntry) (any, func()) {
	c.mu.Lock()
	var dead *cacheEntry
	defer func() {
		c.mu.Unlock()
		if dead != nil {
			dead.close()
		}
	}()
	cur := c.entries[key]
	if cur != nil && !cur.live() {
		// A program closed by hand through Package.Program, or a layer
		// whose directory a prune removed: drop it, and close it now when
		// idle, else when its last user releases it.
		delete(c.entries, key)
		if cur.refs == 0 {
			dead = cur
		} else {
			cur.gone = true
		}
		cur = nil
	}
	if cur == nil {
		if e == nil {
			return nil, nil
		}
		cur = e
		c.entries[key] = cur
	}
	cur.refs++
	c.clock++
	cur.used = c.clock
	return cur.val, sync.OnceFunc(func() { c.release(key, cur) })
}

// release drops one reference to e, and closes the least recently used
// idle entries of its kind beyond the kind's bound.
func (c *loadCache) release(key any, e *cacheEntry) {
	c.mu.Lock()
	e.refs--
	if e.gone {
		c.mu.Unlock()
		if e.refs == 0 {
			e.close()
		}
		return
	}
	bound := maxIdleLayers
	if _, ok := key.(progKey); ok {
		bound = maxIdlePrograms
	}
	var idle []any
	for k, e := range c.entries {
		if e.refs == 0 && reflect.TypeOf(k) == reflect.TypeOf(key) {
			idle = append(idle, k)
		}
	}
	var evict []*cacheEntry
	if c.closed {
		bound = 0
	}
	if len(idle) > bound {
		slices.SortFunc(idle, func(a, b any) int { return cmp.Compare(c.entries[a].used, c.entries[b].used) })
		for _, k := range idle[:len(idle)-bound] {
			evict = append(evict, c.entries[k])
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
	for _, e := range evict {
		e.close()
	}
}
