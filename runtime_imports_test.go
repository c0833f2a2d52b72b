package wrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// TestMissingImportsBeforeCompile: a module importing three functions
// nothing provides is refused naming all three, and wazero's compiler is
// never called (the Runtime's compile counter stays at zero).
func TestMissingImportsBeforeCompile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "needs3.wat")
	if err := os.WriteFile(src, []byte(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "alpha" (func))
  (import "wasi_snapshot_preview1" "no_such_call" (func))
  (import "gl" "beta" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")))`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "needs3.wasm")
	if b, err := exec.Command(testenv.Tool(t, "wat2wasm"), src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := New(ctx, NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	_, err = rt.Compile(ctx, "needs3.wasm", wasm)
	var mi *MissingImportError
	if !errors.As(err, &mi) || mi.Module != "env" || mi.Name != "alpha" {
		t.Fatalf("Compile: %v, want a *MissingImportError for env.alpha", err)
	}
	for _, want := range []string{`"env"."alpha"`, `"wasi_snapshot_preview1"."no_such_call"`, `"gl"."beta"`, "3 imports are missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "fd_write") {
		t.Errorf("error %q names fd_write, which WASI provides", err)
	}
	if n := rt.compiles.Load(); n != 0 {
		t.Errorf("%d compiles, want none before the imports are checked", n)
	}
	// A long list is cut: 15 missing, 10 named, "and 5 more".
	var many strings.Builder
	many.WriteString("(module\n")
	for i := range 15 {
		fmt.Fprintf(&many, "  (import \"env\" \"f%02d\" (func))\n", i)
	}
	many.WriteString(")")
	src2, out2 := filepath.Join(t.TempDir(), "many.wat"), filepath.Join(t.TempDir(), "many.wasm")
	if err := os.WriteFile(src2, []byte(many.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(testenv.Tool(t, "wat2wasm"), src2, "-o", out2).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	_, err = rt.CompileFile(ctx, out2)
	if err == nil || !strings.Contains(err.Error(), "15 imports are missing") || !strings.Contains(err.Error(), `"env"."f09"`) ||
		strings.Contains(err.Error(), `"env"."f10"`) || !strings.Contains(err.Error(), "and 5 more") {
		t.Errorf("15 missing imports: %v", err)
	}
	if n := rt.compiles.Load(); n != 0 {
		t.Errorf("%d compiles, want none", n)
	}
	// The adapter's own functions are provided.
	if rt.wasi["adapter_close_badfd"] == nil || rt.wasi["adapter_open_badfd"] == nil {
		t.Error("the preview 1 adapter's functions are not provided")
	}
}

// TestAdapterFunctions: a module importing the preview 1 adapter's own
// functions compiles and runs: adapter_open_badfd reserves a descriptor
// on which fd_write fails with EBADF, adapter_close_badfd releases it once
// (then EBADF) and refuses a descriptor it did not reserve (stdout);
// reset_adapter_state returns. The module exits with 42 when every result
// is the adapter's.
func TestAdapterFunctions(t *testing.T) {
	src := filepath.Join(t.TempDir(), "badfd.wat")
	if err := os.WriteFile(src, []byte(`(module
  (import "wasi_snapshot_preview1" "adapter_open_badfd" (func $open (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "adapter_close_badfd" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "reset_adapter_state" (func $reset))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $ok i32) (local $fd i32)
    (call $reset)
    (local.set $ok (i32.eqz (call $open (i32.const 0))))
    (local.set $fd (i32.load (i32.const 0)))
    (local.set $ok (i32.and (local.get $ok) (i32.gt_u (local.get $fd) (i32.const 2))))
    ;; fd_write(fd, iovs=16 (zeroed: one empty iovec), 1, nwritten=32)
    (local.set $ok (i32.and (local.get $ok) (i32.eq (call $write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 32)) (i32.const 8))))
    (local.set $ok (i32.and (local.get $ok) (i32.eqz (call $close (local.get $fd)))))
    (local.set $ok (i32.and (local.get $ok) (i32.eq (call $close (local.get $fd)) (i32.const 8))))
    (local.set $ok (i32.and (local.get $ok) (i32.eq (call $close (i32.const 1)) (i32.const 8))))
    (call $exit (select (i32.const 42) (i32.const 1) (local.get $ok)))))`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "badfd.wasm")
	if b, err := exec.Command(testenv.Tool(t, "wat2wasm"), src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	ctx := context.Background()
	rt, err := New(ctx, NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.CompileFile(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(ctx, NewRunConfig())
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 42 {
		t.Errorf("run: %v, want exit code 42", err)
	}
}
