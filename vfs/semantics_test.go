package vfs_test

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/spf13/afero"
	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// semLayers returns one of each layer a guest can write to, each
// holding the directory "d", the file "f" and the link "l" → "f".
func semLayers(t *testing.T) map[string]sys.FS {
	t.Helper()
	dir := t.TempDir()
	host, err := vfs.Host(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	asset, err := vfs.Asset(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layers := map[string]sys.FS{
		"host":    host,
		"memfs":   vfs.NewMemFS(1 << 20),
		"overlay": vfs.NewCopyOnWriteFS(mapLayer(t, map[string]string{"lower": "x"})),
		"asset":   asset,
		"afero":   vfs.FromAfero(afero.NewMemMapFs()),
	}
	for name, l := range layers {
		if errno := l.Mkdir("d", 0o755); errno != 0 {
			t.Fatalf("%s: mkdir: %v", name, errno)
		}
		if errno := writeFile(t, l, "f", "data", 0); errno != 0 {
			t.Fatalf("%s: write: %v", name, errno)
		}
		if name != "afero" { // MemMapFs has no symbolic links
			if errno := l.Symlink("f", "l"); errno != 0 {
				t.Fatalf("%s: symlink: %v", name, errno)
			}
		}
	}
	return layers
}

// TestErrnosBeyondWazero: the errnos wazero's set has no name for are
// returned as vfs's own values, not as EIO: a rename or link between two
// mounts is EXDEV, removing a mount point EBUSY (EROFS in a synthesized directory), a full scratch layer
// ENOSPC (TestMemFSCap), the open-file limit EMFILE (TestMaxOpenFiles).
func TestErrnosBeyondWazero(t *testing.T) {
	a, b := vfs.NewMemFS(1<<20), vfs.NewMemFS(1<<20)
	m, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/a", FS: a}, {Guest: "/b", FS: b}})
	if err != nil {
		t.Fatal(err)
	}
	if errno := writeFile(t, m, "a/f", "x", 0); errno != 0 {
		t.Fatal(errno)
	}
	if errno := m.Rename("a/f", "b/f"); errno != vfs.EXDEV {
		t.Errorf("rename across mounts: %v, want EXDEV", errno)
	}
	if errno := m.Link("a/f", "b/f"); errno != vfs.EXDEV {
		t.Errorf("link across mounts: %v, want EXDEV", errno)
	}
	// A mount point under a synthesized (read-only) directory: EROFS, since
	// Linux checks the parent's mount first; under a writable mount, EBUSY.
	if errno := m.Rmdir("a"); errno != sys.EROFS {
		t.Errorf("rmdir of a mount point in a synthesized directory: %v, want EROFS", errno)
	}
	nested, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/a", FS: vfs.NewMemFS(1 << 20)}, {Guest: "/a/b", FS: vfs.NewMemFS(1 << 20)}})
	if err != nil {
		t.Fatal(err)
	}
	if errno := nested.Rmdir("a/b"); errno != vfs.EBUSY {
		t.Errorf("rmdir of a mount point in a writable mount: %v, want EBUSY", errno)
	}
	for _, e := range []sys.Errno{vfs.ENOSPC, vfs.EXDEV, vfs.EMFILE, vfs.EBUSY, vfs.ENOTCAPABLE} {
		if e <= sys.EROFS {
			t.Errorf("%d is inside wazero's range", e)
		}
		if vfs.ErrnoString(e) == e.Error() {
			t.Errorf("%d has no message of its own", e)
		}
	}
}

// TestDotDotAtMountRoot: "mnt/.." is the directory above the mount in the
// mount table, and ".." at the root of the routing tree is the root itself,
// as "/.." is on Linux; also when the only mount is at "/".
func TestDotDotAtMountRoot(t *testing.T) {
	host, err := vfs.Host(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/data", FS: host}, {Guest: "/usr/lib", FS: vfs.NewMemFS(1 << 20)}})
	if err != nil {
		t.Fatal(err)
	}
	root, errno := m.Stat(".")
	if errno != 0 {
		t.Fatal(errno)
	}
	usr, errno := m.Stat("usr")
	if errno != 0 {
		t.Fatal(errno)
	}
	for p, want := range map[string]uint64{
		"data/..": root.Ino, "usr/lib/..": usr.Ino, "usr/lib/../..": root.Ino,
		"..": root.Ino, "../..": root.Ino, "../data/..": root.Ino, "usr/..": root.Ino,
	} {
		for _, follow := range []bool{true, false} {
			st, errno := m.Stat(p)
			if !follow {
				st, errno = m.Lstat(p)
			}
			if errno != 0 || st.Ino != want || !st.Mode.IsDir() {
				t.Errorf("stat %q (follow %v): ino %d mode %v %v, want ino %d, a directory", p, follow, st.Ino, st.Mode, errno, want)
			}
		}
	}
	f, errno := m.OpenFile("data/..", sys.O_RDONLY|sys.O_DIRECTORY, 0)
	if errno != 0 {
		t.Fatalf("open data/..: %v", errno)
	}
	f.Close()

	only, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/", FS: host}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := only.Stat(".")
	for _, p := range []string{"..", "../.."} {
		if st, errno := only.Stat(p); errno != 0 || st.Ino != r.Ino {
			t.Errorf("single mount at /: stat %q: ino %d %v, want the root's %d", p, st.Ino, errno, r.Ino)
		}
	}
}

// TestSynthesizedDirsReadOnly: the directories the mount table makes up
// above the mounts report mode 0555 and refuse every change with EROFS,
// creating a name in them included (which used to be ENOENT, so a guest
// that saw "/" as writable went on to fail there).
func TestSynthesizedDirsReadOnly(t *testing.T) {
	m, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/data", FS: vfs.NewMemFS(1 << 20)}, {Guest: "/usr/lib/x", FS: vfs.NewMemFS(1 << 20)}})
	if err != nil {
		t.Fatal(err)
	}
	if errno := writeFile(t, m, "data/f", "x", 0); errno != 0 {
		t.Fatal(errno)
	}
	for _, p := range []string{".", "usr", "usr/lib"} {
		st, errno := m.Stat(p)
		if errno != 0 || st.Mode != fs.ModeDir|0o555 {
			t.Errorf("stat %q: %v %v, want dr-xr-xr-x", p, st.Mode, errno)
		}
	}
	for _, dir := range []string{"", "usr/", "usr/lib/"} {
		n := dir + "new"
		checks := map[string]sys.Errno{
			"create":        writeFile(t, m, n, "x", 0),
			"mkdir":         m.Mkdir(n, 0o755),
			"symlink":       m.Symlink("data/f", n),
			"link":          m.Link("data/f", n),
			"rename into":   m.Rename("data/f", n),
			"unlink":        m.Unlink(n),
			"rmdir":         m.Rmdir(n),
			"chmod":         m.Chmod(dir+".", 0o777),
			"utimens":       m.Utimens(dir+".", 1e9, 1e9),
			"chmod missing": m.Chmod(n, 0o777),
		}
		for op, errno := range checks {
			want := sys.EROFS
			if op == "chmod missing" {
				want = sys.ENOENT
			}
			if errno != want {
				t.Errorf("%s %q in a synthesized directory: %v, want %v", op, n, errno, want)
			}
		}
	}
	if _, errno := m.Stat("data/f"); errno != 0 {
		t.Errorf("data/f after the refused rename: %v", errno)
	}
}

// TestLinkToDirectory: a hard link to a directory fails with EPERM on
// every writable layer and through the mount table, as link(2) on Linux.
func TestLinkToDirectory(t *testing.T) {
	for name, l := range semLayers(t) {
		if errno := l.Link("d", "d2"); errno != sys.EPERM {
			t.Errorf("%s: link to a directory: %v, want EPERM", name, errno)
		}
		m, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/m", FS: l}, {Guest: "/other", FS: vfs.NewMemFS(1 << 10)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, old := range []string{"m/d", "m", "."} {
			if errno := m.Link(old, "m/d3"); errno != sys.EPERM {
				t.Errorf("%s: link %q through the mount table: %v, want EPERM", name, old, errno)
			}
		}
	}
}

// TestLutimens: the times of a symbolic link itself change, not its
// target's, on every layer with links and through the mount table.
func TestLutimens(t *testing.T) {
	for name, l := range semLayers(t) {
		if name == "afero" {
			continue
		}
		m, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/m", FS: l}, {Guest: "/other", FS: vfs.NewMemFS(1 << 10)}})
		if err != nil {
			t.Fatal(err)
		}
		for fsName, fsys := range map[string]sys.FS{"layer": l, "mount table": m} {
			p := "l"
			if fsName == "mount table" {
				p = "m/l"
			}
			lfs, ok := fsys.(vfs.LutimensFS)
			if !ok {
				t.Fatalf("%s %s: no Lutimens", name, fsName)
			}
			before, _ := fsys.Stat(p)
			const when = 1_000_000_000 * 1_000_000_000
			if errno := lfs.Lutimens(p, when, when); errno != 0 {
				t.Fatalf("%s %s: lutimens: %v", name, fsName, errno)
			}
			link, _ := fsys.Lstat(p)
			target, _ := fsys.Stat(p)
			if link.Mtim != when || link.Atim != when {
				t.Errorf("%s %s: link times %d/%d, want %d", name, fsName, link.Atim, link.Mtim, when)
			}
			if target.Mtim != before.Mtim {
				t.Errorf("%s %s: target mtime changed from %d to %d", name, fsName, before.Mtim, target.Mtim)
			}
		}
	}
	ro, err := vfs.Host(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	if errno := ro.(vfs.LutimensFS).Lutimens(".", 1e9, 1e9); errno != sys.EROFS {
		t.Errorf("read-only host: %v, want EROFS", errno)
	}
}

// TestDevFS: null reads EOF and swallows writes, zero reads zeros, urandom
// random bytes; all three are character devices, open for writing (also
// with O_CREAT|O_TRUNC, as a shell redirection opens them), and the
// directory's names cannot change.
func TestDevFS(t *testing.T) {
	d := vfs.NewDevFS()
	m, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/dev", FS: d}, {Guest: "/tmp", FS: vfs.NewMemFS(1 << 10)}})
	if err != nil {
		t.Fatal(err)
	}
	ents := listDir(t, m, "dev")
	if len(ents) != 3 || ents[0].Name != "null" || ents[1].Name != "urandom" || ents[2].Name != "zero" {
		t.Fatalf("listing: %v", ents)
	}
	for _, e := range ents {
		if e.Type != fs.ModeDevice|fs.ModeCharDevice {
			t.Errorf("%s: type %v", e.Name, e.Type)
		}
	}
	inos := map[uint64]bool{}
	for _, name := range []string{"null", "zero", "urandom"} {
		st, errno := m.Stat("dev/" + name)
		if errno != 0 || st.Mode != fs.ModeDevice|fs.ModeCharDevice|0o666 {
			t.Errorf("%s: mode %v %v", name, st.Mode, errno)
		}
		inos[st.Ino] = true
		f, errno := m.OpenFile("dev/"+name, sys.O_RDWR|sys.O_CREAT|sys.O_TRUNC, 0o644)
		if errno != 0 {
			t.Fatalf("%s: open: %v", name, errno)
		}
		if n, errno := f.Write([]byte("discarded")); n != 9 || errno != 0 {
			t.Errorf("%s: write: %d %v", name, n, errno)
		}
		buf := bytes.Repeat([]byte{0xff}, 64)
		n, errno := f.Read(buf)
		switch name {
		case "null":
			if n != 0 || errno != 0 {
				t.Errorf("null: read %d %v, want EOF", n, errno)
			}
		case "zero":
			if n != 64 || errno != 0 || !bytes.Equal(buf, make([]byte, 64)) {
				t.Errorf("zero: read %d %v %x", n, errno, buf)
			}
		case "urandom":
			if n != 64 || errno != 0 || bytes.Equal(buf, make([]byte, 64)) || bytes.Equal(buf, bytes.Repeat([]byte{0xff}, 64)) {
				t.Errorf("urandom: read %d %v %x", n, errno, buf)
			}
		}
		if st, errno := f.Stat(); errno != 0 || st.Mode&fs.ModeCharDevice == 0 {
			t.Errorf("%s: fstat %v %v", name, st.Mode, errno)
		}
		f.Close()
	}
	if len(inos) != 3 {
		t.Errorf("inodes not distinct: %v", inos)
	}
	if _, errno := m.OpenFile("dev/null", sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL, 0o644); errno != sys.EEXIST {
		t.Errorf("O_EXCL on null: %v, want EEXIST", errno)
	}
	if _, errno := m.OpenFile("dev/new", sys.O_WRONLY|sys.O_CREAT, 0o644); errno != sys.EROFS {
		t.Errorf("create in /dev: %v, want EROFS", errno)
	}
	if _, errno := m.OpenFile("dev/nope", sys.O_RDONLY, 0); errno != sys.ENOENT {
		t.Errorf("open missing: %v, want ENOENT", errno)
	}
	if _, errno := m.OpenFile("dev/null", sys.O_RDONLY|sys.O_DIRECTORY, 0); errno != sys.ENOTDIR {
		t.Errorf("open null as a directory: %v, want ENOTDIR", errno)
	}
	for op, errno := range map[string]sys.Errno{
		"unlink": m.Unlink("dev/null"), "rename": m.Rename("dev/null", "dev/x"), "mkdir": m.Mkdir("dev/x", 0o755),
		"symlink": m.Symlink("null", "dev/x"), "link": m.Link("dev/null", "dev/x"),
	} {
		if errno != sys.EROFS {
			t.Errorf("%s in /dev: %v, want EROFS", op, errno)
		}
	}
	f, errno := m.OpenFile("dev/null", sys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer f.Close()
	if _, errno := f.Write([]byte("x")); errno != sys.EBADF {
		t.Errorf("write to null opened read-only: %v, want EBADF", errno)
	}
}

func listDir(t *testing.T, fsys sys.FS, p string) []sys.Dirent {
	t.Helper()
	f, errno := fsys.OpenFile(p, sys.O_RDONLY|sys.O_DIRECTORY, 0)
	if errno != 0 {
		t.Fatalf("open %q: %v", p, errno)
	}
	defer f.Close()
	ents, errno := f.Readdir(-1)
	if errno != 0 {
		t.Fatalf("readdir %q: %v", p, errno)
	}
	return ents
}
