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
	"testing"
	"time"
)

// serve starts a Server with handle in a fresh directory and returns it.
func serve(t *testing.T, handle Handler) (*Server, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "server")
	s := &Server{Dir: dir, Build: "build-1", Handle: handle, Log: log.New(io.Discard, "", 0)}
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
			return s, dir
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
