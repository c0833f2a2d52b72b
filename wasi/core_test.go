package wasi_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/vfs/vfstest"
	"github.com/wrun-dev/wrun/wasi"
)

// coreWant is what testdata/c/wasi_core.c prints under wrun's layer. The
// errno numbers are WASI's: 8 EBADF, 20 EEXIST, 21 EFAULT, 28 EINVAL,
// 37 ENAMETOOLONG, 44 ENOENT, 54 ENOTDIR, 57 ENOTSOCK, 58 ENOTSUP,
// 63 EPERM, 76 ENOTCAPABLE. Where each comes from: Linux's man pages
// (write(2) EBADF on a read-only fd, ftruncate(2) EINVAL, unlink(2),
// rename(2), symlink(2) and link(2) for trailing slashes, readlink(2)
// truncating, link(2) EPERM on a directory), and wasmtime for what Linux
// has no call for (ENOTCAPABLE for a dropped right and for a path that
// leaves its directory, stdio ready in poll_oneoff, ENAMETOOLONG for a
// short fd_prestat_dir_name buffer).
const coreWant = `open ro 0
ro has read 1
ro has write 0
ro has set_size 0
ro write 8
ro set_size 28
open rw 0
rw has set_size 1
drop set_size 0
set_size dropped 76
add back 76
open flags 0
flags 7
set_flags 0 0
set_flags dsync 28
flags 2
stdio 0 type 4 seek 0
stdio 1 type 0 seek 0
stdio 2 type 2 seek 0
dir_name short 37
dir_name 0 /m
sock_shutdown file 57
sock_shutdown bad 8
poll 0 n 2: 7/0/2 8/0/1
poll clock 0 n 1: 9/0/0
poll none 28
readlink short 0 3 abc
lstat ln type 7
stat ln type 4
link follow dangling 44
link dir 63
link follow ln 0
lstat ln2 type 4
unlink f/ 54
symlink to missing/ 44
link to missing/ 44
rename f/ 54
rename to missing/ 54
rename onto d/ 54
open ../x 76
open /etc 76
open d/../../x 76
readdir 0 dot 1 dotdot 1
fdstat bad ptr 21
readlink bad buf 21
renumber onto 0 0
old fd 8
read 0: 0 hello
renumber onto closed 8
renumber onto invalid 8
renumber onto preopen 0
prestat moved 8
create in moved 0
`

func coreFixture(t *testing.T) string {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "d"), 0o755))
	must(os.Symlink("f", filepath.Join(dir, "ln")))
	must(os.Symlink("nope", filepath.Join(dir, "dang")))
	must(os.Symlink("abcdef", filepath.Join(dir, "long")))
	return dir
}

// TestCore runs wasi_core on a host mount and on a copy-on-write overlay of
// the same tree.
func TestCore(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, true)
	wasm := testenv.GuestBytes(t, "c/wasi_core")
	kinds := map[string]func(dir string) (vfsFS, error){
		"host": func(dir string) (vfsFS, error) { return vfs.Host(dir, false) },
		"overlay": func(dir string) (vfsFS, error) {
			base, err := vfs.Host(dir, true)
			if err != nil {
				return nil, err
			}
			return vfs.NewCopyOnWriteFS(base), nil
		},
	}
	for name, mk := range kinds {
		t.Run(name, func(t *testing.T) {
			dir := coreFixture(t)
			layer, err := mk(dir)
			if err != nil {
				t.Fatal(err)
			}
			fsys, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/m", FS: layer}})
			if err != nil {
				t.Fatal(err)
			}
			stdin, err := os.Open(filepath.Join(dir, "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer devnull.Close()
			r := run(t, ctx, rt, wasm, wasi.Config{FS: fsys, Preopens: []string{"/m"}, Stdin: stdin, Stderr: devnull})
			if r.err != nil {
				t.Fatalf("%v\n%s", r.err, r.stderr)
			}
			if r.stdout != coreWant {
				t.Errorf("wasi_core:\n%s", vfstest.Diff(coreWant, r.stdout))
			}
		})
	}
}

// TestOpenFileLimit: the mount table's open-file limit reaches the guest
// as EMFILE.
func TestOpenFileLimit(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, true)
	h, err := vfs.Host(coreFixture(t), false)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := vfs.Limits{MaxOpenFiles: 5}.NewMountFS([]vfs.Mount{{Guest: "/m", FS: h}})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, ctx, rt, testenv.GuestBytes(t, "c/wasi_core"), wasi.Config{FS: fsys, Preopens: []string{"/m"}}, "emfile")
	if want := "emfile after some 1 errno 33\n"; r.err != nil || r.stdout != want {
		t.Fatalf("got %q, %v; want %q", r.stdout, r.err, want)
	}
}

// TestCancel: a guest blocked in poll_oneoff (a long clock) or in fd_read
// on a pipe that never gets data returns once the run's context is done.
func TestCancel(t *testing.T) {
	rt := newRuntime(t, true)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, tc := range []struct{ name, wat string }{
		{"poll_oneoff", "testdata/wat/wasi_sleep.wat"},
		{"fd_read", "testdata/wat/wasi_readstdin.wat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cm, err := rt.CompileModule(ctx, testenv.Wat2Wasm(t, tc.wat))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := rt.InstantiateModule(wasi.WithConfig(ctx, wasi.Config{Stdin: pr}), cm, wazero.NewModuleConfig().WithName(""))
				done <- err
			}()
			time.Sleep(50 * time.Millisecond) // let it block (not an assertion)
			cancel()
			if err := <-done; err == nil || !strings.Contains(err.Error(), "context canceled") {
				t.Fatalf("got %v, want the run ended by its context", err)
			}
		})
	}
}

// TestCancelFIFO: a guest blocked reading a FIFO of a host mount (a writer
// holds it open and writes nothing) returns once the run's context is done.
func TestCancelFIFO(t *testing.T) {
	rt := newRuntime(t, true)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	writer := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until the guest opens it
		if err != nil {
			t.Error(err)
		}
		writer <- w
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := rt.CompileModule(ctx, testenv.GuestBytes(t, "c/cat"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := rt.InstantiateModule(wasi.WithConfig(ctx, wasi.Config{FS: mountFS(t, map[string]string{"/m": dir}), Preopens: []string{"/m"}}),
			cm, wazero.NewModuleConfig().WithName("").WithArgs("cat", "/m/fifo"))
		done <- err
	}()
	w := <-writer
	defer w.Close()
	time.Sleep(50 * time.Millisecond) // let it block in fd_read (not an assertion)
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got %v, want the run ended by its context", err)
	}
}

// TestCancelFIFOOpen: opening a FIFO of a host mount that no writer ever
// opens blocks in open(2); the call still ends once the run's context is
// done (it hung forever, and ignored --timeout, before).
func TestCancelFIFOOpen(t *testing.T) {
	rt := newRuntime(t, true)
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cm, err := rt.CompileModule(ctx, testenv.GuestBytes(t, "c/cat"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := rt.InstantiateModule(wasi.WithConfig(ctx, wasi.Config{FS: mountFS(t, map[string]string{"/m": dir}), Preopens: []string{"/m"}}),
			cm, wazero.NewModuleConfig().WithName("").WithArgs("cat", "/m/fifo"))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("got %v, want the run ended by its deadline", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the guest is still blocked opening the FIFO 30 s after its deadline")
	}
}
