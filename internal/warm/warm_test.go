package warm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serve starts a Server with handle in a fresh directory and returns the
// count of the restarts it asked for (it does not replace the test
// process) and its directory.
func serve(t *testing.T, handle Handler) (*atomic.Int32, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "server")
	restarts := new(atomic.Int32)
	s := &Server{Dir: dir, Build: "build-1", Handle: handle, Log: log.New(io.Discard, "", 0),
		reexec: func() { restarts.Add(1) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for i := 0; ; i++ {
		if c, _, err := Dial(dir, "", OpStatus); err == nil {
			c.Close()
			return restarts, dir
		}
		if i == 500 {
			t.Fatal("the server does not answer")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stdio returns pipes standing for a client's stdin, stdout and stderr and
// the ends the test keeps.
func stdio(t *testing.T, input string) (files [3]*os.File, stdout, stderr *os.File) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { io.WriteString(inW, input); inW.Close() }()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	t.Cleanup(func() {
		for _, f := range []*os.File{inR, outR, outW, errR, errW} {
			f.Close()
		}
	})
	return [3]*os.File{inR, outW, errW}, outR, errR
}

// The request reaches the handler with the client's descriptors: what it
// reads and writes is the client's, its working directory the client's,
// and the exit code comes back.
func TestRunPassesDescriptors(t *testing.T) {
	_, dir := serve(t, func(ctx context.Context, req Request, stdin, stdout, stderr, cwd *os.File) int {
		in, _ := io.ReadAll(stdin)
		names, _ := cwd.Readdirnames(-1)
		fmt.Fprintf(stdout, "%s|%q|%q", in, req.Args, names)
		fmt.Fprint(stderr, "err")
		return 7
	})
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "marker"), nil, 0o644)
	cwd, err := os.Open(work)
	if err != nil {
		t.Fatal(err)
	}
	defer cwd.Close()
	files, stdout, stderr := stdio(t, "input")
	code, err := Run(dir, "build-1", Request{Args: []string{"run", "x"}}, files, cwd, nil)
	if err != nil || code != 7 {
		t.Fatalf("Run: %d, %v", code, err)
	}
	files[1].Close()
	files[2].Close()
	out, _ := io.ReadAll(stdout)
	errOut, _ := io.ReadAll(stderr)
	if string(out) != `input|["run" "x"]|["marker"]` || string(errOut) != "err" {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
}

// Another build, and a second run while one runs, are refused before
// anything is sent: the client falls back.
func TestRunRefusals(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	_, dir := serve(t, func(ctx context.Context, req Request, stdin, stdout, stderr, cwd *os.File) int {
		close(started)
		<-release
		return 0
	})
	cwd, _ := os.Open(".")
	defer cwd.Close()
	files, _, _ := stdio(t, "")
	if _, err := Run(dir, "build-2", Request{}, files, cwd, nil); !errors.Is(err, ErrFallback) || !strings.Contains(err.Error(), ReasonBuild) {
		t.Errorf("another build: %v", err)
	}
	// The Request goes out with the Hello, unasked; a server refusing the
	// Hello closes without reading it. A Request larger than the socket's
	// buffer makes the client's write fail (EPIPE), and the refusal is
	// still what it reports, with the server's pid.
	big := Request{Env: []string{"BIG=" + strings.Repeat("x", 3<<20)}}
	_, err := Run(dir, "build-2", big, files, cwd, nil)
	if refused, ok := errors.AsType[*Refused](err); !ok || refused.Reason != ReasonBuild || refused.PID != os.Getpid() {
		t.Errorf("another build, with a large request: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(dir, "build-1", Request{}, files, cwd, nil)
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the first run: %v", err)
	}
	if _, err := Run(dir, "build-1", Request{}, files, cwd, nil); !errors.Is(err, ErrFallback) || !strings.Contains(err.Error(), ReasonBusy) {
		t.Errorf("while busy: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the first run: %v", err)
	}
	if _, err := Run(filepath.Join(t.TempDir(), "none"), "build-1", Request{}, files, cwd, nil); !errors.Is(err, ErrFallback) {
		t.Errorf("no server: %v", err)
	}
}

// The directory is made 0700, and one of another mode is made so.
func TestPrepareDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", fi.Mode().Perm())
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(dir, link)
	if err := PrepareDir(link); err == nil {
		t.Errorf("a symlink was accepted as the server directory")
	}
}

// pair returns the two ends of a connected Unix stream socket, as the
// protocol uses them: non-blocking descriptors in pollable files.
func pair(t *testing.T) (a, b *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *os.File {
		f := os.NewFile(uintptr(fd), "socket")
		t.Cleanup(func() { f.Close() })
		if err := f.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err) // not pollable: the protocol's deadlines would not hold
		}
		return f
	}
	return conn(fds[0]), conn(fds[1])
}

// A frame with more descriptors than wanted is refused, even when the
// kernel dropped the ones that did not fit; a length prefix over a frame's
// limit is refused before its bytes arrive.
func TestReadFrameHostile(t *testing.T) {
	a, b := pair(t)
	f, err := os.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := writeFrame(a, Request{}, fd, fd, fd, fd, fd); err != nil {
		t.Fatal(err)
	}
	if files, err := readFrame(b, &Request{}, numFDs, maxFrame); err == nil {
		closeAll(files)
		t.Errorf("a request with %d descriptors was accepted", numFDs+1)
	}

	a, b = pair(t)
	// A hello claiming 1 MiB, of which nothing follows.
	if _, err := a.Write([]byte{0, 0x10, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(b, &Hello{}, 0, maxSmallFrame); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("a 1 MiB hello: %v, want the limit refused at once", err)
	}
}

// An environment larger than the socket's buffer still reaches the server.
func TestRunLargeEnvironment(t *testing.T) {
	_, dir := serve(t, func(ctx context.Context, req Request, stdin, stdout, stderr, cwd *os.File) int {
		return len(req.Env[0])
	})
	cwd, _ := os.Open(".")
	defer cwd.Close()
	files, _, _ := stdio(t, "")
	env := []string{"BIG=" + strings.Repeat("x", 1<<20)}
	code, err := Run(dir, "build-1", Request{Env: env}, files, cwd, nil)
	if err != nil || code != len(env[0]) {
		t.Errorf("Run with a 1 MiB environment: %d, %v", code, err)
	}
}

// A panic in a run ends it as in process (exit code 2, the panic on the
// client's stderr), and the server restarts instead of dying.
func TestRunPanics(t *testing.T) {
	restarts, dir := serve(t, func(ctx context.Context, req Request, stdin, stdout, stderr, cwd *os.File) int {
		panic("boom")
	})
	cwd, _ := os.Open(".")
	defer cwd.Close()
	files, _, stderr := stdio(t, "")
	code, err := Run(dir, "build-1", Request{}, files, cwd, nil)
	if err != nil || code != 2 {
		t.Fatalf("Run: %d, %v", code, err)
	}
	files[1].Close()
	files[2].Close()
	if out, _ := io.ReadAll(stderr); !strings.Contains(string(out), "panic: boom") {
		t.Errorf("stderr %q, want the panic", out)
	}
	// The restart follows the exit code.
	for i := 0; restarts.Load() == 0 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if restarts.Load() != 1 {
		t.Errorf("%d restarts after a panic, want 1", restarts.Load())
	}
}

// A server stopped during a run cancels it, tells its client the exit
// code, and stops rather than restarting.
func TestStopDuringRun(t *testing.T) {
	started := make(chan struct{})
	var restarts *atomic.Int32
	// Checked once the server has stopped (cleanups run last first).
	t.Cleanup(func() {
		if restarts.Load() != 0 {
			t.Errorf("the server restarted instead of stopping")
		}
	})
	restarts, dir := serve(t, func(ctx context.Context, req Request, stdin, stdout, stderr, cwd *os.File) int {
		close(started)
		<-ctx.Done()
		return 130
	})
	cwd, _ := os.Open(".")
	defer cwd.Close()
	files, _, _ := stdio(t, "")
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := Run(dir, "build-1", Request{}, files, cwd, nil)
		done <- result{code, err}
	}()
	<-started
	c, _, err := Dial(dir, "", OpStop)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := <-done; r.err != nil || r.code != 130 {
		t.Errorf("the stopped run: %d, %v", r.code, r.err)
	}
}

// A server that accepts and never answers (wedged, or not a wrun server)
// costs the client the handshake timeout, not forever: the socket is a
// pollable file, so its deadline holds, and the client falls back.
func TestRunSilentServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	if err := PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	l, err := listenUnix(SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := accept(l)
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	cwd, _ := os.Open(".")
	defer cwd.Close()
	files, _, _ := stdio(t, "")
	done := make(chan error, 1)
	go func() {
		_, err := Run(dir, "build-1", Request{}, files, cwd, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrFallback) {
			t.Errorf("a silent server: %v", err)
		}
	case <-time.After(time.Minute): // a liveness bound, far past handshakeTimeout
		t.Fatal("a silent server holds the client")
	}
}
