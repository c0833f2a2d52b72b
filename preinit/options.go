package preinit

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wrun-dev/wrun/vfs"
)

// Defaults of Options.
const (
	DefaultInitFunc    = "wizer.initialize"
	DefaultMaxGap      = 32
	DefaultMaxSegments = 2048
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
	if o.MaxSegments < 1 {
		return o, fmt.Errorf("preinit: MaxSegments %d: must be at least 1", o.MaxSegments)
	}
	for _, kv := range o.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return o, fmt.Errorf("preinit: environment entry %q: want KEY=value", kv)
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
