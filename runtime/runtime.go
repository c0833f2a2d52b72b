package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/wasmbin"
	"github.com/wrun-dev/wrun/registryclient"
)

const wasiModule = wasi_snapshot_preview1.ModuleName

// Runtime compiles and runs programs. It owns one wazero runtime, with WASI
// preview 1 instantiated in it, and its compilation cache. It is safe for
// concurrent use. Close it to release both.
type Runtime struct {
	cfg     Config
	wz      wazero.Runtime
	cache   wazero.CompilationCache
	wasi    map[string]api.FunctionDefinition // what WASI preview 1 provides
	workers int

	clientOnce sync.Once
	client     *registryclient.Client
	clientErr  error
}

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
			return nil, fmt.Errorf("compilation cache %s: %w (set WRUN_HOME to a writable directory, or run with --no-cache)", dir, err)
		}
		cache = c
	}
	wz := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithCloseOnContextDone(cfg.stopOnDone))
	wasi, err := wasi_snapshot_preview1.NewBuilder(wz).Compile(ctx)
	if err == nil {
		_, err = wz.InstantiateModule(ctx, wasi, wazero.NewModuleConfig())
	}
	if err != nil {
		wz.Close(ctx)
		cache.Close(ctx)
		return nil, fmt.Errorf("instantiating WASI preview 1: %w", err)
	}
	return &Runtime{cfg: cfg, wz: wz, cache: cache, wasi: wasi.ExportedFunctions(), workers: max(cfg.workers, 1)}, nil
}

// Close releases the wazero runtime and every program compiled by it. A
// run still in progress keeps its linear memory mapped until its guest
// returns (see memory.go).
func (r *Runtime) Close(ctx context.Context) error {
	err := r.wz.Close(ctx)
	if cerr := r.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// CompileFile reads and compiles the Wasm binary at path; the program is
// named after the path.
func (r *Runtime) CompileFile(ctx context.Context, path string) (*Program, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return r.Compile(ctx, path, wasm)
}

// Compile validates and compiles a core Wasm module. name identifies the
// program in errors. It fails, wrapping ErrNotWasm, ErrComponent or
// ErrInvalidModule, or with a *MissingImportError, before anything runs.
func (r *Runtime) Compile(ctx context.Context, name string, wasm []byte) (*Program, error) {
	if err := checkHeader(name, wasm); err != nil {
		return nil, err
	}
	if err := wasmbin.CheckCounts(wasm); err != nil { // before wazero decodes a count
		return nil, fmt.Errorf("%s is %w: %v", name, ErrInvalidModule, err)
	}
	ctx = experimental.WithCompilationWorkers(ctx, r.workers)
	cm, err := r.wz.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%s is %w: %v", name, ErrInvalidModule, err)
	}
	if err := r.checkImports(name, cm); err != nil {
		cm.Close(ctx)
		return nil, err
	}
	return &Program{name: name, rt: r, cm: cm, minPages: minPages(cm)}, nil
}

var (
	wasmMagic     = []byte("\x00asm")
	coreVersion   = []byte{1, 0, 0, 0}
	componentLayr = []byte{1, 0} // layer field of a component's header
)

// checkHeader tells a core module from a component and from anything else.
func checkHeader(name string, b []byte) error {
	if len(b) < 8 || !bytes.Equal(b[:4], wasmMagic) {
		if len(b) >= 4 && bytes.Equal(b[:4], wasmMagic) {
			return fmt.Errorf("%s is %w: truncated header (%d bytes)", name, ErrInvalidModule, len(b))
		}
		return fmt.Errorf("%s is %w (it does not start with \\0asm): pass a .wasm file", name, ErrNotWasm)
	}
	switch {
	case bytes.Equal(b[4:8], coreVersion):
		return nil
	case bytes.Equal(b[6:8], componentLayr):
		return fmt.Errorf("%s is %w: wazero runs core modules with WASI preview 1 only; "+
			"run it with a component runtime such as wasmtime, or build the program for wasm32-wasip1", name, ErrComponent)
	default:
		return fmt.Errorf("%s is %w: unknown binary version % x", name, ErrInvalidModule, b[4:8])
	}
}

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

// minPages is the initial size of the module's own memory, when exported.
func minPages(cm wazero.CompiledModule) uint32 {
	for _, m := range cm.ExportedMemories() {
		return m.Min()
	}
	return 0
}
