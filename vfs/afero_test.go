package vfs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/vfs/vfstest"
)

func fsopsGuests(t *testing.T) vfstest.Option {
	cache := wazero.NewCompilationCache()
	t.Cleanup(func() { cache.Close(context.Background()) })
	var guests []vfstest.Guest
	for _, g := range []string{"c/fsops", "go/fsops"} {
		guests = append(guests, vfstest.Guest{Name: g, Wasm: testenv.GuestBytes(t, g), ReadOnly: rofsWant[g]})
	}
	return vfstest.Guests(cache, guests...)
}

// TestFromFSConformance: an io/fs filesystem is a read-only layer with
// DirFS's errnos, and a writable one under an overlay.
func TestFromFSConformance(t *testing.T) {
	guests := fsopsGuests(t)
	mapFS := func() sys.FS { return vfs.FromFS(vfstest.MapFS(vfstest.Fixture())) }
	t.Run("mapfs", func(t *testing.T) { vfstest.TestFS(t, mapFS, vfstest.ReadOnly(), guests) })
	t.Run("root", func(t *testing.T) {
		vfstest.TestFS(t, func() sys.FS {
			root, err := os.OpenRoot(hostFixture(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { root.Close() })
			return vfs.FromFS(root.FS())
		}, vfstest.ReadOnly(), guests)
	})
	t.Run("cow-mapfs", func(t *testing.T) {
		vfstest.TestFS(t, func() sys.FS { return vfs.NewCopyOnWriteFS(mapFS()) }, guests)
	})
}

// memMapFixture is a MemMapFs holding the fixture without links, which
// MemMapFs cannot express.
func memMapFixture(t testing.TB) (afero.Fs, sys.FS) {
	t.Helper()
	m := afero.NewMemMapFs()
	l := vfs.FromAfero(m)
	if err := vfstest.Populate(l, vfstest.Fixture(vfstest.NoSymlinks())); err != nil {
		t.Fatal(err)
	}
	return m, l
}

// TestFromAferoConformance runs vfstest over afero backends, with the
// exceptions each declares: MemMapFs has no links and no atime; no afero
// backend has hard links.
func TestFromAferoConformance(t *testing.T) {
	guests := fsopsGuests(t)
	t.Run("memmap", func(t *testing.T) {
		vfstest.TestFS(t, func() sys.FS { _, l := memMapFixture(t); return l },
			vfstest.NoSymlinks(), vfstest.NoHardLinks(), vfstest.NoAtime())
	})
	t.Run("basepath-os", func(t *testing.T) {
		vfstest.TestFS(t, func() sys.FS {
			return vfs.FromAfero(afero.NewBasePathFs(afero.NewOsFs(), hostFixture(t)))
		}, vfstest.NoHardLinks())
	})
	t.Run("readonly-memmap", func(t *testing.T) {
		vfstest.TestFS(t, func() sys.FS {
			m, _ := memMapFixture(t)
			return vfs.FromAfero(afero.NewReadOnlyFs(m))
		}, vfstest.NoSymlinks(), vfstest.NoAtime(), vfstest.ReadOnly(), vfstest.NoHardLinks())
	})
	t.Run("cow-memmap", func(t *testing.T) {
		// The overlay gives MemMapFs's files links, hard links and atimes.
		vfstest.TestFS(t, func() sys.FS {
			_, l := memMapFixture(t)
			o := vfs.NewCopyOnWriteFS(l)
			var links []vfstest.Entry
			for _, e := range vfstest.Fixture() {
				if e.Link != "" {
					links = append(links, e)
				}
			}
			if err := vfstest.Populate(o, links); err != nil {
				t.Fatal(err)
			}
			return o
		}, guests)
	})
}

// crashEnv makes the test binary, run again as a child, call MemMapFs
// directly the way a naive adapter would.
const crashEnv = "WRUN_VFS_AFERO_CRASH"

// TestAferoMemMapCrash shows the hazard FromAfero guards against: a
// MemMapFs whose directory was removed with files still in it (MemMapFs
// allows that) panics on the orphans while holding its lock, and the
// deferred unlock of Rename turns that into a fatal error that no recover
// catches: the whole process dies. Through FromAfero the same calls give
// errnos (EIO for the panic in Remove, ENOENT before Rename is called) and
// the host process lives on.
func TestAferoMemMapCrash(t *testing.T) {
	orphan := func() afero.Fs {
		m := afero.NewMemMapFs()
		afero.WriteFile(m, "/dir/a.txt", []byte("a"), 0o644)
		if err := m.Remove("/dir"); err != nil {
			t.Fatalf("MemMapFs refused to remove a non-empty directory: %v", err)
		}
		return m
	}
	if os.Getenv(crashEnv) == "1" {
		orphan().Rename("/dir/a.txt", "/x")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAferoMemMapCrash$")
	cmd.Env = append(os.Environ(), crashEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("fatal error: sync: RUnlock of unlocked RWMutex")) {
		t.Fatalf("MemMapFs.Rename on an orphan no longer stops the process (%v); the guard may be obsolete:\n%s", err, out)
	}

	l := vfs.FromAfero(orphan())
	if errno := l.Rename("dir/a.txt", "x"); errno != sys.ENOENT {
		t.Errorf("rename of an orphan: %v, want ENOENT", errno)
	}
	if errno := l.Unlink("dir/a.txt"); errno != sys.ENOENT {
		t.Errorf("unlink of an orphan (MemMapFs would panic): %v, want ENOENT", errno)
	}
	if errno := vfsWrite(l, "after", "still here"); errno != 0 {
		t.Fatalf("the layer after the panic: %v", errno)
	}
	if got, _ := readAll(t, l, "after"); got != "still here" {
		t.Errorf("read after the panic: %q", got)
	}
}

// TestFromAferoConcurrentRename: two MemMapFs.Rename calls of one name at
// once stop the process (the loser returns holding the write lock, and its
// deferred read unlock is fatal); FromAfero serializes its changes, so
// guests renaming at once get ENOENT instead.
func TestFromAferoConcurrentRename(t *testing.T) {
	l := vfs.FromAfero(afero.NewMemMapFs())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				vfsWrite(l, "a", "x")
				if errno := l.Rename("a", fmt.Sprintf("b%d-%d", i, j)); errno != 0 && errno != sys.ENOENT {
					t.Errorf("rename: %v", errno)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// panicky is a real MemMapFs whose Chtimes panics: a stand-in for a bug in
// any backend, since FromAfero's checks keep MemMapFs's own panics out of
// reach.
type panicky struct{ afero.Fs }

func (panicky) Chtimes(string, time.Time, time.Time) error { panic("backend bug") }

// TestFromAferoPanic: a panic in the backend is EIO for that call, and the
// layer (and its lock) keeps working.
func TestFromAferoPanic(t *testing.T) {
	l := vfs.FromAfero(panicky{afero.NewMemMapFs()})
	if errno := vfsWrite(l, "f", "x"); errno != 0 {
		t.Fatal(errno)
	}
	if errno := l.Utimens("f", 1e9, 1e9); errno != sys.EIO {
		t.Errorf("utimens with a panicking backend: %v, want EIO", errno)
	}
	f, errno := l.OpenFile("f", sys.O_RDWR, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer f.Close()
	if errno := f.Utimens(1e9, 1e9); errno != sys.EIO {
		t.Errorf("file utimens with a panicking backend: %v, want EIO", errno)
	}
	if errno := l.Mkdir("d", 0o755); errno != 0 {
		t.Errorf("mkdir after the panic: %v (the layer's lock was left held?)", errno)
	}
}

// TestFromAferoGrowth: a guest's write far past the end of a MemMapFs file
// would make MemMapFs allocate the gap at once (a 1 TiB pwrite stops the
// host for want of memory; 1 PiB panics); it fails with ENOSPC.
func TestFromAferoGrowth(t *testing.T) {
	l := vfs.FromAfero(afero.NewMemMapFs())
	f, errno := l.OpenFile("f", sys.O_RDWR|sys.O_CREAT, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer f.Close()
	if _, errno := f.Pwrite([]byte("x"), 1<<40); errno != vfs.ENOSPC {
		t.Errorf("pwrite at 1 TiB: %v, want ENOSPC", errno)
	}
	if errno := f.Truncate(1 << 50); errno != vfs.ENOSPC {
		t.Errorf("truncate to 1 PiB: %v, want ENOSPC", errno)
	}
	if _, errno := f.Seek(1<<40, 0); errno != 0 {
		t.Fatal(errno)
	}
	if _, errno := f.Write([]byte("x")); errno != vfs.ENOSPC {
		t.Errorf("write at 1 TiB: %v, want ENOSPC", errno)
	}
	if _, errno := f.Pwrite([]byte("x"), 1<<20); errno != 0 {
		t.Errorf("pwrite at 1 MiB: %v", errno)
	}
	if st, _ := f.Stat(); st.Size != 1<<20+1 {
		t.Errorf("size %d, want %d", st.Size, 1<<20+1)
	}
}

// TestFromFSNoReaderAt: archive/zip's files cannot ReadAt or Seek, and
// afero's io/fs adapter then returns a count of -1, which would index the
// guest's buffer out of range in the host; FromFS reads them and gives an
// errno for pread.
func TestFromFSNoReaderAt(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("a.txt")
	w.Write([]byte("zipped"))
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	l := vfs.FromFS(zr)
	if got, errno := readAll(t, l, "a.txt"); errno != 0 || got != "zipped" {
		t.Errorf("read: %q %v", got, errno)
	}
	f, errno := l.OpenFile("a.txt", sys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer f.Close()
	p := make([]byte, 4)
	if n, errno := f.Pread(p, 1); n != 0 || errno == 0 {
		t.Errorf("pread: %d %v, want 0 and an errno", n, errno)
	}
}

func vfsWrite(l sys.FS, p, data string) sys.Errno {
	f, errno := l.OpenFile(p, sys.O_WRONLY|sys.O_CREAT|sys.O_TRUNC, 0o644)
	if errno != 0 {
		return errno
	}
	defer f.Close()
	_, errno = f.Write([]byte(data))
	return errno
}

// TestFromAferoKeepsMemMapConsistent: the POSIX checks FromAfero makes
// keep MemMapFs from orphaning files (it removes a non-empty directory and
// moves a directory into itself when asked).
func TestFromAferoKeepsMemMapConsistent(t *testing.T) {
	m, l := memMapFixture(t)
	if errno := l.Rmdir("dir"); errno != sys.ENOTEMPTY {
		t.Errorf("rmdir of a non-empty directory: %v, want ENOTEMPTY", errno)
	}
	if errno := l.Rename("dir", "dir/sub/x"); errno != sys.EINVAL {
		t.Errorf("rename into itself: %v, want EINVAL", errno)
	}
	if errno := l.Rename("empty", "dir"); errno != sys.ENOTEMPTY {
		t.Errorf("rename onto a non-empty directory: %v, want ENOTEMPTY", errno)
	}
	if ok, _ := afero.DirExists(m, "/dir/sub"); !ok {
		t.Error("dir/sub is gone from the MemMapFs")
	}
	if got, _ := afero.ReadFile(m, "/dir/sub/c.txt"); string(got) != "c" {
		t.Errorf("dir/sub/c.txt: %q", got)
	}
}

// TestFromAferoBasePathLinks: BasePathFs stores a link as a host path; the
// guest reads it back relative, and a host link leading out of the base
// reads as EPERM, never as the host path. Error texts are errnos only.
func TestFromAferoBasePathLinks(t *testing.T) {
	dir := hostFixture(t)
	l := vfs.FromAfero(afero.NewBasePathFs(afero.NewOsFs(), dir))
	if errno := l.Symlink("sub/c.txt", "dir/s"); errno != 0 {
		t.Fatal(errno)
	}
	onHost, err := os.Readlink(filepath.Join(dir, "dir/s"))
	if err != nil || !strings.HasPrefix(onHost, dir) {
		t.Fatalf("BasePathFs no longer stores a host path (%q, %v): the translation may be obsolete", onHost, err)
	}
	if got, errno := l.Readlink("dir/s"); errno != 0 || got != "sub/c.txt" {
		t.Errorf("readlink: %q %v, want sub/c.txt", got, errno)
	}
	if got, _ := readAll(t, l, "dir/s"); got != "c" {
		t.Errorf("read through the link: %q", got)
	}
	if err := os.Symlink(filepath.Join(t.TempDir(), "secret"), filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if got, errno := l.Readlink("out"); errno != sys.EPERM || got != "" {
		t.Errorf("readlink of a host link out of the base: %q %v, want EPERM", got, errno)
	}
	for _, errno := range []sys.Errno{l.Symlink("/etc/passwd", "abs"), l.Symlink("../../x", "dir/up")} {
		if errno != sys.EPERM {
			t.Errorf("link leading out: %v, want EPERM", errno)
		}
	}
	_, errno := l.Stat("missing/x")
	if errno != sys.ENOENT || strings.Contains(errno.Error(), dir) {
		t.Errorf("stat of a missing name: %v", errno)
	}
}

// TestFromAferoMountLimit: an afero mount's open files count against
// Limits.MaxOpenFiles like any mount's.
func TestFromAferoMountLimit(t *testing.T) {
	_, l := memMapFixture(t)
	root, err := vfs.Limits{MaxOpenFiles: 3}.NewMountFS([]vfs.Mount{{Guest: "/data", FS: l}})
	if err != nil {
		t.Fatal(err)
	}
	var open []sys.File
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	for i := range 4 {
		f, errno := root.OpenFile("data/hello.txt", sys.O_RDONLY, 0)
		if i == 3 {
			if errno == 0 {
				t.Fatal("a fourth file opened past MaxOpenFiles 3")
			}
			break
		}
		if errno != 0 {
			t.Fatalf("open %d: %v", i, errno)
		}
		open = append(open, f)
	}
}
