package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/starttrace"
	"github.com/wrun-dev/wrun/internal/warm"
	"github.com/wrun-dev/wrun/internal/warmstart"
	"github.com/wrun-dev/wrun/registryclient"
)

// `wrun server`: the per-user warm process. See internal/warm for the
// protocol and RATIONALE.md "Warm server" for why it exists.

func newServerCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server start|stop|status",
		Short: "Keep compiled programs warm in a background process",
		Long: `A wrun server is a background process, one per user and WRUN_HOME, that
keeps compiled programs and loaded packages in memory. While it runs,
"wrun run", "wrun REF" and "wrun test" hand their work to it through a Unix
socket in $WRUN_HOME/server (mode 0700; the server refuses any other user)
and start in milliseconds; the output, exit code, limits and sandbox are
those of the same command run in process. Without a server, or with one of
another wrun build, wrun runs in process. WRUN_TRACE=1 says which.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "start",
		Short: "Start the server in the background (its log: $WRUN_HOME/server/server.log)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serverStart(g)
		},
	}, &cobra.Command{
		Use:   "stop",
		Short: "Stop the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serverStop(g)
		},
	}, &cobra.Command{
		Use:   "status",
		Short: "Say whether a server runs, and what it keeps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serverStatus(g)
		},
	}, &cobra.Command{
		Use:    "serve",
		Short:  "Run the server in the foreground (what start runs)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveWarm(cmd.Context())
		},
	})
	return cmd
}

// serverDir is the server's directory for the WRUN_HOME of the environment.
func serverDir() (string, error) { return warmstart.Dir() }

// serverStart starts `wrun server serve` detached, its output in the log,
// and waits until it answers.
func serverStart(g *globalOptions) error {
	dir, err := serverDir()
	if err != nil {
		return err
	}
	build, err := warm.BuildID()
	if err != nil {
		return err
	}
	if c, reply, err := warm.Dial(dir, build, warm.OpStatus); err == nil {
		c.Close()
		fmt.Fprintf(g.stdout, "wrun server: already running (pid %d)\n", reply.Status.PID)
		return nil
	}
	if err := warm.PrepareDir(dir); err != nil {
		return fmt.Errorf("server directory: %w", err)
	}
	logf, err := os.OpenFile(warm.LogPath(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "server", "serve")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, reply, err := warm.Dial(dir, build, warm.OpStatus); err == nil {
			c.Close()
			fmt.Fprintf(g.stdout, "wrun server: started (pid %d), socket %s\n", reply.Status.PID, warm.SocketPath(dir))
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the server exited at start (%v): see %s", err, warm.LogPath(dir))
		case <-time.After(20 * time.Millisecond):
		}
	}
	cmd.Process.Kill()
	return fmt.Errorf("the server did not answer within 10s: see %s", warm.LogPath(dir))
}

// serverStop asks the server to stop and waits until its socket is gone.
func serverStop(g *globalOptions) error {
	dir, err := serverDir()
	if err != nil {
		return err
	}
	c, reply, err := warm.Dial(dir, "", warm.OpStatus)
	if refused, ok := errors.AsType[*warm.Refused](err); ok {
		// A server of an older protocol, which answers no status: it is
		// the user's own process (its peer credentials were checked), and
		// stops on SIGTERM as on `wrun server stop`.
		if err := syscall.Kill(refused.PID, syscall.SIGTERM); err != nil {
			return fmt.Errorf("stopping the server (pid %d), which refused to talk (%s %s): %w", refused.PID, refused.Reason, refused.Detail, err)
		}
		waitSocketGone(dir)
		fmt.Fprintf(g.stdout, "wrun server: stopped (pid %d, another version: sent SIGTERM)\n", refused.PID)
		return nil
	}
	if err != nil {
		fmt.Fprintln(g.stdout, "wrun server: not running")
		return nil
	}
	c.Close()
	if c, _, err = warm.Dial(dir, "", warm.OpStop); err != nil {
		return fmt.Errorf("stopping the server (pid %d): %w", reply.Status.PID, err)
	}
	c.Close()
	waitSocketGone(dir)
	fmt.Fprintf(g.stdout, "wrun server: stopped (pid %d)\n", reply.Status.PID)
	return nil
}

// waitSocketGone waits up to 5 s for a stopping server to remove its
// socket.
func waitSocketGone(dir string) {
	for range 500 {
		if _, err := os.Stat(warm.SocketPath(dir)); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serverStatus prints whether a server answers, and whether this wrun
// would use it.
func serverStatus(g *globalOptions) error {
	dir, err := serverDir()
	if err != nil {
		return err
	}
	c, reply, err := warm.Dial(dir, "", warm.OpStatus)
	if refused, ok := errors.AsType[*warm.Refused](err); ok {
		return fmt.Errorf("a wrun server (pid %d) answers on %s but refused: %s %s: restart it (wrun server stop; wrun server start)", refused.PID, warm.SocketPath(dir), refused.Reason, refused.Detail)
	}
	if err != nil {
		return fmt.Errorf("no wrun server answers on %s: start one with `wrun server start`", warm.SocketPath(dir))
	}
	c.Close()
	st := reply.Status
	build, _ := warm.BuildID()
	same := "yes"
	if st.Build != build {
		same = "no: it runs another wrun build, restart it (wrun server stop; wrun server start)"
	}
	fmt.Fprintf(g.stdout, "wrun server: running (pid %d) since %s\nsocket: %s\nruns served: %d\nruntimes kept: %d\nused by this wrun: %s\n",
		st.PID, st.Started, warm.SocketPath(dir), st.Served, st.Runtimes, same)
	return nil
}

// warmState is the server's side of the command line: the Runtimes it
// keeps, one per configuration, and the cache stamp that tells a pruned
// cache.
type warmState struct {
	mu       sync.Mutex
	runtimes map[string]*keptRuntime
	stamp    string
	progress forwardProgress
}

type keptRuntime struct {
	rt       *wrun.Runtime
	created  time.Time
	used     time.Time
	programs map[string]*keptProgram // by the .wasm file's absolute path
}

// keptProgram is a .wasm file compiled by a kept Runtime, with the bytes
// it was compiled from: it is used again only for the very same bytes.
type keptProgram struct {
	prog *wrun.Program
	wasm []byte
	used time.Time
}

// maxPrograms bounds the .wasm programs a kept Runtime keeps.
const maxPrograms = 4

// serving is the server's state while this process is a warm server; nil
// in an ordinary wrun.
var serving *warmState

// Bounds of what the server keeps. A Runtime's registry client remembers
// the tag lists it fetched, so a kept Runtime would not see a version
// published after it was made: it is replaced after maxRuntimeAge.
const (
	maxRuntimes   = 4
	maxRuntimeAge = 2 * time.Minute
)

// serveWarm runs the server in the foreground until stopped.
func serveWarm(ctx context.Context) error {
	dir, err := serverDir()
	if err != nil {
		return err
	}
	build, err := warm.BuildID()
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	serving = &warmState{runtimes: map[string]*keptRuntime{}}
	defer serving.closeAll()
	s := &warm.Server{
		Dir:    dir,
		Build:  build,
		Handle: serving.handle,
		Runtimes: func() int {
			serving.mu.Lock()
			defer serving.mu.Unlock()
			return len(serving.runtimes)
		},
		Log: log.New(os.Stderr, fmt.Sprintf("wrun server[%d]: ", os.Getpid()), log.LstdFlags),
	}
	return s.Serve(ctx)
}

// signalContext is ctx cancelled by SIGTERM or SIGINT.
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
}

// handle runs one request: the client's environment and working directory
// become the process's for its duration (the server runs one request at a
// time), so that the command reads exactly what it would in process.
func (w *warmState) handle(ctx context.Context, req warm.Request, stdin, stdout, stderr, cwd *os.File) int {
	saved := os.Environ()
	own, err := os.Open(".")
	if err != nil {
		fmt.Fprintf(stderr, "wrun: server: %v\n", err)
		return 1
	}
	defer own.Close()
	if err := syscall.Fchdir(int(cwd.Fd())); err != nil {
		fmt.Fprintf(stderr, "wrun: server: entering the working directory: %v\n", err)
		return 1
	}
	setEnviron(req.Env)
	umask := syscall.Umask(req.Umask & 0o777)
	defer func() {
		setEnviron(saved)
		syscall.Fchdir(int(own.Fd()))
		syscall.Umask(umask)
	}()

	var t *tracer
	if starttrace.Enabled() {
		ctx, t = withTracer(ctx)
	}
	if why := w.refresh(); why != "" {
		traceNote(ctx, "warm server: runtimes dropped (%s)", why)
	}
	traceMark(ctx, "warm server: request taken")
	w.progress.set(stderr)
	defer w.progress.set(nil)
	code := execute(ctx, req.Args, stdin, stdout, stderr)
	t.print(stderr, "served by the warm server, total")
	w.mu.Lock()
	w.stamp = cacheStamp()
	w.mu.Unlock()
	return code
}

// setEnviron makes env the process's environment.
func setEnviron(env []string) {
	os.Clearenv()
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && k != "" {
			os.Setenv(k, v)
		}
	}
}

// cacheStamp identifies the cache directories `wrun cache prune` removes:
// a prune, or anything else that replaces them, changes it.
func cacheStamp() string {
	dirs, err := home.Locate()
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, d := range []string{filepath.Join(dirs.Cache, "packages"), dirs.Blobs(), dirs.Snapshots()} {
		fi, err := os.Stat(d)
		if err != nil {
			b.WriteString("-;")
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			fmt.Fprintf(&b, "%d:%d;", st.Dev, st.Ino)
		}
	}
	return b.String()
}

// refresh drops every kept Runtime when the cache changed under them since
// the last request (a prune: nothing they loaded may be used again), and
// the ones past maxRuntimeAge; it says why when it dropped any.
func (w *warmState) refresh() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := cacheStamp()
	var why string
	if w.stamp != "" && now != w.stamp {
		why = "the cache changed since the last run: pruned?"
		w.closeLocked(func(*keptRuntime) bool { return true })
	}
	if w.closeLocked(func(k *keptRuntime) bool { return time.Since(k.created) > maxRuntimeAge }) && why == "" {
		why = "older than " + maxRuntimeAge.String()
	}
	w.stamp = now
	return why
}

// closeLocked closes the kept Runtimes drop selects and reports whether
// there were any.
func (w *warmState) closeLocked(drop func(*keptRuntime) bool) bool {
	any := false
	for key, k := range w.runtimes {
		if drop(k) {
			k.rt.Close(context.Background())
			delete(w.runtimes, key)
			any = true
		}
	}
	return any
}

func (w *warmState) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked(func(*keptRuntime) bool { return true })
}

// openRuntime returns the Runtime a command runs with, and the function to
// call when done with it. In an ordinary wrun that is a new Runtime, closed
// when done; in the server, the Runtime kept for the configuration, made on
// first use with cfg, whose load cache keeps the programs it compiled and
// the layers it indexed across requests.
//
// run.go calls it in place of wrun.New (see the report of issue 17).
func openRuntime(ctx context.Context, g *globalOptions, o *runOptions, cfg wrun.Config) (*wrun.Runtime, func(), error) {
	if serving == nil {
		rt, err := wrun.New(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		traceMark(ctx, "runtime", "new")
		return rt, func() { rt.Close(context.WithoutCancel(ctx)) }, nil
	}
	return serving.runtime(ctx, runtimeKey(g, o), g, cfg)
}

func (w *warmState) runtime(ctx context.Context, key string, g *globalOptions, cfg wrun.Config) (*wrun.Runtime, func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if k := w.runtimes[key]; k != nil {
		k.used = time.Now()
		traceMark(ctx, "runtime", "kept by the warm server")
		return k.rt, func() {}, nil
	}
	// Progress goes to the stderr of the request at hand, not to the one
	// that made the Runtime.
	opts := g.registryOptions()
	if opts.Progress != nil {
		opts.Progress = &w.progress
	}
	rt, err := wrun.New(context.WithoutCancel(ctx), cfg.WithRegistry(opts))
	if err != nil {
		return nil, nil, err
	}
	if len(w.runtimes) >= maxRuntimes {
		keys := slices.SortedFunc(func(yield func(string) bool) {
			for k := range w.runtimes {
				if !yield(k) {
					return
				}
			}
		}, func(a, b string) int { return w.runtimes[a].used.Compare(w.runtimes[b].used) })
		w.runtimes[keys[0]].rt.Close(context.Background())
		delete(w.runtimes, keys[0])
	}
	now := time.Now()
	w.runtimes[key] = &keptRuntime{rt: rt, created: now, used: now, programs: map[string]*keptProgram{}}
	traceMark(ctx, "runtime", "new, kept by the warm server")
	return rt, func() {}, nil
}

// compileProgram compiles the .wasm file target with rt, and returns the
// function to call when done with the program. In the server, a kept
// Runtime keeps the program, and uses it again for a file with the same
// bytes (it reads the file on every run: a read is cheap next to a
// compile, and nothing but the bytes decides).
//
// run.go calls it in place of rt.CompileFile (see the report of issue 17).
func compileProgram(ctx context.Context, rt *wrun.Runtime, target string) (*wrun.Program, func(), error) {
	done := func(p *wrun.Program) func() {
		return func() { p.Close(context.WithoutCancel(ctx)) }
	}
	if serving == nil {
		prog, err := rt.CompileFile(ctx, target)
		if err != nil {
			return nil, nil, err
		}
		return prog, done(prog), nil
	}
	wasm, err := os.ReadFile(target)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", target, err)
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return nil, nil, err
	}
	w := serving
	w.mu.Lock()
	var kept *keptRuntime
	for _, k := range w.runtimes {
		if k.rt == rt {
			kept = k
		}
	}
	if kept != nil {
		if p := kept.programs[abs]; p != nil && bytes.Equal(p.wasm, wasm) {
			p.used = time.Now()
			w.mu.Unlock()
			traceNote(ctx, "program kept by the warm server (same bytes)")
			return p.prog, func() {}, nil
		}
	}
	w.mu.Unlock()
	prog, err := rt.Compile(ctx, target, wasm)
	if err != nil || kept == nil {
		if err != nil {
			return nil, nil, err
		}
		return prog, done(prog), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if old := kept.programs[abs]; old != nil {
		old.prog.Close(context.Background())
		delete(kept.programs, abs)
	}
	if len(kept.programs) >= maxPrograms {
		var oldest string
		for k, p := range kept.programs {
			if oldest == "" || p.used.Before(kept.programs[oldest].used) {
				oldest = k
			}
		}
		kept.programs[oldest].prog.Close(context.Background())
		delete(kept.programs, oldest)
	}
	kept.programs[abs] = &keptProgram{prog: prog, wasm: wasm, used: time.Now()}
	return prog, func() {}, nil
}

// runtimeKey is the configuration a Runtime is made with, from the flags
// and the environment the command reads: requests with the same key share
// a Runtime.
func runtimeKey(g *globalOptions, o *runOptions) string {
	dirs, _ := home.Locate()
	timeout, pages := o.preinitLimits()
	env := func(k string) string { return k + "=" + os.Getenv(k) }
	return fmt.Sprintf("%q", []any{
		dirs, g.registry, env("WRUN_REGISTRY"), g.config, g.offline, g.refresh, g.timeouts,
		o.noCache, o.timeout > 0, timeout, pages, isTerminal(g.stderr),
		env("HOME"), env("DOCKER_CONFIG"), env("XDG_CONFIG_HOME"), env("XDG_RUNTIME_DIR"),
		env("SSL_CERT_FILE"), env("SSL_CERT_DIR"), env("HTTPS_PROXY"), env("HTTP_PROXY"), env("NO_PROXY"),
		env("https_proxy"), env("http_proxy"), env("no_proxy"),
	})
}

// forwardProgress is the Progress of a kept Runtime: it draws on the
// terminal of the request at hand, if that is a terminal.
type forwardProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *forwardProgress) set(w io.Writer) {
	p.mu.Lock()
	p.w = w
	p.mu.Unlock()
}

// Start implements registryclient.Progress.
func (p *forwardProgress) Start(what string) registryclient.Transfer {
	p.mu.Lock()
	w := p.w
	p.mu.Unlock()
	if w != nil {
		if tp := newTermProgress(w); tp != nil {
			return tp.Start(what)
		}
	}
	return noTransfer{}
}

type noTransfer struct{}

func (noTransfer) SetTotal(int64) {}
func (noTransfer) Add(int64)      {}
func (noTransfer) Done()          {}
