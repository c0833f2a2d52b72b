package vfs_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

func readAll(t testing.TB, fsys sys.FS, p string) (string, sys.Errno) {
	t.Helper()
	f, errno := fsys.OpenFile(p, sys.O_RDONLY, 0)
	if errno != 0 {
		return "", errno
	}
	defer f.Close()
	var b bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, errno := f.Read(buf)
		if errno != 0 {
			return "", errno
		}
		if n == 0 {
			return b.String(), 0
		}
		b.Write(buf[:n])
	}
}

func writeFile(t testing.TB, fsys sys.FS, p, data string, flag sys.Oflag) sys.Errno {
	t.Helper()
	f, errno := fsys.OpenFile(p, sys.O_WRONLY|sys.O_CREAT|flag, 0o644)
	if errno != 0 {
		return errno
	}
	defer f.Close()
	_, errno = f.Write([]byte(data))
	return errno
}

// TestMemFSCap fills a scratch filesystem to its cap: the write that would
// pass it fails (ENOSPC) and
// removing a file gives the space back. Each file costs 256 bytes, its
// directory entry 64 bytes and its name.
func TestMemFSCap(t *testing.T) {
	const perFile = 256 + 64 + 1
	m := vfs.NewMemFS(2*perFile + 10)
	if errno := writeFile(t, m, "a", "123456", 0); errno != 0 {
		t.Fatal(errno)
	}
	if errno := writeFile(t, m, "b", "12345", 0); errno != vfs.ENOSPC {
		t.Fatalf("write past the cap: %v, want ENOSPC", errno)
	}
	if errno := m.Unlink("a"); errno != 0 {
		t.Fatal(errno)
	}
	if errno := writeFile(t, m, "b", "1234567890", 0); errno != 0 {
		t.Fatalf("after freeing space: %v", errno)
	}
	// Growing a file leaves a hole, which costs nothing until written, as
	// on tmpfs; the block table of a huge one does not fit.
	m = vfs.NewMemFS(8 << 10)
	f, errno := m.OpenFile("hole", sys.O_RDWR|sys.O_CREAT, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer f.Close()
	if errno := f.Truncate(1 << 20); errno != 0 {
		t.Fatalf("truncate to leave a hole: %v", errno)
	}
	if _, errno := f.Pwrite(make([]byte, 16<<10), 1<<19); errno != vfs.ENOSPC {
		t.Fatalf("write into the hole past the cap: %v, want ENOSPC", errno)
	}
	if errno := f.Truncate(1 << 50); errno != vfs.ENOSPC {
		t.Fatalf("truncate to 1 PiB: %v, want ENOSPC", errno)
	}
	if st, _ := f.Stat(); st.Size != 1<<20 {
		t.Fatalf("size after the failed changes: %d, want %d", st.Size, 1<<20)
	}
}

// TestCopyOnWriteLeavesBase changes, deletes and renames base files in two
// overlays over one base: the host directory behind the base never
// changes, and each overlay sees only its own changes.
func TestCopyOnWriteLeavesBase(t *testing.T) {
	dir := hostFixture(t)
	base, err := vfs.NewDirLayer(dir)
	if err != nil {
		t.Fatal(err)
	}
	hostRO, err := vfs.Host(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]sys.FS{"dir layer": base, "host ro": hostRO} {
		t.Run(name, func(t *testing.T) {
			one, two := vfs.NewCopyOnWriteFS(b), vfs.NewCopyOnWriteFS(b)
			stBefore, _ := one.Stat("hello.txt")
			if errno := writeFile(t, one, "hello.txt", "changed", sys.O_TRUNC); errno != 0 {
				t.Fatal(errno)
			}
			if errno := one.Unlink("dir/a.txt"); errno != 0 {
				t.Fatal(errno)
			}
			if errno := one.Rename("dir/b.txt", "moved.txt"); errno != 0 {
				t.Fatal(errno)
			}
			if errno := one.Rename("dir", "dir2"); errno != 0 {
				t.Fatal(errno)
			}
			if got, _ := readAll(t, one, "hello.txt"); got != "changed" {
				t.Errorf("overlay one reads %q", got)
			}
			if st, _ := one.Stat("hello.txt"); st.Ino != stBefore.Ino {
				t.Errorf("inode changed on copy-up: %d → %d", stBefore.Ino, st.Ino)
			}
			if got, _ := readAll(t, one, "moved.txt"); got != "bbbbbb" {
				t.Errorf("renamed base file reads %q", got)
			}
			if _, errno := one.Stat("dir2/a.txt"); errno != sys.ENOENT {
				t.Errorf("deleted base file: %v, want ENOENT (whiteout)", errno)
			}
			if got, _ := readAll(t, one, "dir2/sub/c.txt"); got != "c" {
				t.Errorf("file under a renamed base directory reads %q", got)
			}
			if got, _ := readAll(t, two, "hello.txt"); got != "hello, world\n" {
				t.Errorf("overlay two sees overlay one's write: %q", got)
			}
			if _, errno := two.Stat("dir/a.txt"); errno != 0 {
				t.Errorf("overlay two sees overlay one's delete: %v", errno)
			}
			for p, want := range map[string]string{"hello.txt": "hello, world\n", "dir/a.txt": "aaa", "dir/b.txt": "bbbbbb"} {
				if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != want {
					t.Errorf("host file %s changed: %q %v", p, got, err)
				}
			}
		})
	}
}

// TestMapLayerSharesBytes reads through two overlays over one map layer
// and writes through one: the caller's slice is never written.
func TestMapLayerSharesBytes(t *testing.T) {
	data := []byte("shared bytes")
	l, err := vfs.NewMapLayer(map[string]vfs.MapFile{"f": {Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := vfs.NewCopyOnWriteFS(l), vfs.NewCopyOnWriteFS(l)
	f, errno := a.OpenFile("f", sys.O_RDWR, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if _, errno := f.Pwrite([]byte("SHARED"), 0); errno != 0 {
		t.Fatal(errno)
	}
	f.Close()
	if string(data) != "shared bytes" {
		t.Errorf("the layer's bytes were written: %q", data)
	}
	if got, _ := readAll(t, b, "f"); got != "shared bytes" {
		t.Errorf("other instance reads %q", got)
	}
	if got, _ := readAll(t, a, "f"); got != "SHARED bytes" {
		t.Errorf("writer reads %q", got)
	}
}

// TestReadOnlyLayersConcurrent reads one tar and one dir layer from many
// goroutines at once, each with its own overlay, as many instances do.
// Run with -race.
func TestReadOnlyLayersConcurrent(t *testing.T) {
	layers := map[string]sys.FS{"tar": tarFixture(t, all), "dir": mustLayer(t)}
	for name, l := range layers {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					o := vfs.NewCopyOnWriteFS(l)
					for j := range 50 {
						if got, errno := readAll(t, l, "dir/sub/c.txt"); errno != 0 || got != "c" {
							t.Errorf("layer read: %q %v", got, errno)
							return
						}
						if errno := writeFile(t, o, fmt.Sprintf("dir/new%d-%d", i, j), "x", 0); errno != 0 {
							t.Errorf("overlay write: %v", errno)
							return
						}
						if got, _ := readAll(t, o, "link"); got != "hello, world\n" {
							t.Errorf("overlay read through link: %q", got)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestUnionLaterWins stacks three layers.
func TestUnionLaterWins(t *testing.T) {
	u := vfs.NewUnion(
		mapLayer(t, map[string]string{"a": "1", "d/x": "1", "shadow/y": "1"}),
		mapLayer(t, map[string]string{"a": "2", "d/y": "2"}),
		mapLayer(t, map[string]string{"shadow": "file"}),
	)
	for p, want := range map[string]string{"a": "2", "d/x": "1", "d/y": "2", "shadow": "file"} {
		if got, errno := readAll(t, u, p); errno != 0 || got != want {
			t.Errorf("%s: %q %v, want %q", p, got, errno, want)
		}
	}
	if _, errno := u.Stat("shadow/y"); errno != sys.ENOTDIR {
		t.Errorf("a file in a later layer hides the directory below: %v, want ENOTDIR", errno)
	}
	if errno := writeFile(t, u, "new", "x", 0); errno != sys.EROFS {
		t.Errorf("write to a union: %v, want EROFS", errno)
	}
}

// TestTarLayerLarge checks offsets past the first entries and a file read
// in pieces with Pread.
func TestTarLayerLarge(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<12)
	b := tarBytes(t, map[string][]byte{"a/small": []byte("s"), "a/big": big, "z": []byte("zz")})
	l, err := vfs.NewTarLayer(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	got, errno := readAll(t, l, "a/big")
	if errno != 0 || got != string(big) {
		t.Fatalf("big: %d bytes %v", len(got), errno)
	}
	f, _ := l.OpenFile("z", sys.O_RDONLY, 0)
	defer f.Close()
	buf := make([]byte, 8)
	if n, errno := f.Pread(buf, 1); errno != 0 || string(buf[:n]) != "z" {
		t.Errorf("pread z@1: %q %v", buf[:n], errno)
	}
	if _, errno := f.Seek(0, io.SeekEnd); errno != 0 {
		t.Error(errno)
	}
}

func mustLayer(t *testing.T) sys.FS {
	l, err := vfs.NewDirLayer(hostFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestInodes: stable per file, distinct between files and between layers,
// kept by the overlay across copy-up and rename.
func TestInodes(t *testing.T) {
	a, b := mapLayer(t, map[string]string{"x": "1", "y": "2"}), mapLayer(t, map[string]string{"x": "1"})
	ax1, _ := a.Stat("x")
	ax2, _ := a.Stat("x")
	ay, _ := a.Stat("y")
	bx, _ := b.Stat("x")
	if ax1.Ino != ax2.Ino || ax1.Ino == ay.Ino || ax1.Ino == bx.Ino || ax1.Ino == 0 {
		t.Errorf("inodes: x %d/%d, y %d, other layer's x %d", ax1.Ino, ax2.Ino, ay.Ino, bx.Ino)
	}
	o := vfs.NewCopyOnWriteFS(a)
	writeFile(t, o, "x", "changed", sys.O_TRUNC)
	o.Rename("x", "z")
	if oz, _ := o.Stat("z"); oz.Ino != ax1.Ino {
		t.Errorf("overlay inode %d, base %d", oz.Ino, ax1.Ino)
	}
	m1, m2 := vfs.NewMemFS(0), vfs.NewMemFS(0)
	writeFile(t, m1, "f", "", 0)
	writeFile(t, m2, "f", "", 0)
	s1, _ := m1.Stat("f")
	s2, _ := m2.Stat("f")
	if s1.Ino == s2.Ino {
		t.Errorf("two scratch filesystems share inode %d", s1.Ino)
	}
}

// TestTarLayerTruncated: an entry that claims more bytes than the archive
// holds is refused, never read past the end (the archive may be mapped).
func TestTarLayerTruncated(t *testing.T) {
	b := tarBytes(t, map[string][]byte{"big": bytes.Repeat([]byte("x"), 10000)})
	path := filepath.Join(t.TempDir(), "a.tar")
	if err := os.WriteFile(path, b[:2048], 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := vfs.NewTarLayer(f, 2048); err == nil {
		t.Fatal("a truncated archive was accepted")
	} else {
		t.Log(err)
	}
	// A size larger than the file: no mapping, and still refused.
	if _, err := vfs.NewTarLayer(f, int64(len(b))); err == nil {
		t.Fatal("an archive shorter than its size was accepted")
	}
}

// TestTarLayerFromFile serves a tar file (mapped into memory on Linux) to
// many readers and closes it.
func TestTarLayerFromFile(t *testing.T) {
	b := tarBytes(t, map[string][]byte{"a/x": []byte("hello"), "b": bytes.Repeat([]byte("y"), 70000)})
	path := filepath.Join(t.TempDir(), "a.tar")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := vfs.NewTarLayer(f, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, l, "a/x"); got != "hello" {
		t.Errorf("a/x: %q", got)
	}
	if got, _ := readAll(t, vfs.NewCopyOnWriteFS(l), "b"); len(got) != 70000 {
		t.Errorf("b: %d bytes", len(got))
	}
	if err := l.(io.Closer).Close(); err != nil {
		t.Error(err)
	}
}
