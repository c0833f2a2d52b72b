package wrun

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	expsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// RunConfig configures one run of a Program. It is immutable: every With
// method returns a copy, so one RunConfig can be shared by concurrent runs.
// The zero value is the default described in the package documentation.
type RunConfig struct {
	args      []string
	env       map[string]string
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	mounts    []vfs.Mount
	maxPages  uint32
	walltime  sys.Walltime
	nanotime  sys.Nanotime
	randSrc   io.Reader
	startFunc string
	scratch   int64
	maxOpen   int
	overlay   int64
	cancel    cancelMode
	workdir   string
}

// cancelMode is a run's choice of RunConfig.WithCancellation.
type cancelMode int8

const (
	cancelDefault cancelMode = iota // the Runtime's Config.WithCloseOnContextDone
	cancelOn
	cancelOff
)

// DefaultScratchBytes caps the in-memory /tmp a package's run gets unless
// WithScratch says otherwise or a mount takes /tmp. A plain program
// (Program.Run) gets no /tmp unless WithScratch asks for one, as under
// wazero's own CLI.
const DefaultScratchBytes = 64 << 20

// DefaultMaxOpenFiles caps the files a run has open at once unless
// WithMaxOpenFiles says otherwise: a Linux shell's soft RLIMIT_NOFILE.
const DefaultMaxOpenFiles = 1024

// DefaultOverlayBytes caps the host memory a run's copy-on-write overlays
// hold together unless WithOverlaySize says otherwise.
const DefaultOverlayBytes = 64 << 20

// NewRunConfig returns the default RunConfig.
func NewRunConfig() RunConfig { return RunConfig{} }

// WithWorkdir sets the guest's working directory, a clean absolute guest
// path, conveyed as the PWD environment variable (over any PWD the
// environment has): Go's wasip1 runtime starts in $PWD, and wrun's Python
// runtime changes to it at start-up. A wasi-libc C program starts in "/"
// whatever PWD says (WASI preview 1 has no working directory). The run
// fails before the guest starts, with an error wrapping ErrNoWorkdir, when
// dir is not a directory of the run's filesystem. "" (the default) sets
// none: for a package, its [run] cwd (or [test] cwd, for Package.Test);
// without any, PWD is left as the environment has it, and a Go guest
// starts in its first preopened directory. For a package, dir wins over
// the manifest's [run] cwd and [test] cwd.
func (c RunConfig) WithWorkdir(dir string) RunConfig { c.workdir = dir; return c }

// ErrNoWorkdir is wrapped by a run whose working directory (WithWorkdir,
// [run] cwd) is not a directory of the run's filesystem.
var ErrNoWorkdir = errors.New("no such working directory")

// WithArgs sets the guest's arguments after argv[0], the program name.
func (c RunConfig) WithArgs(args ...string) RunConfig {
	c.args = slices.Clone(args)
	return c
}

// WithEnv adds one environment variable; a later value for the same key wins.
func (c RunConfig) WithEnv(key, value string) RunConfig {
	env := maps.Clone(c.env)
	if env == nil {
		env = map[string]string{}
	}
	env[key] = value
	c.env = env
	return c
}

// WithStdin sets the guest's standard input. A cancellable run that is
// cancelled while its guest waits reading r returns at once, but the read
// already under way finishes in the background: it may take one more chunk
// (up to 64 KiB) of r after Run has returned, and discards it. Give a run a
// reader of its own (an HTTP request's body) rather than one shared with
// later work.
func (c RunConfig) WithStdin(r io.Reader) RunConfig { c.stdin = r; return c }

// WithStdout sets the guest's standard output.
func (c RunConfig) WithStdout(w io.Writer) RunConfig { c.stdout = w; return c }

// WithStderr sets the guest's standard error.
func (c RunConfig) WithStderr(w io.Writer) RunConfig { c.stderr = w; return c }

// WithMount adds a filesystem at a guest path. Mounts may nest.
//
// The layer m.FS is shared by every run of this RunConfig (and by runs of
// every RunConfig copied from it), concurrent ones included: give it
// read-only layers (vfs.NewDirLayer, NewMapLayer, NewTarLayer, NewUnion) or
// a host directory (vfs.Host), whose changes are the host's by design. A
// writable in-memory layer (vfs.NewMemFS, vfs.NewCopyOnWriteFS, vfs.Asset)
// given here would carry one run's files into the next: for those use
// WithScratch, WithOverlay or WithMountFunc, which make the layer afresh
// for every run. A layer that has a method NewRun() sys.FS (see
// PerRunLayer) is replaced, for each run, by what that method returns.
func (c RunConfig) WithMount(m vfs.Mount) RunConfig {
	c.mounts = append(slices.Clip(c.mounts), m)
	return c
}

// WithOverlay mounts base at guest behind a copy-on-write overlay made
// afresh for every run (vfs.NewCopyOnWriteFS): the guest may write
// anywhere under guest, its changes live in memory for that run only,
// counted against WithOverlaySize, and base never changes. base is shared
// by every run: give a read-only layer, e.g. vfs.NewDirLayer(dir) built
// once.
func (c RunConfig) WithOverlay(guest string, base expsys.FS) RunConfig {
	return c.WithMountFunc(guest, func() (expsys.FS, error) { return vfs.NewCopyOnWriteFS(base), nil })
}

// WithMountFunc mounts at guest a filesystem that newFS makes afresh for
// every run, before the guest starts; an error from newFS fails the run.
// Use it for any layer that holds state a run must not share, e.g.
// func() (sys.FS, error) { return vfs.NewMemFS(16 << 20), nil }. newFS may be
// called concurrently.
func (c RunConfig) WithMountFunc(guest string, newFS func() (expsys.FS, error)) RunConfig {
	return c.WithMount(vfs.Mount{Guest: guest, FS: &perRunFS{newFS: newFS}})
}

// PerRunLayer is a layer that holds per-run state and knows how to make
// itself afresh: given to WithMount, every run mounts the result of NewRun
// instead of the layer itself, so no run sees what another wrote. NewRun
// may be called concurrently.
type PerRunLayer interface {
	expsys.FS
	NewRun() expsys.FS
}

// perRunFS stands, in RunConfig's mounts, for a filesystem made afresh for
// every run (WithMountFunc); runMounts replaces it. It never serves a guest.
type perRunFS struct {
	expsys.UnimplementedFS
	newFS func() (expsys.FS, error)
}

// runMounts returns the mounts of one run: WithMountFunc's layers made
// afresh, and a fresh in-memory /tmp unless WithScratch says none or a
// mount takes /tmp.
func (c RunConfig) runMounts() ([]vfs.Mount, error) {
	mounts := slices.Clone(c.mounts)
	for i, m := range mounts {
		switch fs := m.FS.(type) {
		case *perRunFS:
			l, err := fs.newFS()
			if err != nil {
				return nil, fmt.Errorf("mount %s: %w", m.Guest, err)
			}
			if l == nil {
				return nil, fmt.Errorf("mount %s: the mount function returned no filesystem", m.Guest)
			}
			mounts[i].FS = l
		case PerRunLayer:
			mounts[i].FS = fs.NewRun()
		}
	}
	if c.scratch > 0 && !slices.ContainsFunc(mounts, func(m vfs.Mount) bool { return m.Guest == "/tmp" }) {
		mounts = append(mounts, vfs.Mount{Guest: "/tmp", FS: vfs.NewMemFS(c.scratch)})
	}
	return mounts, nil
}

// WithCancellation chooses whether the guest can be stopped while it
// computes. The default is the Runtime's Config.WithCloseOnContextDone,
// on unless turned off.
//
// On: the run ends within milliseconds of ctx being done (deadline or
// cancellation) or of a Close of its Program or Runtime, and the Go
// garbage collector never waits on the guest. wazero compiles a check into
// every function entry and loop header for this, which costs guest CPU
// (measured in the README).
//
// Off: the guest runs at full speed but notices ctx only when it returns,
// a Close cannot stop it (the run still reports ErrClosed when it returns),
// and every garbage collection of the process waits until the guest calls
// the host or returns: a guest that loops freezes the process. Only for
// trusted, bounded batch work.
//
// A Program compiles the variant a run asks for on first use, once; both
// variants share the compilation cache.
func (c RunConfig) WithCancellation(on bool) RunConfig {
	c.cancel = cancelOff
	if on {
		c.cancel = cancelOn
	}
	return c
}

// WithMemoryLimitPages caps the guest's linear memory at pages of 64 KiB:
// memory.grow beyond it fails as if the module's maximum were reached, and a
// module whose initial memory exceeds it does not start. 0 means no cap.
func (c RunConfig) WithMemoryLimitPages(pages uint32) RunConfig { c.maxPages = pages; return c }

// WithWalltime sets the clock behind clock_time_get(REALTIME).
func (c RunConfig) WithWalltime(fn sys.Walltime) RunConfig { c.walltime = fn; return c }

// WithNanotime sets the clock behind clock_time_get(MONOTONIC).
func (c RunConfig) WithNanotime(fn sys.Nanotime) RunConfig { c.nanotime = fn; return c }

// WithRandSource sets the source behind random_get.
func (c RunConfig) WithRandSource(r io.Reader) RunConfig { c.randSrc = r; return c }

// WithStartFunction sets the export a run calls; "" means "_start".
func (c RunConfig) WithStartFunction(name string) RunConfig { c.startFunc = name; return c }

// WithScratch sets the size cap of the run's in-memory /tmp, a fresh empty
// filesystem per run. It counts the host memory the guest makes /tmp
// hold: file bytes (of files unlinked while open too, until their last
// close) plus 256 bytes per file, directory or link and 64 bytes and the
// name per directory entry, as vfs.NewMemFS does. A change past the cap
// fails with ENOSPC. 0 means the default
// (DefaultScratchBytes for a package, none for a plain program); a negative
// size means no /tmp.
func (c RunConfig) WithScratch(bytes int64) RunConfig { c.scratch = bytes; return c }

// WithMaxOpenFiles caps the files and directories the guest has open at
// once through its filesystem, the preopened directories included, as
// `ulimit -n` does for a process: an open past the cap fails with EMFILE
// until the guest closes one. 0
// means DefaultMaxOpenFiles (1024); a negative count means no cap.
func (c RunConfig) WithMaxOpenFiles(n int) RunConfig { c.maxOpen = n; return c }

// WithOverlaySize caps the host memory that the run's copy-on-write
// overlays hold together: everything the guest writes over read-only
// assets (a package's assets, vfs.Asset mounts), counted as /tmp is (see
// WithScratch). A change past the cap fails with ENOSPC. It
// is a budget of its own, next to /tmp's: a run holds at most both. 0
// means DefaultOverlayBytes (64 MiB); a negative size means no cap.
func (c RunConfig) WithOverlaySize(bytes int64) RunConfig { c.overlay = bytes; return c }

// limits returns the filesystem limits of a run.
func (c RunConfig) limits() vfs.Limits {
	pick := func(v, def int64) int64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0 // no cap
		}
		return v
	}
	return vfs.Limits{
		MaxOpenFiles: int(pick(int64(c.maxOpen), DefaultMaxOpenFiles)),
		OverlayBytes: pick(c.overlay, DefaultOverlayBytes),
	}
}
