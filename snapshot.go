package wrun

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/preinit"
	"github.com/wrun-dev/wrun/vfs"
)

// PreinitPackage pre-initializes a package directory's wasm as its
// [preinit] table says: the init export it names runs with the package's
// [[assets]] mounted (each behind a private overlay; only the guest paths
// [preinit] mounts lists, when it lists any) and its [run] env. It returns
// the snapshot that replaces the package's [run] wasm: wrun build ships it,
// so the bundle runs without initializing again.
//
// It runs on r: its compilation cache, and its pre-initialization limits
// (Config.WithPreinitLimits) where opts sets none.
func (r *Runtime) PreinitPackage(ctx context.Context, p *bundle.Package, opts preinit.Options) ([]byte, *preinit.Report, error) {
	release, err := r.acquire()
	if err != nil {
		return nil, nil, err
	}
	defer release()
	if opts.CompilationCache == nil {
		opts.CompilationCache = r.cache
	}
	if opts.Timeout == 0 {
		opts.Timeout = r.cfg.preinitTimeout
	}
	if opts.MaxMemoryBytes == 0 {
		opts.MaxMemoryBytes = uint64(r.cfg.preinitMaxPages) * pageSize
	}
	if opts.FSLimits == (vfs.Limits{}) {
		opts.FSLimits = NewRunConfig().limits()
	}
	m := p.Manifest
	if m.Preinit == nil {
		return nil, nil, fmt.Errorf("%s has no [preinit] table", m.Package.Name)
	}
	if m.Run.Wasm == "" {
		return nil, nil, fmt.Errorf("%s: [preinit] needs the package's own [run] wasm to pre-initialize", m.Package.Name)
	}
	_, ok := p.Dir()
	if !ok {
		return nil, nil, fmt.Errorf("%s: pre-initialize a package directory, not a bundle", m.Package.Name)
	}
	wasm, err := p.ReadFile(m.Run.Wasm)
	if err != nil {
		return nil, nil, err
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, a := range m.Assets {
		if len(m.Preinit.Mounts) > 0 && !slices.Contains(m.Preinit.Mounts, a.To) {
			continue
		}
		l, err := packageDirLayer(p, a.From)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: assets %q: %w", m.Package.Name, a.From, err)
		}
		if c, ok := l.(io.Closer); ok {
			closers = append(closers, c)
		}
		opts.Mounts = append(opts.Mounts, vfs.Mount{Guest: path.Clean(a.To), FS: vfs.NewCopyOnWriteFS(l)})
	}
	if opts.InitFunc == "" {
		opts.InitFunc = m.Preinit.Init
	}
	opts.Env = append(opts.Env, envList(m.Run.Env)...)
	return preinit.Preinit(ctx, wasm, opts)
}
