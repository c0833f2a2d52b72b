package wrun

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	expsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wrun-dev/wrun/internal/linearmem"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/wasi"
)

// Program is a compiled module, ready to run any number of times, also
// concurrently. It holds up to two compiled variants of the module, with and
// without wazero's termination checks (see RunConfig.WithCancellation):
// Compile builds the Runtime's default one, and the first run that asks for
// the other compiles it, once, from the compilation cache when it is there.
// It keeps its binary for that.
type Program struct {
	name     string
	rt       *Runtime
	wasm     []byte
	def      wazero.CompiledModule // the variant Compile built: definitions
	minPages uint32

	mu sync.Mutex // held while compiling a variant or closing
	cm [numVariants]atomic.Pointer[compiledModule]
	// closing is done once Close starts (or the Runtime's Close).
	closing context.Context
	stop    context.CancelFunc

	// image is the initial contents of the module's memory when Compile
	// took its data segments out of wasm (see cowimage.go), else nil; set
	// before the Program is published, closed with it.
	image *linearmem.Image
}

type compiledModule struct{ wazero.CompiledModule }

// Name is the name the program was compiled under.
func (p *Program) Name() string { return p.name }

// Imports lists the program's imported functions as "module.name".
func (p *Program) Imports() []string {
	var out []string
	for _, f := range p.def.ImportedFunctions() {
		mod, name, _ := f.Import()
		out = append(out, mod+"."+name)
	}
	return out
}

// Exports lists the program's exported function names, sorted.
func (p *Program) Exports() []string {
	var out []string
	for name := range p.def.ExportedFunctions() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Close releases the compiled code held in memory (not the on-disk cache).
// Runs in progress stop with an error wrapping ErrClosed (see
// RunConfig.WithCancellation), and later runs fail with ErrClosed.
func (p *Program) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stop()
	p.image.Close() // runs in progress keep theirs until they end
	for i := range p.cm {
		if c := p.cm[i].Swap(nil); c != nil {
			c.Close(ctx)
		}
	}
	return nil
}

// errClosed is the error of a run of a closed program, or one that a Close
// stopped.
func (p *Program) errClosed() error {
	if p.rt.closing.Err() != nil {
		return fmt.Errorf("running %s: runtime %w", p.name, ErrClosed)
	}
	return fmt.Errorf("running %s: program %w", p.name, ErrClosed)
}

// compiled returns variant v of the program, compiling it on first use.
func (p *Program) compiled(ctx context.Context, v variant) (wazero.CompiledModule, error) {
	if c := p.cm[v].Load(); c != nil {
		return c.CompiledModule, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing.Err() != nil {
		return nil, p.errClosed()
	}
	if c := p.cm[v].Load(); c != nil {
		return c.CompiledModule, nil
	}
	cm, err := p.rt.compile(ctx, p.name, p.wasm, v)
	if err != nil {
		if p.closing.Err() != nil {
			return nil, p.errClosed()
		}
		return nil, err
	}
	p.cm[v].Store(&compiledModule{cm})
	return cm, nil
}

// Run instantiates the program with cfg, calls its start function and waits
// for it to return. It returns nil when the guest exits with code 0, a
// *sys.ExitError for any other exit code, a *TrapError when it traps, an
// error wrapping ctx.Err() when ctx ends the run, and one wrapping
// ErrClosed when the Program or its Runtime is closed before or during the
// run.
func (p *Program) Run(ctx context.Context, cfg RunConfig) error {
	if p.closing.Err() != nil {
		return p.errClosed()
	}
	start := cfg.startFunc
	if start == "" {
		start = "_start"
	}
	if p.def.ExportedFunctions()[start] == nil {
		return fmt.Errorf("%s has no %q export to run: it is a library (reactor) module, not a command", p.name, start)
	}
	if cfg.maxPages > 0 {
		if p.minPages > cfg.maxPages {
			return fmt.Errorf("%s needs %d pages of memory to start, over the limit of %d pages (%d KiB): raise the memory limit",
				p.name, p.minPages, cfg.maxPages, cfg.maxPages*64)
		}
	}
	v := p.rt.defaultVariant()
	switch cfg.cancel {
	case cancelOn:
		v = cancellable
	case cancelOff:
		v = fast
	}
	cm, err := p.compiled(ctx, v)
	if err != nil {
		return err
	}
	if err := checkWorkdir(cfg.workdir); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	mounts, err := cfg.runMounts()
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{path.Base(p.name)}, cfg.args...)...).
		WithStartFunctions(start).
		WithSysNanosleep()
	// WASI's files are wrun's own (package wasi): stdio, then one preopen
	// per mount in the order given, then the routing root "/".
	wc := wasi.Config{Stdin: cfg.stdin, Stdout: cfg.stdout, Stderr: cfg.stderr}
	if len(mounts) > 0 {
		// Without mounts, no filesystem at all: even an empty one costs a
		// Go guest about a millisecond per start. With one, /dev/null,
		// /dev/zero and /dev/urandom exist unless a mount is at /dev.
		if !slices.ContainsFunc(mounts, func(m vfs.Mount) bool { return m.Guest == "/dev" }) {
			mounts = append(slices.Clip(mounts), vfs.Mount{Guest: "/dev", FS: vfs.NewDevFS()})
		}
		root, err := cfg.limits().NewMountFS(mounts)
		if err != nil {
			return err
		}
		if err := workdirExists(root, cfg.workdir); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		wc.FS = root
		for _, m := range mounts {
			wc.Preopens = append(wc.Preopens, m.Guest)
		}
		if !slices.Contains(wc.Preopens, "/") {
			wc.Preopens = append(wc.Preopens, "/")
		}
	}
	if len(mounts) == 0 && cfg.workdir != "" && cfg.workdir != "/" {
		return fmt.Errorf("%s: %w", p.name, workdirMissing(cfg.workdir, "the run has no filesystem"))
	}
	env := cfg.env
	if cfg.workdir != "" {
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["PWD"] = cfg.workdir
	}
	for _, k := range sortedKeys(env) {
		mc = mc.WithEnv(k, env[k])
	}
	if cfg.walltime != nil {
		mc = mc.WithWalltime(cfg.walltime, sys.ClockResolution(1))
	} else {
		mc = mc.WithSysWalltime()
	}
	if cfg.nanotime != nil {
		mc = mc.WithNanotime(cfg.nanotime, sys.ClockResolution(1))
	} else {
		mc = mc.WithSysNanotime()
	}
	if cfg.randSrc != nil {
		mc = mc.WithRandSource(cfg.randSrc)
	} else {
		mc = mc.WithRandSource(rand.Reader)
	}
	release, err := p.rt.acquire()
	if err != nil {
		return p.errClosed()
	}
	defer release()
	wz, err := p.rt.wazero(ctx, v)
	if err != nil {
		if p.closing.Err() != nil {
			return p.errClosed()
		}
		return fmt.Errorf("%s: %w", p.name, err)
	}

	runCtx := ctx
	if v == cancellable {
		// A Close cancels the run; wazero then stops the guest at its next
		// function entry or loop header.
		var cancel context.CancelFunc
		runCtx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(p.closing, cancel)()
	}
	// Every run grows its memory in place (internal/linearmem); 0 is no cap.
	// The memory stays mapped until the guest has returned, even when a
	// Close frees the module under it.
	alloc := cappedAllocator(cfg.maxPages)
	if img := p.image; img != nil {
		if !img.Acquire() { // closed since
			return p.errClosed()
		}
		defer img.Release()
		alloc = linearmem.NewWithImage(uint64(cfg.maxPages)*pageSize, img)
	}
	defer alloc.Hold()()
	runCtx = wasi.WithConfig(runCtx, wc)
	mod, err := wz.InstantiateModule(experimental.WithMemoryAllocator(runCtx, alloc), cm, mc)
	if mod != nil {
		mod.Close(context.WithoutCancel(ctx))
	}
	if p.closing.Err() != nil {
		return p.errClosed()
	}
	return p.result(ctx, err)
}

// result classifies the error of an instantiation that ran the start function.
func (p *Program) result(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case 0:
			return nil
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%s stopped: %w", p.name, context.DeadlineExceeded)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%s stopped: %w", p.name, context.Canceled)
		}
		return exit
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s stopped: %w", p.name, ctx.Err())
	}
	return asTrap(p.name, err)
}

// checkWorkdir checks a working directory given to WithWorkdir: "" (none)
// or a clean absolute guest path.
func checkWorkdir(dir string) error {
	if dir == "" || (strings.HasPrefix(dir, "/") && path.Clean(dir) == dir && !strings.ContainsRune(dir, 0)) {
		return nil
	}
	return fmt.Errorf("working directory %q is not a clean absolute guest path (e.g. \"/app\")", dir)
}

// workdirExists checks that the working directory dir ("" for none) is a
// directory of the run's filesystem root.
func workdirExists(root expsys.FS, dir string) error {
	if dir == "" || dir == "/" {
		return nil
	}
	st, errno := root.Stat(dir)
	switch {
	case errno != 0:
		return workdirMissing(dir, "it does not exist in the run's filesystem")
	case !st.Mode.IsDir():
		return workdirMissing(dir, "it is not a directory in the run's filesystem")
	}
	return nil
}

func workdirMissing(dir, why string) error {
	return fmt.Errorf("%w: working directory %s: %s; mount a directory there (--mount HOST_DIR:%s, an [[assets]] entry or RunConfig.WithMount) or choose another (--workdir, [run] cwd)",
		ErrNoWorkdir, dir, why, dir)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var _ api.Closer = (*Program)(nil)
