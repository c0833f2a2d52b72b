package warm

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler runs one request with the client's stdio and working directory
// and returns its exit code. ctx is cancelled when the client asks (its
// user pressed Ctrl-C) or goes away.
type Handler func(ctx context.Context, req Request, stdin, stdout, stderr, cwd *os.File) int

// Server serves runs on the socket in Dir, one at a time: a client that
// finds it busy runs in its own process.
type Server struct {
	Dir    string
	Build  string // BuildID of this process
	Handle Handler
	// Runtimes, when set, counts what the server keeps, for OpStatus.
	Runtimes func() int
	Log      *log.Logger

	exe     string // the executable this process runs
	exeID   string // its BuildID when the server started
	started time.Time
	served  atomic.Int64
	running atomic.Bool
	stop    context.CancelFunc
	env     []string // the environment the server started with
	// reexec replaces the process with a fresh server (restart); tests set
	// it to see that a restart was asked for.
	reexec func()
}

// PrepareDir makes dir, owned by the user and 0700, and refuses one that
// another user owns or that is not a directory.
func PrepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory: remove it", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to you (%d): remove it", dir, st.Uid, os.Getuid())
	}
	if fi.Mode().Perm() != 0o700 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// Serve listens on the socket and serves until ctx is done or a client
// asks it to stop. It fails at once when another server holds the
// directory's lock.
func (s *Server) Serve(ctx context.Context) error {
	if s.Log == nil {
		s.Log = log.New(os.Stderr, "", log.LstdFlags)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	s.exe, s.started, s.env = exe, time.Now(), os.Environ()
	if s.exeID, err = buildIDOf(exe); err != nil {
		return err
	}
	if err := PrepareDir(s.Dir); err != nil {
		return err
	}
	sock := SocketPath(s.Dir)
	if len(sock) > maxSocketPath {
		return fmt.Errorf("socket path %s is over %d bytes: set WRUN_HOME to a shorter path", sock, maxSocketPath)
	}
	lock, err := os.OpenFile(filepath.Join(s.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another wrun server holds %s: %w", s.Dir, err)
	}
	os.Remove(sock) // a socket left by a server that died
	l, err := listenUnix(sock)
	if err != nil {
		return err
	}
	defer os.Remove(sock)
	if err := os.Chmod(sock, 0o600); err != nil {
		l.Close()
		return err
	}
	ctx, s.stop = context.WithCancel(ctx)
	defer s.stop()
	context.AfterFunc(ctx, func() { l.Close() })
	s.Log.Printf("serving on %s (pid %d, build %s)", sock, os.Getpid(), s.Build)
	// The goroutine that accepts a connection serves it, and hands the
	// accepting on to a new goroutine first: the client's request is taken
	// without waking another thread for it (a wake-up is tens of
	// microseconds on a VM, in every warm start).
	var wg sync.WaitGroup
	stopped := make(chan error, 1)
	var acceptOne func()
	acceptOne = func() {
		for {
			c, err := accept(l)
			if err != nil {
				if ctx.Err() != nil {
					stopped <- nil
					return
				}
				if errors.Is(err, errClosed) {
					stopped <- err
					return
				}
				s.Log.Printf("accept: %v", err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			wg.Add(1)
			defer wg.Done()
			go acceptOne()
			s.serveConn(ctx, c)
			return
		}
	}
	go acceptOne()
	if err := <-stopped; err != nil {
		return err
	}
	// A run the stop cancelled gets stopGrace to end and tell its client
	// its exit code; a guest that cannot be stopped ends with the process.
	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(stopGrace):
		s.Log.Printf("a run did not end within %v of the stop", stopGrace)
	}
	s.Log.Printf("stopped")
	return nil
}

// stopGrace is how long a stopping server waits for the run it cancelled,
// as long as an interrupted wrun waits for its guest.
const stopGrace = 3 * time.Second

// serveConn answers one client.
func (s *Server) serveConn(ctx context.Context, c *os.File) {
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		s.Log.Printf("a client's connection takes no deadline: %v", err)
		return
	}
	refuse := func(reason, detail string) {
		writeFrame(c, HelloReply{Reason: reason, Detail: detail})
	}
	// The peer is checked before a byte of it is read.
	if _, err := checkPeer(c); err != nil {
		s.Log.Printf("refused a client: %v", err)
		refuse(ReasonPeer, "")
		return
	}
	var h Hello
	if _, err := readFrame(c, &h, 0, maxSmallFrame); err != nil {
		s.Log.Printf("handshake: %v", err)
		refuse(ReasonProto, "malformed hello")
		return
	}
	// Status and stop are answered whatever the client's version (their
	// Hello is the same in every version), so a wrun of any version can
	// stop a server of another.
	if h.Proto != Proto && h.Op != OpStatus && h.Op != OpStop {
		refuse(ReasonProto, fmt.Sprintf("server speaks version %d, client %d", Proto, h.Proto))
		return
	}
	switch h.Op {
	case OpStatus:
		st := &Status{PID: os.Getpid(), Build: s.Build, Started: s.started.Format(time.RFC3339), Served: s.served.Load()}
		if s.Runtimes != nil {
			st.Runtimes = s.Runtimes()
		}
		writeFrame(c, HelloReply{OK: true, Status: st})
		return
	case OpStop:
		s.Log.Printf("stop requested")
		writeFrame(c, HelloReply{OK: true})
		s.stop()
		return
	case OpRun:
	default:
		refuse(ReasonProto, fmt.Sprintf("unknown op %q", h.Op))
		return
	}
	if h.Build != s.Build {
		refuse(ReasonBuild, "the server runs another wrun build: restart it with `wrun server stop; wrun server start`")
		if id, err := buildIDOf(s.exe); err != nil || id != s.exeID {
			s.Log.Printf("the executable %s was replaced: stopping", s.exe)
			s.stop()
		}
		return
	}
	own := Limits()
	for name, v := range h.Limits {
		if mine, ok := own[name]; ok && v < mine {
			refuse(ReasonLimit, fmt.Sprintf("the client's %s limit (ulimit) is %d, the server's %d", name, v, mine))
			return
		}
	}
	if !s.running.CompareAndSwap(false, true) {
		refuse(ReasonBusy, "")
		return
	}
	free := sync.OnceFunc(func() { s.running.Store(false) })
	defer free()
	var req Request
	files, err := readFrame(c, &req, numFDs, maxFrame)
	if err != nil {
		s.Log.Printf("request: %v", err)
		refuse(ReasonProto, "malformed request")
		return
	}
	defer closeAll(files)
	if err := writeFrame(c, HelloReply{OK: true}); err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	s.served.Add(1)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// A Cancel frame, or the client going away, cancels the run.
		for {
			var ctl Control
			if _, err := readFrame(c, &ctl, 0, maxSmallFrame); err != nil || ctl.Cancel {
				cancel()
				return
			}
		}
	}()
	code, panicked := s.handle(runCtx, req, files)
	// An interrupted run may leave its guest executing: a guest compiled
	// without termination checks cannot be stopped. The in-process wrun
	// exits under it; the server starts afresh, unless it is stopping. A
	// run that panicked may have left the server's state half-changed.
	restart := (runCtx.Err() != nil || panicked) && ctx.Err() == nil
	// The client's stdio is closed before it learns the exit code: whoever
	// reads its output sees the end of it when the client exits.
	closeAll(files)
	if !restart {
		// Free before the client learns the exit code: its next run,
		// started at once, must not find the server busy.
		free()
	}
	writeFrame(c, Event{Exit: &code})
	if restart {
		s.restart()
	}
}

// handle calls Handle. A panic in it ends the run as it would end wrun in
// process: exit code 2, the panic and its stack on the client's stderr.
func (s *Server) handle(ctx context.Context, req Request, files []*os.File) (code int, panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			s.Log.Printf("a run panicked: %v", v)
			stack := make([]byte, 64<<10)
			stack = stack[:runtime.Stack(stack, false)]
			fmt.Fprintf(files[2], "panic: %v\n\n%s", v, stack)
			code, panicked = 2, true
		}
	}()
	return s.Handle(ctx, req, files[0], files[1], files[2], files[3]), false
}

// restart replaces the process with a fresh server, which ends any guest
// left running; a failure to do so stops the server.
func (s *Server) restart() {
	s.Log.Printf("a run was interrupted or panicked: restarting")
	if s.reexec != nil {
		s.reexec()
		return
	}
	os.Remove(SocketPath(s.Dir))
	err := syscall.Exec("/proc/self/exe", os.Args, s.env)
	s.Log.Printf("restarting: %v: stopping", err)
	os.Exit(1)
}
