package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// inProcess runs the CLI in this process with execute, as main does, and
// returns what it wrote and its exit code.
func inProcess(t *testing.T, ctx context.Context, stdin io.Reader, args ...string) result {
	t.Helper()
	t.Setenv("WRUN_HOME", t.TempDir())
	t.Setenv("WRUN_REGISTRY", "")
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr syncBuffer
	code := execute(ctx, args, stdin, &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

func TestInProcessRunC(t *testing.T) {
	r := inProcess(t, context.Background(), nil, "run", "--no-cache", guest(t, "c/hello"), "--", "gopher")
	if r.code != 0 || r.stdout != "hello, gopher, from C on wasm32-wasi\n" || r.stderr != "" {
		t.Fatalf("got %+v", r)
	}
	// The bare form is "wrun run", and the stdin given reaches the guest.
	r = inProcess(t, context.Background(), strings.NewReader("from stdin\n"), guest(t, "c/echo"), "x")
	if r.code != 0 || !strings.Contains(r.stdout, "arg[1]=x\n") || !strings.HasSuffix(r.stdout, "from stdin\n") {
		t.Fatalf("got %+v", r)
	}
}

func TestInProcessExitCode(t *testing.T) {
	for _, code := range []int{0, 3, 42, 255} {
		r := inProcess(t, context.Background(), nil, "run", "--no-cache", guest(t, "c/exit"), fmt.Sprint(code))
		if r.code != code || r.stdout != fmt.Sprintf("exiting with %d\n", code) || r.stderr != "stderr line\n" {
			t.Errorf("exit %d: got %+v", code, r)
		}
	}
}

func TestInProcessErrors(t *testing.T) {
	missing := t.TempDir() + "/nothing.wasm"
	inProcess(t, context.Background(), nil, "run", missing).wantError(t, "nothing.wasm")
	inProcess(t, context.Background(), nil, "run", "--env", "=x", guest(t, "c/hello")).wantError(t, `--env "=x"`)
	inProcess(t, context.Background(), nil, "run").wantError(t, "requires at least 1 arg")
	// --env follows internal/kv's rule: a NUL byte, which the manifest
	// refused but --env let through to wazero, is refused up front.
	inProcess(t, context.Background(), nil, "run", "--env", "A=1\x00", guest(t, "c/hello")).wantError(t, `--env "A=1\x00"`, "NUL")
	inProcess(t, context.Background(), nil, "preinit", "-o", t.TempDir()+"/out.wasm", "--env", "A\x00=1", guest(t, "c/hello")).wantError(t, `--env "A\x00=1"`, "NUL")
}

func TestInProcessEnv(t *testing.T) {
	r := inProcess(t, context.Background(), nil, "run", "--no-cache", "--env", "A==b=", "--env", "E=", guest(t, "c/echo"))
	if r.code != 0 || !strings.Contains(r.stdout, "env A==b=\n") || !strings.Contains(r.stdout, "env E=\n") {
		t.Fatalf("got %+v", r)
	}
}

// TestInProcessInterrupt cancels the context (what main does on Ctrl-C)
// while a guest without cancellation checks is blocked: execute returns
// 130 through its normal path, leaving the guest behind, instead of
// exiting the process.
func TestInProcessInterrupt(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	stdin := &blockingReader{reading: make(chan struct{}), release: make(chan struct{})}
	defer close(stdin.release) // lets the abandoned guest finish
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, []string{"run", "--no-cache", guest(t, "c/echo")}, stdin, &stdout, &stderr)
	}()
	select {
	case <-stdin.reading: // the guest runs and now blocks reading stdin
	case c := <-code:
		t.Fatalf("returned %d before the interrupt: %q %q", c, stdout.String(), stderr.String())
	}
	cancel()
	if c := <-code; c != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit code %d, stderr %q; want 130 and interrupted", c, stderr.String())
	}
}

// blockingReader is a stdin that closes reading at the guest's first read
// and then blocks it until release is closed.
type blockingReader struct {
	once    sync.Once
	reading chan struct{}
	release chan struct{}
}

func (r *blockingReader) Read([]byte) (int, error) {
	r.once.Do(func() { close(r.reading) })
	<-r.release
	return 0, io.EOF
}

// syncBuffer is a bytes.Buffer safe for a guest goroutine to write while
// the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
