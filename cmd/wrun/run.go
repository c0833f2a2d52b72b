package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun/runtime"
	"github.com/wrun-dev/wrun/vfs"
)

// runOptions are the flags of `wrun run`.
type runOptions struct {
	mounts     []string
	env        []string
	envInherit bool
	timeout    time.Duration
	maxMemory  string
	noCache    bool
}

func newRunCmd(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run TARGET [-- ARGS...]",
		Short: "Run a WebAssembly program",
		Long: `Run a WebAssembly program under wazero with WASI preview 1.

TARGET is a .wasm file. Arguments after TARGET (or after --) go to the
program. The host environment is not passed on unless --env-inherit is given.
wrun exits with the program's exit code.`,
		Example: `  wrun run hello.wasm -- --name world
  wrun run --mount ./data:/data --env LANG=C app.wasm`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			guestArgs := args[1:]
			if len(guestArgs) > 0 && guestArgs[0] == "--" {
				guestArgs = guestArgs[1:]
			}
			return o.run(cmd.Context(), g, args[0], guestArgs)
		},
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.StringArrayVar(&o.mounts, "mount", nil, "mount a host directory: HOST:GUEST[:ro] (read-write unless :ro; repeatable)")
	f.StringArrayVar(&o.env, "env", nil, "set a guest environment variable: K=V (repeatable)")
	f.BoolVar(&o.envInherit, "env-inherit", false, "pass the host environment to the guest (--env wins)")
	f.DurationVar(&o.timeout, "timeout", 0, "stop the program after this long, e.g. 5s (0: no limit)")
	f.StringVar(&o.maxMemory, "max-memory", "", "cap the program's linear memory, e.g. 256MiB (default: the module's own maximum)")
	f.BoolVar(&o.noCache, "no-cache", false, "compile in memory only: neither read nor write the compilation cache")
	return cmd
}

func (o *runOptions) run(ctx context.Context, g *globalOptions, target string, args []string) error {
	rc, err := o.runConfig(g)
	if err != nil {
		return err
	}
	rc = rc.WithArgs(args...)

	cfg := runtime.NewConfig()
	if o.noCache {
		cfg = cfg.WithInMemoryCache()
	}
	rt, err := runtime.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer rt.Close(context.WithoutCancel(ctx))

	prog, err := rt.CompileFile(ctx, target)
	if err != nil {
		return err
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	err = prog.Run(ctx, rc)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && o.timeout > 0:
		return fmt.Errorf("%s timed out after %s", target, o.timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s interrupted", target)
	}
	return err
}

// runConfig turns the flags into a RunConfig, validating each one.
func (o *runOptions) runConfig(g *globalOptions) (runtime.RunConfig, error) {
	rc := runtime.NewRunConfig().WithStdin(g.stdin).WithStdout(g.stdout).WithStderr(g.stderr)
	if o.timeout < 0 {
		return rc, fmt.Errorf("--timeout %s: must not be negative", o.timeout)
	}
	if o.envInherit {
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			rc = rc.WithEnv(k, v)
		}
	}
	for _, kv := range o.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return rc, fmt.Errorf("--env %q: want KEY=VALUE", kv)
		}
		rc = rc.WithEnv(k, v)
	}
	if o.maxMemory != "" {
		n, err := humanize.ParseBytes(o.maxMemory)
		if err != nil || n < 64<<10 {
			return rc, fmt.Errorf("--max-memory %q: want a size of at least 64KiB, like 256MiB", o.maxMemory)
		}
		rc = rc.WithMemoryLimitPages(uint32(min(n/(64<<10), 65536)))
	}
	for _, spec := range o.mounts {
		m, err := parseMount(spec)
		if err != nil {
			return rc, err
		}
		rc = rc.WithMount(m)
	}
	return rc, nil
}

// parseMount parses HOST:GUEST[:ro|:rw].
func parseMount(spec string) (vfs.Mount, error) {
	parts := strings.Split(spec, ":")
	readOnly := false
	if n := len(parts); n == 3 && (parts[2] == "ro" || parts[2] == "rw") {
		readOnly = parts[2] == "ro"
		parts = parts[:2]
	}
	if len(parts) != 2 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
		return vfs.Mount{}, fmt.Errorf("--mount %q: want HOST:GUEST[:ro], with GUEST an absolute path like /data", spec)
	}
	fs, err := vfs.Host(parts[0], readOnly)
	if err != nil {
		return vfs.Mount{}, fmt.Errorf("--mount %q: %w", spec, err)
	}
	return vfs.Mount{Guest: parts[1], FS: fs}, nil
}
