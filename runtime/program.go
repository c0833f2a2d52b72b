package runtime

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// Program is a compiled module, ready to run any number of times, also
// concurrently.
type Program struct {
	name     string
	rt       *Runtime
	cm       wazero.CompiledModule
	minPages uint32
}

// Name is the name the program was compiled under.
func (p *Program) Name() string { return p.name }

// Imports lists the program's imported functions as "module.name".
func (p *Program) Imports() []string {
	var out []string
	for _, f := range p.cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		out = append(out, mod+"."+name)
	}
	return out
}

// Exports lists the program's exported function names, sorted.
func (p *Program) Exports() []string {
	var out []string
	for name := range p.cm.ExportedFunctions() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Close releases the compiled code held in memory (not the on-disk cache).
func (p *Program) Close(ctx context.Context) error { return p.cm.Close(ctx) }

// Run instantiates the program with cfg, calls its start function and waits
// for it to return. It returns nil when the guest exits with code 0, a
// *sys.ExitError for any other exit code, a *TrapError when it traps, and an
// error wrapping ctx.Err() when ctx ends the run.
func (p *Program) Run(ctx context.Context, cfg RunConfig) error {
	start := cfg.startFunc
	if start == "" {
		start = "_start"
	}
	if p.cm.ExportedFunctions()[start] == nil {
		return fmt.Errorf("%s has no %q export to run: it is a library (reactor) module, not a command", p.name, start)
	}
	if cfg.maxPages > 0 {
		if p.minPages > cfg.maxPages {
			return fmt.Errorf("%s needs %d pages of memory to start, over the limit of %d pages (%d KiB): raise the memory limit",
				p.name, p.minPages, cfg.maxPages, cfg.maxPages*64)
		}
	}
	// Every run grows its memory in place (internal/linearmem); 0 is no cap.
	// The memory stays mapped until the guest has returned, even when a
	// Close frees the module under it.
	alloc := cappedAllocator(cfg.maxPages)
	defer alloc.Hold()()
	ctx = experimental.WithMemoryAllocator(ctx, alloc)
	mounts := cfg.mounts
	if cfg.scratch > 0 && !slices.ContainsFunc(mounts, func(m vfs.Mount) bool { return m.Guest == "/tmp" }) {
		mounts = append(slices.Clip(mounts), vfs.Mount{Guest: "/tmp", FS: vfs.NewMemFS(cfg.scratch)})
	}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{path.Base(p.name)}, cfg.args...)...).
		WithStartFunctions(start).
		WithSysNanosleep()
	if len(mounts) > 0 {
		// Without mounts, no filesystem at all: even an empty one costs a
		// Go guest about a millisecond per start.
		fsc, err := cfg.limits().FSConfig(mounts)
		if err != nil {
			return err
		}
		mc = mc.WithFSConfig(fsc)
	}
	for _, k := range sortedKeys(cfg.env) {
		mc = mc.WithEnv(k, cfg.env[k])
	}
	if cfg.stdin != nil {
		mc = mc.WithStdin(cfg.stdin)
	}
	if cfg.stdout != nil {
		mc = mc.WithStdout(cfg.stdout)
	}
	if cfg.stderr != nil {
		mc = mc.WithStderr(cfg.stderr)
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

	mod, err := p.rt.wz.InstantiateModule(ctx, p.cm, mc)
	if mod != nil {
		mod.Close(context.WithoutCancel(ctx))
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var _ api.Closer = (*Program)(nil)
