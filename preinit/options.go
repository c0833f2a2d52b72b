package preinit

import (
	"fmt"
	"io"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wrun-dev/wrun/internal/kv"
	"github.com/wrun-dev/wrun/vfs"
)

// Defaults of Options.
const (
	DefaultInitFunc    = "wizer.initialize"
	DefaultMaxGap      = 32
	DefaultMaxSegments = 2048
	// DefaultMaxCachedBytes is the largest output Cached stores.
	DefaultMaxCachedBytes = 256 << 20
)

// Options configure Preinit. The zero value is the default.
type Options struct {
	// InitFunc is the export to call, of type [] -> []. Default
	// "wizer.initialize".
	InitFunc string
	// KeepInitFunc keeps the init export (and `_initialize`) in the output.
	KeepInitFunc bool
	// Mounts are the filesystems the init sees.
	Mounts []vfs.Mount
	// FSLimits bound what the init may hold open and write through Mounts
	// (open files; bytes written over read-only layers, shared by every
	// copy-on-write overlay among them), as a run's do. The zero value sets
	// no limit: a caller running an untrusted init sets the run's.
	FSLimits vfs.Limits
	// Env is the environment of the init, "KEY=value" entries in order.
	Env []string
	// Args are the arguments of the init, including the program name.
	Args []string
	// Stdout and Stderr receive the init's output; nil discards it.
	Stdout, Stderr io.Writer
	// AllowRandom silences the warning about random_get or clock calls.
	AllowRandom bool
	// MaxGap is the longest run of zero bytes merged into a segment instead
	// of starting a new one. Default 32; negative means 0.
	MaxGap int
	// MaxSegments caps the number of data segments. Default 2048.
	MaxSegments int
	// CompilationCache, when set, is the wazero compilation cache used to
	// compile the instrumented module, so pre-initializing the same input
	// again does not compile it again. Default: none.
	CompilationCache wazero.CompilationCache
	// Timeout, when positive, stops the init (its start function,
	// _initialize and the init export together) after this long; Preinit
	// then fails with an error wrapping context.DeadlineExceeded, as it does
	// when ctx ends. The init is stopped even while it computes without
	// calling the host. Default: no limit but ctx's.
	Timeout time.Duration
	// MaxMemoryBytes, when positive, caps the init's linear memory, rounded
	// down to whole 64 KiB pages: a module whose initial memory is larger is
	// refused, and memory.grow past the cap returns -1, as at the module's
	// own maximum. When the init fails after such a refusal, the error wraps
	// ErrMemoryLimit. Default: the module's own maximum (4 GiB without one).
	MaxMemoryBytes uint64
	// MaxCachedBytes is the largest output Cached stores in its directory:
	// a larger one is returned but not stored, with a warning in the
	// report. Default DefaultMaxCachedBytes (256 MiB); negative means no
	// limit. It does not change the output, so it is not part of CacheKey.
	MaxCachedBytes int64
}

func (o Options) withDefaults() (Options, error) {
	if o.InitFunc == "" {
		o.InitFunc = DefaultInitFunc
	}
	switch {
	case o.MaxGap == 0:
		o.MaxGap = DefaultMaxGap
	case o.MaxGap < 0:
		o.MaxGap = 0
	}
	if o.MaxSegments == 0 {
		o.MaxSegments = DefaultMaxSegments
	}
	if o.MaxCachedBytes == 0 {
		o.MaxCachedBytes = DefaultMaxCachedBytes
	}
	if o.MaxMemoryBytes > 0 && o.MaxMemoryBytes < pageSize {
		return o, fmt.Errorf("preinit: MaxMemoryBytes %d: must be 0 (no cap) or at least one 64 KiB page", o.MaxMemoryBytes)
	}
	if o.Timeout < 0 {
		return o, fmt.Errorf("preinit: Timeout %s: must not be negative", o.Timeout)
	}
	if o.MaxSegments < 1 {
		return o, fmt.Errorf("preinit: MaxSegments %d: must be at least 1", o.MaxSegments)
	}
	for _, e := range o.Env {
		if _, _, err := kv.Parse(e); err != nil {
			return o, fmt.Errorf("preinit: environment entry %q: %w", e, err)
		}
	}
	return o, nil
}

// Report describes a pre-initialization.
type Report struct {
	// InitFunc is the export that was called; CalledInitialize is true when
	// `_initialize` ran before it.
	InitFunc         string
	CalledInitialize bool
	// RandomCalls and ClockCalls count the init's calls to random_get and to
	// clock_time_get or clock_res_get.
	RandomCalls, ClockCalls int
	// Warnings are human-readable notes on what the snapshot baked in.
	Warnings []string
	// Globals is the number of mutable globals whose initializer was
	// rewritten.
	Globals int
	// MemoryBytes is the snapshotted memory size; DataBytes the bytes the
	// data segments hold; Segments their number.
	MemoryBytes uint64
	DataBytes   int
	Segments    int
	// InputBytes and OutputBytes are the module sizes.
	InputBytes, OutputBytes int
	// Duration is the wall time of Preinit.
	Duration time.Duration
	// Cached is true when Cached returned a previous result; only the sizes
	// are set then.
	Cached bool
}
