package wrun_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
)

func newRuntime(t *testing.T) *wrun.Runtime {
	t.Helper()
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	return rt
}

func compile(t *testing.T, rt *wrun.Runtime, guest string) *wrun.Program {
	t.Helper()
	p, err := rt.CompileFile(context.Background(), testenv.Guest(t, guest))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs a program and returns its stdout, stderr and error.
func run(t *testing.T, p *wrun.Program, cfg wrun.RunConfig) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := p.Run(context.Background(), cfg.WithStdout(&out).WithStderr(&errOut))
	return out.String(), errOut.String(), err
}

func TestArgsEnvStdin(t *testing.T) {
	rt := newRuntime(t)
	for _, guest := range []string{"c/echo", "go/echo"} {
		t.Run(guest, func(t *testing.T) {
			p := compile(t, rt, guest)
			cfg := wrun.NewRunConfig().
				WithArgs("one", "two words", "--flag").
				WithEnv("B", "2").WithEnv("A", "1").WithEnv("A", "one").
				WithStdin(strings.NewReader("from stdin\n"))
			out, _, err := run(t, p, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := "arg[0]=echo.wasm\narg[1]=one\narg[2]=two words\narg[3]=--flag\nenvc=2\nenv A=one\nenv B=2\nfrom stdin\n"
			if out != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

func TestDefaultsAreEmpty(t *testing.T) {
	p := compile(t, newRuntime(t), "c/echo")
	out, _, err := run(t, p, wrun.NewRunConfig())
	if err != nil {
		t.Fatal(err)
	}
	if want := "arg[0]=echo.wasm\nenvc=0\n"; out != want {
		t.Errorf("stdout %q, want %q: no env and no stdin by default", out, want)
	}
}

func TestExitCode(t *testing.T) {
	p := compile(t, newRuntime(t), "c/exit")
	for _, code := range []uint32{0, 1, 7, 255} {
		out, errOut, err := run(t, p, wrun.NewRunConfig().WithArgs(fmt.Sprint(code)))
		if code == 0 {
			if err != nil {
				t.Fatalf("exit 0: got %v, want nil", err)
			}
		} else {
			var exit *sys.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != code {
				t.Fatalf("exit %d: got %v", code, err)
			}
		}
		if out != fmt.Sprintf("exiting with %d\n", code) || errOut != "stderr line\n" {
			t.Errorf("exit %d: stdout %q stderr %q", code, out, errOut)
		}
	}
}

func TestTrap(t *testing.T) {
	p := compile(t, newRuntime(t), "wat/trap")
	_, _, err := run(t, p, wrun.NewRunConfig())
	var trap *wrun.TrapError
	if !errors.As(err, &trap) {
		t.Fatalf("got %v, want a TrapError", err)
	}
	if trap.Message != "unreachable" || !strings.Contains(trap.Stack, "$1()") {
		t.Errorf("trap %q, stack %q", trap.Message, trap.Stack)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestDeadlineAndCancel(t *testing.T) {
	ctx0 := context.Background()
	rt, err := wrun.New(ctx0, wrun.NewConfig().WithInMemoryCache().WithCloseOnContextDone(true))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx0)
	p := compile(t, rt, "wat/loop")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = p.Run(ctx, wrun.NewRunConfig())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: got %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := p.Run(ctx, wrun.NewRunConfig()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: got %v", err)
	}
}

func TestMemoryLimit(t *testing.T) {
	rt := newRuntime(t)
	p := compile(t, rt, "c/memgrow")
	out, _, err := run(t, p, wrun.NewRunConfig().WithArgs("8").WithMemoryLimitPages(64))
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.HasPrefix(out, "out of memory after") {
		t.Fatalf("4 MiB cap, 8 MiB wanted: %v %q", err, out)
	}
	if out, _, err := run(t, p, wrun.NewRunConfig().WithArgs("8").WithMemoryLimitPages(16*16)); err != nil || out != "allocated 8 MiB\n" {
		t.Fatalf("16 MiB cap, 8 MiB wanted: %v %q", err, out)
	}
	if out, _, err := run(t, p, wrun.NewRunConfig().WithArgs("64")); err != nil || out != "allocated 64 MiB\n" {
		t.Fatalf("no cap: %v %q", err, out)
	}
	big := compile(t, rt, "wat/bigmem")
	if _, _, err := run(t, big, wrun.NewRunConfig().WithMemoryLimitPages(256)); err == nil || !strings.Contains(err.Error(), "needs 512 pages") {
		t.Fatalf("initial memory over the cap: %v", err)
	}
}

func TestClocksAndRandom(t *testing.T) {
	p := compile(t, newRuntime(t), "c/clock")
	cfg := wrun.NewRunConfig().
		WithWalltime(func() (int64, int32) { return 1700000000, 5 }).
		WithNanotime(func() int64 { return 42 }).
		WithRandSource(bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	out, _, err := run(t, p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "wall=1700000000.000000005 mono=0.000000042 random=0102030405060708\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	// Defaults: real clocks, real randomness.
	out1, errOut1, err1 := run(t, p, wrun.NewRunConfig())
	out2, errOut2, err2 := run(t, p, wrun.NewRunConfig())
	if err1 != nil || err2 != nil {
		t.Fatalf("runs with the default clocks: %v (stderr %q), %v (stderr %q)", err1, errOut1, err2, errOut2)
	}
	if out1 == out2 || !strings.HasPrefix(out1, fmt.Sprintf("wall=%d", time.Now().Unix())[:9]) {
		t.Errorf("default clocks or randomness look fake: %q %q", out1, out2)
	}
}

func TestHostMount(t *testing.T) {
	p := compile(t, newRuntime(t), "c/files")
	dir := t.TempDir()
	fs, err := vfs.Host(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, p, wrun.NewRunConfig().WithArgs("/data", "keep").WithMount(vfs.Mount{Guest: "/data", FS: fs}))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sub", "moved.txt"))
	if err != nil || string(b) != "first line\nsecond line\n" {
		t.Fatalf("host file: %q %v", b, err)
	}
	ro, err := vfs.Host(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, p, wrun.NewRunConfig().WithMount(vfs.Mount{Guest: "/data", FS: ro}))
	if err == nil || !strings.HasPrefix(out, "FAIL create note.txt") {
		t.Fatalf("read-only mount allowed a write: %v %q", err, out)
	}
}

func TestConcurrentRuns(t *testing.T) {
	p := compile(t, newRuntime(t), "go/echo")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			var out bytes.Buffer
			if err := p.Run(context.Background(), wrun.NewRunConfig().WithArgs(fmt.Sprint(i)).WithStdout(&out)); err != nil {
				errs <- err
				return
			}
			if !strings.Contains(out.String(), fmt.Sprintf("arg[1]=%d\n", i)) {
				errs <- fmt.Errorf("run %d saw %q", i, out.String())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCompileErrors(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	hello := testenv.GuestBytes(t, "c/hello")
	cases := []struct {
		name   string
		wasm   []byte
		target error
		msg    string
	}{
		{"text.txt", []byte("hello, world\n"), wrun.ErrNotWasm, "does not start with \\0asm"},
		{"empty.wasm", nil, wrun.ErrNotWasm, "not a WebAssembly binary"},
		{"short.wasm", []byte("\x00asm\x01"), wrun.ErrInvalidModule, "truncated header"},
		{"truncated.wasm", hello[:len(hello)/2], wrun.ErrInvalidModule, "truncated.wasm is not a valid WebAssembly module"},
		{"component.wasm", []byte("\x00asm\x0d\x00\x01\x00"), wrun.ErrComponent, "wazero runs core modules with WASI preview 1 only"},
		{"future.wasm", []byte("\x00asm\x02\x00\x00\x00"), wrun.ErrInvalidModule, "unknown binary version"},
	}
	for _, c := range cases {
		_, err := rt.Compile(ctx, c.name, c.wasm)
		if !errors.Is(err, c.target) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want %v containing %q", c.name, err, c.target, c.msg)
		}
	}
	_, err := rt.CompileFile(ctx, testenv.Guest(t, "wat/needs_env"))
	var missing *wrun.MissingImportError
	if !errors.As(err, &missing) || missing.Module != "env" || missing.Name != "host_log" {
		t.Errorf("missing import: got %v", err)
	}
	p := compile(t, rt, "wat/reactor")
	if err := p.Run(ctx, wrun.NewRunConfig()); err == nil || !strings.Contains(err.Error(), "reactor") {
		t.Errorf("reactor: got %v", err)
	}
	if _, err := rt.CompileFile(ctx, filepath.Join(t.TempDir(), "nope.wasm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestDiskCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i := range 2 {
		rt, err := wrun.New(ctx, wrun.NewConfig().WithCacheDir(dir).WithCompilationWorkers(2))
		if err != nil {
			t.Fatal(err)
		}
		p := compile(t, rt, "go/hello")
		var out bytes.Buffer
		if err := p.Run(ctx, wrun.NewRunConfig().WithStdout(&out)); err != nil || out.String() != "hello, world, from Go on wasip1\n" {
			t.Fatalf("run %d: %v %q", i, err, out.String())
		}
		rt.Close(ctx)
	}
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n == 0 {
		t.Fatal("the compilation cache directory is empty after two runs")
	}
	// An unwritable cache location is a clear error from New.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := wrun.New(ctx, wrun.NewConfig().WithCacheDir(filepath.Join(file, "sub"))); err == nil || !strings.Contains(err.Error(), "compilation cache") {
		t.Fatalf("unusable cache dir: %v", err)
	}
}
