package vfs_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// fillFile writes f in 4 KiB chunks until a write fails and returns how
// many bytes went in; it gives up after max bytes.
func fillFile(f sys.File, max int) int {
	chunk := make([]byte, 4<<10)
	total := 0
	for total < max {
		n, errno := f.Write(chunk)
		total += n
		if errno != 0 {
			break
		}
	}
	return total
}

// TestMemFSUnlinkedOpenFileStaysCharged: the bytes of a file unlinked while
// open stay charged until its last close (they used to be credited at the
// unlink, so a guest kept unlimited bytes in unlinked open files).
func TestMemFSUnlinkedOpenFileStaysCharged(t *testing.T) {
	const limit = 256 << 10
	m := vfs.NewMemFS(limit)
	a, errno := m.OpenFile("a", sys.O_RDWR|sys.O_CREAT, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	b, errno := m.OpenFile("b", sys.O_RDWR|sys.O_CREAT, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	if got := fillFile(a, 2*limit); got > limit {
		t.Fatalf("wrote %d bytes into a %d-byte filesystem", got, limit)
	}
	if errno := m.Unlink("a"); errno != 0 {
		t.Fatal(errno)
	}
	if got := fillFile(b, 2*limit); got > 8<<10 {
		t.Fatalf("after unlinking the open file a, b took %d more bytes: a's bytes were credited while still held", got)
	}
	a.Close()
	if got := fillFile(b, 2*limit); got < limit/2 {
		t.Fatalf("after a's last close b took only %d bytes: a's bytes were not credited", got)
	}
	b.Close()
}

// TestMemFSUnlinkTruncateStaysBounded: unlink then ftruncate to 0 of an open
// file used to credit its bytes twice, so the accounting went negative and
// the cap grew with every round.
func TestMemFSUnlinkTruncateStaysBounded(t *testing.T) {
	const limit = 256 << 10
	m := vfs.NewMemFS(limit)
	for i := range 10 {
		name := fmt.Sprint("t", i)
		f, errno := m.OpenFile(name, sys.O_RDWR|sys.O_CREAT, 0o644)
		if errno != 0 {
			t.Fatal(errno)
		}
		fillFile(f, limit/2)
		if errno := m.Unlink(name); errno != 0 {
			t.Fatal(errno)
		}
		if errno := f.Truncate(0); errno != 0 {
			t.Fatal(errno)
		}
		f.Close()
	}
	f, errno := m.OpenFile("after", sys.O_RDWR|sys.O_CREAT, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer f.Close()
	if got := fillFile(f, 8*limit); got > limit {
		t.Fatalf("wrote %d bytes into a %d-byte filesystem after ten unlink+ftruncate rounds", got, limit)
	}
}

// TestMemFSCountsNamesAndLinks: names, empty files and link targets take
// host memory too, so they count against the cap (a million empty files in
// a 1 MiB /tmp used to cost 341 MB).
func TestMemFSCountsNamesAndLinks(t *testing.T) {
	const limit = 1 << 20
	long := strings.Repeat("n", 4000)
	for _, tc := range []struct {
		name string
		make func(m sys.FS, i int) sys.Errno
		each int // bytes each entry certainly holds on the host
	}{
		{"long names", func(m sys.FS, i int) sys.Errno {
			f, errno := m.OpenFile(fmt.Sprint(long, i), sys.O_WRONLY|sys.O_CREAT, 0o644)
			if errno == 0 {
				f.Close()
			}
			return errno
		}, 4000},
		{"empty files", func(m sys.FS, i int) sys.Errno {
			f, errno := m.OpenFile(fmt.Sprint(i), sys.O_WRONLY|sys.O_CREAT, 0o644)
			if errno == 0 {
				f.Close()
			}
			return errno
		}, 200},
		{"directories", func(m sys.FS, i int) sys.Errno { return m.Mkdir(fmt.Sprint(i), 0o755) }, 200},
		{"link targets", func(m sys.FS, i int) sys.Errno { return m.Symlink(long, fmt.Sprint(i)) }, 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := vfs.NewMemFS(limit)
			n := 0
			for ; n < 4*limit/tc.each; n++ {
				if errno := tc.make(m, n); errno != 0 {
					if errno != vfs.ENOSPC {
						t.Fatalf("entry %d: %v, want ENOSPC", n, errno)
					}
					break
				}
			}
			if n*tc.each > limit {
				t.Fatalf("made %d entries of at least %d bytes each in a %d-byte filesystem", n, tc.each, limit)
			}
			if n == 0 {
				t.Fatal("not one entry fits")
			}
		})
	}
}

// guestString returns a string that aliases b, as wazero hands a symbolic
// link's target over from guest memory.
func guestString(b []byte) string { return unsafe.String(&b[0], len(b)) }

// TestSymlinkTargetIsCopied: the target of a link made in memory must not
// change when the guest reuses the buffer it passed.
func TestSymlinkTargetIsCopied(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   func(t *testing.T) sys.FS
		dir  string
	}{
		{"memfs", func(*testing.T) sys.FS { return vfs.NewMemFS(0) }, ""},
		{"overlay", func(t *testing.T) sys.FS { return vfs.NewCopyOnWriteFS(mustLayer(t)) }, ""},
		{"mounts", func(t *testing.T) sys.FS {
			m, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/tmp", FS: vfs.NewMemFS(0)}, {Guest: "/a", FS: vfs.NewCopyOnWriteFS(mustLayer(t))}})
			return must(t, m, err)
		}, "tmp/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := tc.fs(t)
			buf := []byte("short-target")
			if errno := fsys.Symlink(guestString(buf), tc.dir+"l"); errno != 0 {
				t.Fatal(errno)
			}
			copy(buf, "/etc/passwd\x00")
			got, errno := fsys.Readlink(tc.dir + "l")
			if errno != 0 || got != "short-target" {
				t.Fatalf("readlink after the guest reused its buffer: %q, %v; want \"short-target\"", got, errno)
			}
		})
	}
}

// TestHostSymlinkOutsideRefused: a link whose target leads outside a host
// mount is refused (EPERM) and never reaches the host, where a backup
// would follow it; links that stay inside are made.
func TestHostSymlinkOutsideRefused(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	h, err := vfs.Host(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer h.(interface{ Close() error }).Close()
	if errno := h.Symlink(".", "dot"); errno != 0 {
		t.Fatalf("link to the directory itself: %v", errno)
	}
	for _, tc := range []struct{ target, link string }{
		{"../outside", "up"},
		{"sub/../../outside", "deep"},
		{"/etc/passwd", "abs"},
		{"dot/../x", "viadot"},
		{"../../x", "sub/twoup"},
		{"../x", "dot/up"}, // dot is the root: one up leaves it
	} {
		if errno := h.Symlink(tc.target, tc.link); errno != sys.EPERM {
			t.Errorf("symlink %s -> %s: %v, want EPERM", tc.link, tc.target, errno)
		}
	}
	for _, tc := range []struct{ target, link string }{
		{"sub/file", "inside"},
		{"../x", "sub/up"},
		{"../sub", "dot/sub/back"},
	} {
		if errno := h.Symlink(tc.target, tc.link); errno != 0 {
			t.Errorf("symlink %s -> %s: %v, want it made", tc.link, tc.target, errno)
		}
	}
	// Moving a link where its target leads out is refused too.
	if errno := h.Rename("sub/up", "up"); errno != sys.EPERM {
		t.Errorf("rename sub/up (-> ../x) to the top: %v, want EPERM", errno)
	}
	if errno := h.Link("sub/up", "up"); errno != sys.EPERM {
		t.Errorf("hard link of sub/up (-> ../x) at the top: %v, want EPERM", errno)
	}
	var links []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if d != nil && d.Type()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel, _ := filepath.Rel(dir, p)
			links = append(links, rel+" -> "+target)
		}
		return nil
	})
	want := "dot -> .,inside -> sub/file,sub/back -> ../sub,sub/up -> ../x"
	if got := strings.Join(links, ","); got != want {
		t.Errorf("links on the host: %s, want %s", got, want)
	}
}

// TestNestedReadOnlyMountThroughLink: a read-only mount nested in a
// read-write mount of its parent directory stays read-only when the guest
// reaches it through a link it makes in the parent, and a host directory
// hidden under another mount stays hidden.
func TestNestedReadOnlyMountThroughLink(t *testing.T) {
	nest := t.TempDir()
	os.MkdirAll(filepath.Join(nest, "ro"), 0o755)
	os.WriteFile(filepath.Join(nest, "ro", "keep.txt"), []byte("keep\n"), 0o644)
	os.MkdirAll(filepath.Join(nest, "secret"), 0o755)
	os.WriteFile(filepath.Join(nest, "secret", "key"), []byte("secret\n"), 0o644)
	rw, err := vfs.Host(nest, false)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := vfs.Host(filepath.Join(nest, "ro"), true)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vfs.NewMountFS([]vfs.Mount{
		{Guest: "/h", FS: rw}, {Guest: "/h/ro", FS: ro}, {Guest: "/h/secret", FS: vfs.NewMemFS(0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A link made on the host may climb out of the mount; it must not lead
	// anywhere from there.
	if err := os.Symlink("..", filepath.Join(nest, "up")); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ target, name string }{{"ro", "h/x"}, {"secret", "h/s"}, {"x", "h/y"}} {
		if errno := m.Symlink(l.target, l.name); errno != 0 {
			t.Fatalf("symlink %s -> %s: %v", l.name, l.target, errno)
		}
	}
	for _, p := range []string{"h/x/keep.txt", "h/y/keep.txt"} {
		if _, errno := m.OpenFile(p, sys.O_WRONLY|sys.O_TRUNC, 0); errno != sys.EROFS {
			t.Errorf("open %s for writing: %v, want EROFS", p, errno)
		}
		if errno := m.Unlink(p); errno != sys.EROFS {
			t.Errorf("unlink %s: %v, want EROFS", p, errno)
		}
		if got, errno := readAll(t, m, p); errno != 0 || got != "keep\n" {
			t.Errorf("read %s: %q, %v", p, got, errno)
		}
	}
	if _, errno := m.OpenFile("h/x/new", sys.O_WRONLY|sys.O_CREAT, 0o644); errno != sys.EROFS {
		t.Errorf("create h/x/new: %v, want EROFS", errno)
	}
	if got, errno := readAll(t, m, "h/s/key"); errno != sys.ENOENT {
		t.Errorf("read the hidden h/secret/key through a link: %q, %v; want ENOENT", got, errno)
	}
	if _, errno := m.Stat("h/up/x"); errno != sys.EPERM {
		t.Errorf("stat through a link above its mount: %v, want EPERM", errno)
	}
	if got, _ := os.ReadFile(filepath.Join(nest, "ro", "keep.txt")); !bytes.Equal(got, []byte("keep\n")) {
		t.Errorf("the host file in the read-only directory changed: %q", got)
	}
}

// TestOverlayBudgetShared: the copy-on-write overlays of one mount set share
// one budget (they used to have no cap at all).
func TestOverlayBudgetShared(t *testing.T) {
	const limit = 256 << 10
	a, b := vfs.NewCopyOnWriteFS(mustLayer(t)), vfs.NewCopyOnWriteFS(mustLayer(t))
	m, err := vfs.Limits{OverlayBytes: limit}.NewMountFS([]vfs.Mount{{Guest: "/a", FS: a}, {Guest: "/b", FS: b}})
	if err != nil {
		t.Fatal(err)
	}
	var files []sys.File
	for _, p := range []string{"a/fill", "b/fill"} {
		f, errno := m.OpenFile(p, sys.O_WRONLY|sys.O_CREAT, 0o644)
		if errno != 0 {
			t.Fatal(errno)
		}
		files = append(files, f)
	}
	total := 0
	for _, f := range files {
		total += fillFile(f, 2*limit)
		f.Close()
	}
	if total > limit {
		t.Fatalf("two overlays took %d bytes with a shared budget of %d", total, limit)
	}
	if total < limit/2 {
		t.Fatalf("two overlays took only %d bytes of a budget of %d", total, limit)
	}
}

// TestMaxOpenFiles: one count of open files across every mount, the
// pre-opened root included; past it EMFILE, and a close frees a slot.
func TestMaxOpenFiles(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "f"), nil, 0o644)
	h, err := vfs.Host(host, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mounts []vfs.Mount
		paths  []string
	}{
		{"mounts", []vfs.Mount{{Guest: "/tmp", FS: vfs.NewMemFS(0)}, {Guest: "/h", FS: h}}, []string{"tmp/f", "h/f"}},
		{"root only", []vfs.Mount{{Guest: "/", FS: vfs.NewMemFS(0)}}, []string{"f"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := vfs.Limits{MaxOpenFiles: 8}.NewMountFS(tc.mounts)
			if err != nil {
				t.Fatal(err)
			}
			var open []sys.File
			for i := 0; i < 20; i++ {
				f, errno := m.OpenFile(tc.paths[i%len(tc.paths)], sys.O_RDWR|sys.O_CREAT, 0o644)
				if errno != 0 {
					if errno != vfs.EMFILE || len(open) != 8 {
						t.Fatalf("open %d failed with %v after %d opens, want EMFILE after 8", i, errno, len(open))
					}
					break
				}
				open = append(open, f)
			}
			if len(open) != 8 {
				t.Fatalf("%d files open, want the limit of 8", len(open))
			}
			open[0].Close()
			open[0].Close() // a second close frees nothing
			f, errno := m.OpenFile(tc.paths[0], sys.O_RDONLY, 0)
			if errno != 0 {
				t.Fatalf("open after a close: %v", errno)
			}
			if _, errno := m.OpenFile(tc.paths[0], sys.O_RDONLY, 0); errno != vfs.EMFILE {
				t.Fatalf("open past the limit again: %v, want EMFILE", errno)
			}
			f.Close()
			for _, f := range open[1:] {
				f.Close()
			}
		})
	}
}
