package wasi_test

import (
	"context"
	"errors"
	"io"
	"testing"

	wsys "github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/wasi"
)

// TestFdTableBound: with no open-file limit on the filesystem, a guest that
// opens files without end still stops at the fd table's own bound (65536
// fds) with EMFILE, instead of growing the table with host memory.
func TestFdTableBound(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, true)
	fsys, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/m", FS: vfs.NewMemFS(1 << 20)}})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, ctx, rt, testenv.Wat2Wasm(t, "wasi/testdata/fdtable.wat"), wasi.Config{FS: fsys, Preopens: []string{"/m"}})
	var exit *wsys.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != 33 {
		t.Fatalf("got %v; want exit code 33 (EMFILE) with fd 65535 the last opened (1: another last fd)", r.err)
	}
}

// TestWriteCountBound: iovecs that repeat one buffer past 4 GiB in all
// move at most 0x7ffff000 bytes in one call, as on Linux, and the guest is
// told that count (not the sum wrapped around a u32).
func TestWriteCountBound(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, true)
	r := run(t, ctx, rt, testenv.Wat2Wasm(t, "wasi/testdata/bigwritev.wat"), wasi.Config{Stderr: io.Discard})
	if r.err != nil {
		t.Fatalf("got %v; want exit 0 (2: fd_write reported another count than 0x7ffff000)", r.err)
	}
}
