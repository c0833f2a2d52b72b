package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wrun-dev/wrun/internal/atomicfile"
	"github.com/wrun-dev/wrun/internal/kv"
	"github.com/wrun-dev/wrun/preinit"
)

// preinitOptions are the flags of `wrun preinit`.
type preinitOptions struct {
	output       string
	initFunc     string
	keepInitFunc bool
	mounts       []string
	assets       []string
	env          []string
	allowRandom  bool
	inheritStdio bool
	maxSegments  int
	limits       initLimits
}

func newPreinitCmd(g *globalOptions) *cobra.Command {
	o := &preinitOptions{}
	cmd := &cobra.Command{
		Use:   "preinit IN.wasm -o OUT.wasm",
		Short: "Pre-initialize a WebAssembly module (what wizer does)",
		Long: `Pre-initialize a WebAssembly module: run its init export under wazero, then
write a copy whose data segments and globals hold the state the init left, so
no instance runs the init again.

The module's start function runs, then _initialize when exported, then the init
export (a function of type [] -> []). The output drops the start section and
the init export (and _initialize) unless --keep-init-func is given. The init
may call WASI preview 1 only, sees only the mounts and environment given, and
must close the files it opens. A warning is printed when it read random bytes
or a clock: those values are now the same in every instance.`,
		Example: `  wrun preinit app.wasm -o app.pre.wasm
  wrun preinit --mount ./config:/config:ro --init-func init app.wasm -o app.pre.wasm`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "write the pre-initialized module to this file (required)")
	f.StringVar(&o.initFunc, "init-func", preinit.DefaultInitFunc, "the export to call")
	f.BoolVar(&o.keepInitFunc, "keep-init-func", false, "keep the init export (and _initialize) in the output")
	f.StringArrayVar(&o.mounts, "mount", nil, "mount a host directory for the init: HOST:GUEST[:ro] (repeatable)")
	f.StringArrayVar(&o.assets, "asset", nil, "mount a host directory read-only for the init, with a private overlay: DIR:GUEST (repeatable)")
	f.StringArrayVar(&o.env, "env", nil, "set an environment variable for the init: K=V (repeatable)")
	f.BoolVar(&o.allowRandom, "allow-random", false, "do not warn when the init reads random bytes or a clock")
	f.BoolVar(&o.inheritStdio, "inherit-stdio", false, "show the init's stdout and stderr (on stderr)")
	f.IntVar(&o.maxSegments, "max-segments", preinit.DefaultMaxSegments, "at most this many data segments (runs of non-zero bytes with the smallest zero gaps between them are merged)")
	o.limits.addFlags(f)
	return cmd
}

func (o *preinitOptions) run(ctx context.Context, g *globalOptions, in string) error {
	if o.output == "" {
		return errors.New("--output (-o) is required: the file to write the pre-initialized module to")
	}
	if o.initFunc == "" {
		return errors.New("--init-func must not be empty")
	}
	opts := preinit.Options{
		InitFunc:     o.initFunc,
		KeepInitFunc: o.keepInitFunc,
		AllowRandom:  o.allowRandom,
		MaxSegments:  o.maxSegments,
	}
	if o.maxSegments < 1 {
		return fmt.Errorf("--max-segments %d: must be at least 1", o.maxSegments)
	}
	if err := o.limits.apply(&opts); err != nil {
		return err
	}
	for _, e := range o.env {
		if _, _, err := kv.Parse(e); err != nil {
			return fmt.Errorf("--env %q: %w", e, err)
		}
		opts.Env = append(opts.Env, e)
	}
	for _, spec := range o.mounts {
		m, err := parseMount(spec)
		if err != nil {
			return err
		}
		opts.Mounts = append(opts.Mounts, m)
	}
	for _, spec := range o.assets {
		m, err := parseAsset(spec)
		if err != nil {
			return err
		}
		opts.Mounts = append(opts.Mounts, m)
	}
	if o.inheritStdio {
		opts.Stdout, opts.Stderr = g.stderr, g.stderr
	}
	wasm, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	out, rep, err := preinit.Preinit(ctx, wasm, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := atomicfile.WriteBytes(o.output, 0o644, out); err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(g.stderr, "wrun: warning: %s: %s (pass --allow-random if that is intended)\n", in, w)
	}
	fmt.Fprintf(g.stdout, "%s -> %s: %s memory, %d data segments (%s), %d globals, %s -> %s, %s\n",
		in, o.output, humanize.IBytes(rep.MemoryBytes), rep.Segments, humanize.IBytes(uint64(rep.DataBytes)),
		rep.Globals, humanize.IBytes(uint64(rep.InputBytes)), humanize.IBytes(uint64(rep.OutputBytes)),
		rep.Duration.Round(1e6))
	return nil
}

// initLimits are the --timeout and --max-memory flags of the commands that
// pre-initialize ahead of a run (wrun build, wrun preinit): the same limits
// as a run's, applied to the init.
type initLimits struct {
	timeout   time.Duration
	maxMemory string
}

func (l *initLimits) addFlags(f *pflag.FlagSet) {
	f.DurationVar(&l.timeout, "timeout", 0, "stop the init after this long, e.g. 30s (0: no limit)")
	f.StringVar(&l.maxMemory, "max-memory", "", "cap the init's linear memory, e.g. 256MiB (default: the module's own maximum)")
}

// apply validates the flags and sets them on opts.
func (l *initLimits) apply(opts *preinit.Options) error {
	if l.timeout < 0 {
		return fmt.Errorf("--timeout %s: must not be negative", l.timeout)
	}
	n, err := parseMaxMemory(l.maxMemory)
	if err != nil {
		return err
	}
	opts.Timeout, opts.MaxMemoryBytes = l.timeout, n
	return nil
}

// parseMaxMemory parses a --max-memory value into bytes (at most 4 GiB,
// the most a 32-bit memory can hold); "" means no cap (0).
func parseMaxMemory(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n < 64<<10 {
		return 0, fmt.Errorf("--max-memory %q: want a size of at least 64KiB, like 256MiB", s)
	}
	return min(n, 4<<30), nil
}

// preinitLimits returns the limits of the pre-initialization a run may need
// first (a package with [preinit] but no snapshot): the run's own --timeout
// and --max-memory (runConfig reports a bad --max-memory).
func (o *runOptions) preinitLimits() (time.Duration, uint32) {
	n, _ := parseMaxMemory(o.maxMemory)
	return o.timeout, uint32(n / (64 << 10))
}
