package wrun

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wrun-dev/wrun/internal/component"
	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/printable"
	"github.com/wrun-dev/wrun/internal/wasmbin"
	"github.com/wrun-dev/wrun/registryclient"
	"github.com/wrun-dev/wrun/wasi"
)

const wasiModule = wasi.ModuleName

// Runtime compiles and runs programs. It owns two wazero runtimes sharing
// one compilation cache: one whose compiled code checks for termination
// (cancellable runs, the default) and one whose code does not (full speed,
// RunConfig.WithCancellation(false)); the second of them is made on first
// use. WASI preview 1 is instantiated in each. It is safe for concurrent
// use. Close it to release them and the cache.
type Runtime struct {
	cfg     Config
	cache   wazero.CompilationCache
	wasi    map[string]api.FunctionDefinition // what WASI preview 1 provides
	workers int

	mu sync.Mutex                  // guards wz and closed
	wz [numVariants]wazero.Runtime // by variant; nil until first used
	// closing is done once Close starts: every Program's closing derives
	// from it, so Close stops the runs of every program.
	closing  context.Context
	stopAll  context.CancelFunc
	closed   bool
	closeErr error
	// users counts compiles in progress, which keep the compilation cache
	// open: closing it under a compile would crash wazero's engine.
	users int

	clientOnce sync.Once
	client     *registryclient.Client
	clientErr  error

	// loadCache keeps what Load compiled and indexed (see loads).
	loadsOnce sync.Once
	loadCache loadCache

	// compiles counts the modules handed to wazero's compiler (tests
	// check that a refused module never reaches it).
	compiles atomic.Int64
}

// variant tells a module compiled with wazero's termination checks from
// one compiled without. Its value indexes Runtime.wz and Program.cm.
type variant int

const (
	cancellable variant = iota // WithCloseOnContextDone(true)
	fast                       // no termination checks
	numVariants
)

// home locates wrun's state: the Config's, else the environment's.
func (r *Runtime) home() (home.Dirs, error) {
	if r.cfg.home != (home.Dirs{}) {
		return r.cfg.home, nil
	}
	return home.Locate()
}

// New returns a Runtime configured by cfg.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	var cache wazero.CompilationCache
	switch {
	case cfg.inMemory:
		cache = wazero.NewCompilationCache()
	default:
		dir := cfg.cacheDir
		if dir == "" {
			dirs, err := (&Runtime{cfg: cfg}).home()
			if err != nil {
				return nil, err
			}
			dir = dirs.Compiled()
		}
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w (set WRUN_HOME or Config.WithHome to a writable directory, or use an in-memory cache: --no-cache, Config.WithInMemoryCache)", dir, err)
		}
		cache = c
	}
	r := &Runtime{cfg: cfg, cache: cache, workers: max(cfg.workers, 1)}
	r.closing, r.stopAll = context.WithCancel(context.Background())
	wz, err := r.wazero(ctx, r.defaultVariant())
	if err != nil {
		cache.Close(ctx)
		return nil, err
	}
	r.wasi = wz.Module(wasiModule).ExportedFunctionDefinitions()
	return r, nil
}

// defaultVariant is the variant of a run that does not choose, and the one
// Compile builds up front.
func (r *Runtime) defaultVariant() variant {
	if r.cfg.stopOnDone {
		return cancellable
	}
	return fast
}

// wazero returns the wazero runtime of variant v, making it (with WASI
// preview 1 instantiated) on first use. It fails with ErrClosed once Close
// has started.
func (r *Runtime) wazero(ctx context.Context, v variant) (wazero.Runtime, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, r.errClosed()
	}
	if wz := r.wz[v]; wz != nil {
		return wz, nil
	}
	wz := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithCloseOnContextDone(v == cancellable))
	if _, err := wasi.Instantiate(ctx, wz); err != nil {
		wz.Close(ctx)
		return nil, fmt.Errorf("instantiating WASI preview 1: %w", err)
	}
	r.wz[v] = wz
	return wz, nil
}

// acquire keeps the wazero runtimes and the compilation cache open until
// release is called, for a compile or a run: wazero closes a module's
// resources (its filesystem, its memory) under a guest still running in it,
// and an engine closed under a compile crashes. It fails with ErrClosed
// once Close has started; the last release after Close releases them.
func (r *Runtime) acquire() (release func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, r.errClosed()
	}
	r.users++
	return sync.OnceFunc(func() {
		r.mu.Lock()
		r.users--
		last := r.closed && r.users == 0
		r.mu.Unlock()
		if last {
			r.release(context.Background())
		}
	}), nil
}

// release closes the wazero runtimes and the cache, once nothing uses them.
func (r *Runtime) release(ctx context.Context) error {
	var err error
	for _, wz := range r.wz {
		if wz != nil {
			err = errors.Join(err, wz.Close(ctx))
		}
	}
	return errors.Join(err, r.cache.Close(ctx))
}

// errClosed is the error of using the Runtime after Close.
func (r *Runtime) errClosed() error {
	return fmt.Errorf("runtime %w: make a new Runtime with wrun.New", ErrClosed)
}

// checkOpen fails with ErrClosed once Close has started.
func (r *Runtime) checkOpen() error {
	if r.closing.Err() != nil {
		return r.errClosed()
	}
	return nil
}

// Close releases the wazero runtimes, every program compiled by them and
// the in-memory part of the compilation cache. Runs in progress stop with
// an error wrapping ErrClosed: within milliseconds when cancellable, when
// their guest returns otherwise; Close does not wait for them, and the
// last of them to return releases what Close could not. Any later use of
// the Runtime, or of a Program or Package from it, fails with ErrClosed.
// Closing twice returns the first Close's result.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.closeErr
	}
	r.closed = true
	r.stopAll()
	if r.users == 0 { // else the last run or compile releases
		r.closeErr = r.release(ctx)
	}
	return r.closeErr
}

// CompileFile reads and compiles the Wasm binary at path; the program is
// named after the path.
func (r *Runtime) CompileFile(ctx context.Context, path string) (*Program, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return r.compileOwned(ctx, path, wasm)
}

// Compile validates and compiles a core Wasm module, or a component that
// wraps a WASI preview 1 command module with the wasi_snapshot_preview1
// adapter (it compiles the wrapped module; see internal/component). name
// identifies the program in errors. It fails, wrapping ErrNotWasm,
// ErrComponent (any other component, with what kind it is and the WASI 0.2
// interfaces it imports) or ErrInvalidModule, or with a
// *MissingImportError naming every import nothing provides, before
// anything is compiled. A
// compile stopped by its context wraps ctx.Err() and one on a closed Runtime
// wraps ErrClosed, neither of them ErrInvalidModule.
//
// It compiles the variant the Config's WithCloseOnContextDone selects; the
// other is compiled on the first run that asks for it.
func (r *Runtime) Compile(ctx context.Context, name string, wasm []byte) (*Program, error) {
	return r.compileBytes(ctx, name, wasm, false)
}

// compileOwned is Compile of bytes nothing else holds or changes (a file
// read for it, a snapshot): the program keeps them without a copy.
func (r *Runtime) compileOwned(ctx context.Context, name string, wasm []byte) (*Program, error) {
	return r.compileBytes(ctx, name, wasm, true)
}

// compileBytes is Compile; owned says wasm may be kept as it is.
func (r *Runtime) compileBytes(ctx context.Context, name string, wasm []byte, owned bool) (*Program, error) {
	if err := r.checkOpen(); err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	if wasmbin.Sniff(wasm) == wasmbin.Component {
		core, err := unwrapComponent(name, wasm)
		if err != nil {
			return nil, err
		}
		wasm = core
	}
	if err := checkHeader(name, wasm); err != nil {
		return nil, err
	}
	if err := wasmbin.CheckCounts(wasm); err != nil { // before wazero decodes a count
		return nil, fmt.Errorf("%s is %w: %w", name, ErrInvalidModule, err)
	}
	m, err := wasmbin.Parse(wasm) // the sections, once, for what follows
	if err != nil {
		return nil, fmt.Errorf("%s is %w: %w", name, ErrInvalidModule, err)
	}
	if err := r.precheckImports(name, m); err != nil { // before a compile that may take seconds
		return nil, err
	}
	img, code := splitImage(wasm, m) // without its data segments when its memory starts from an image (cowimage.go)
	if !owned && img == nil {
		// The compiled module may refer to the bytes it was compiled
		// from (wazero keeps data segments as slices of them), and the
		// program keeps them to compile its other variant: the caller's
		// stay the caller's. With an image, code is splitImage's copy.
		code = slices.Clone(code)
	}
	v := r.defaultVariant()
	cm, err := r.compile(ctx, name, code, v)
	if err != nil {
		img.Close()
		return nil, err
	}
	if err := r.checkImports(name, cm); err != nil {
		cm.Close(ctx)
		img.Close()
		return nil, err
	}
	p := &Program{name: name, rt: r, wasm: code, def: cm, minPages: minPages(m, cm)}
	p.closing, p.stop = context.WithCancel(r.closing)
	p.adoptImage(img)
	p.cm[v].Store(&compiledModule{cm})
	return p, nil
}

// compile compiles wasm as variant v, telling a failure of the module
// (ErrInvalidModule) from a compile that was stopped (ctx.Err(), ErrClosed).
func (r *Runtime) compile(ctx context.Context, name string, wasm []byte, v variant) (wazero.CompiledModule, error) {
	release, err := r.acquire()
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	defer release()
	wz, err := r.wazero(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	r.compiles.Add(1)
	cm, err := wz.CompileModule(experimental.WithCompilationWorkers(ctx, r.workers), wasm)
	switch {
	case r.closing.Err() != nil:
		if cm != nil {
			cm.Close(ctx)
		}
		return nil, fmt.Errorf("compiling %s: %w", name, r.errClosed())
	case err == nil:
		return cm, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("compiling %s stopped: %w", name, ctx.Err())
	}
	return nil, fmt.Errorf("%s is %w: %w", name, ErrInvalidModule, err)
}

// checkHeader tells a core module from a component and from anything else
// (by wasmbin.Sniff, the one rule).
func checkHeader(name string, b []byte) error {
	switch wasmbin.Sniff(b) {
	case wasmbin.NotWasm:
		return fmt.Errorf("%s is %w (it does not start with \\0asm): pass a .wasm file", name, ErrNotWasm)
	case wasmbin.Truncated:
		return fmt.Errorf("%s is %w: truncated header (%d bytes)", name, ErrInvalidModule, len(b))
	case wasmbin.CoreModule:
		return nil
	case wasmbin.Component:
		return fmt.Errorf("%s is %w: wazero runs core modules with WASI preview 1 only; "+
			"run it with a component runtime such as wasmtime, or build the program for wasm32-wasip1", name, ErrComponent)
	default:
		return fmt.Errorf("%s is %w: unknown binary version % x", name, ErrInvalidModule, b[4:8])
	}
}

// maxMissingListed bounds the imports a missing-import error lists.
const maxMissingListed = 10

// precheckImports reads the import section of a core module (already
// through CheckCounts) and refuses it, naming every import nothing
// provides, before it is compiled: WASI preview 1 functions of the wasi
// package, the preview 1 adapter's own functions (wasi/adapter.go) and
// nothing else. The error is a *MissingImportError for the first, its
// message extended with the others (at most maxMissingListed, then "and N
// more"). A section it cannot decode is left to wazero's compile.
func (r *Runtime) precheckImports(name string, m *wasmbin.Module) error {
	sec := m.Section(wasmbin.SectionImport)
	if sec == nil {
		return nil
	}
	imports, err := wasmbin.DecodeImports(sec.Payload, sec.PayloadOffset)
	if err != nil {
		return nil
	}
	var first *MissingImportError
	var missing []string
	n := 0
	for _, im := range imports {
		if im.Kind == wasmbin.KindFunc && im.Module == wasiModule && r.wasi[im.Name] != nil {
			continue
		}
		kind := map[wasmbin.ExternKind]string{wasmbin.KindFunc: "function", wasmbin.KindMemory: "memory",
			wasmbin.KindTable: "table", wasmbin.KindGlobal: "global"}[im.Kind]
		if kind == "" {
			kind = "tag"
		}
		if first == nil {
			first = &MissingImportError{Program: name, Module: im.Module, Name: im.Name, Kind: kind}
		}
		if n++; len(missing) < maxMissingListed {
			missing = append(missing, fmt.Sprintf("%s %s", kind, printableImport(im.Module, im.Name)))
		}
	}
	if first == nil {
		return nil
	}
	if n == 1 {
		return first
	}
	more := ""
	if n > len(missing) {
		more = fmt.Sprintf(" and %d more", n-len(missing))
	}
	return fmt.Errorf("%w; %d imports are missing in all: %s%s", first, n, strings.Join(missing, ", "), more)
}

// printableImport quotes an import's module and name as Go strings, so
// control characters from the binary are escaped.
func printableImport(mod, name string) string {
	const maxLen = 64
	if len(mod) > maxLen {
		mod = mod[:maxLen] + "..."
	}
	if len(name) > maxLen {
		name = name[:maxLen] + "..."
	}
	return fmt.Sprintf("%q.%q", mod, name)
}

// unwrapComponent returns the WASI preview 1 module a p1-adapted command
// component wraps, or refuses the component before anything is compiled,
// saying which kind it is and which WASI 0.2 interfaces it imports.
func unwrapComponent(name string, wasm []byte) ([]byte, error) {
	c, err := component.Parse(wasm)
	if err != nil {
		return nil, fmt.Errorf("%s is %w that is %w: %w", name, ErrComponent, ErrInvalidModule, err)
	}
	s := component.Classify(c)
	if s.Runnable() {
		core, err := s.Core()
		if err != nil {
			return nil, fmt.Errorf("%s is %w that is %w: its main module: %w", name, ErrComponent, ErrInvalidModule, err)
		}
		return core, nil
	}
	msg := fmt.Sprintf("%s is %v: %s", name, ErrComponent, s.Describe())
	if s.Why != "" && s.Roles != nil && slices.Contains(s.Roles, component.RoleMain) {
		msg += " (it holds a WASI preview 1 module, but not in the adapter's shape: " + s.Why + ")"
	} else if s.Why != "" && strings.HasPrefix(s.Why, "it uses") {
		msg += " (" + s.Why + ")"
	}
	if imps := c.WASIImports(); len(imps) > 0 {
		shown := imps[:min(len(imps), 24)]
		msg += "; it imports " + strings.Join(printable.Strings(shown), ", ")
		if n := len(imps) - len(shown); n > 0 {
			msg += fmt.Sprintf(" and %d more", n)
		}
	}
	return nil, &componentError{msg: msg + ". wazero runs core modules with WASI preview 1 only (it has no Component Model): wrun runs WASI preview 1 modules, and components that wrap one with the wasi_snapshot_preview1 adapter " +
		"(wasm-tools component new --adapt, jco new --wasi-command, cargo component); run this one with a component runtime such as wasmtime, or build the program for wasm32-wasip1"}
}

// componentError is a refused component; it wraps ErrComponent.
type componentError struct{ msg string }

func (e *componentError) Error() string { return e.msg }
func (e *componentError) Unwrap() error { return ErrComponent }

// checkImports names the first import nothing provides, instead of letting
// instantiation fail later with a less helpful message.
func (r *Runtime) checkImports(name string, cm wazero.CompiledModule) error {
	for _, f := range cm.ImportedFunctions() {
		mod, fn, _ := f.Import()
		if mod == wasiModule && r.wasi[fn] != nil {
			continue
		}
		return &MissingImportError{Program: name, Module: mod, Name: fn, Kind: "function"}
	}
	for _, m := range cm.ImportedMemories() {
		mod, n, _ := m.Import()
		return &MissingImportError{Program: name, Module: mod, Name: n, Kind: "memory"}
	}
	return nil
}

// minPages is the initial size of the module's own memory, exported or
// not (wazero shows only an exported one; an imported memory is refused by
// checkImports). It reads the memory section of m (splitImage leaves it
// there), which compiled into cm; should that fail, cm's exported memory
// is the answer.
func minPages(m *wasmbin.Module, cm wazero.CompiledModule) uint32 {
	sec := m.Section(wasmbin.SectionMemory)
	if sec == nil {
		return 0
	}
	if mems, err := wasmbin.DecodeMemories(sec.Payload, sec.PayloadOffset); err == nil && len(mems) > 0 {
		return uint32(min(mems[0].Min, math.MaxUint32))
	}
	for _, m := range cm.ExportedMemories() {
		return m.Min()
	}
	return 0
}
