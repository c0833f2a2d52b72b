package runtime

import (
	"io"
	"maps"
	"slices"

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
}

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

// WithStdin sets the guest's standard input.
func (c RunConfig) WithStdin(r io.Reader) RunConfig { c.stdin = r; return c }

// WithStdout sets the guest's standard output.
func (c RunConfig) WithStdout(w io.Writer) RunConfig { c.stdout = w; return c }

// WithStderr sets the guest's standard error.
func (c RunConfig) WithStderr(w io.Writer) RunConfig { c.stderr = w; return c }

// WithMount adds a filesystem at a guest path. Mounts may nest.
func (c RunConfig) WithMount(m vfs.Mount) RunConfig {
	c.mounts = append(slices.Clip(c.mounts), m)
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
// fails (ENOSPC, which WASI preview 1 reports as EIO). 0 means the default
// (DefaultScratchBytes for a package, none for a plain program); a negative
// size means no /tmp.
func (c RunConfig) WithScratch(bytes int64) RunConfig { c.scratch = bytes; return c }

// WithMaxOpenFiles caps the files and directories the guest has open at
// once through its filesystem, the pre-opened root included, as `ulimit -n`
// does for a process: an open past the cap fails (EMFILE, which WASI
// preview 1 under wazero reports as EIO) until the guest closes one. 0
// means DefaultMaxOpenFiles (1024); a negative count means no cap.
func (c RunConfig) WithMaxOpenFiles(n int) RunConfig { c.maxOpen = n; return c }

// WithOverlaySize caps the host memory that the run's copy-on-write
// overlays hold together: everything the guest writes over read-only
// assets (a package's assets, vfs.Asset mounts), counted as /tmp is (see
// WithScratch). A change past the cap fails (ENOSPC, reported as EIO). It
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
