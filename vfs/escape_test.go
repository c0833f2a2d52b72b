package vfs_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/vfs/vfstest"
)

// escapeFixture is a host directory holding links that lead outside it,
// made on the host (not by the guest).
func escapeFixture(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Symlink("../../../../../../../../etc/passwd", filepath.Join(dir, "hostlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "hostdir")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEscapeGuest has a guest try every way out of its mount: a relative
// symlink it creates climbing to /etc/passwd, an absolute symlink, "../"
// and "/.." paths, and links made on the host. wazero's own DirFS lets the
// first through (the reason host mounts use os.Root); no vfs layer does.
func TestEscapeGuest(t *testing.T) {
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatalf("the escape test reads /etc/passwd as the host file to protect: %v", err)
	}
	r := newRunner(t)
	out := r.run(t, "c/fsops", dirFSConfig(escapeFixture(t)), "escape", "/m")
	if !strings.Contains(out, "open rel escape: LEAKED") {
		t.Fatalf("the attack no longer works on wazero's DirFS, so this test proves nothing:\n%s", out)
	}
	layers := []layer{
		{"host-rw", func(t testing.TB) sys.FS {
			fsys, err := vfs.Host(escapeFixture(t.(*testing.T)), false)
			return must(t, fsys, err)
		}},
		{"host-ro", func(t testing.TB) sys.FS {
			fsys, err := vfs.Host(escapeFixture(t.(*testing.T)), true)
			return must(t, fsys, err)
		}},
		{"asset", func(t testing.TB) sys.FS { fsys, err := vfs.Asset(hostFixture(t)); return must(t, fsys, err) }},
		{"memfs", func(testing.TB) sys.FS { return vfs.NewMemFS(0) }},
		{"afero-memmap", func(testing.TB) sys.FS { return vfs.FromAfero(afero.NewMemMapFs()) }},
		{"afero-basepath", func(t testing.TB) sys.FS {
			// a directory without links the host made: BasePathFs
			// confines names, not links (see FromAfero)
			return vfs.FromAfero(afero.NewBasePathFs(afero.NewOsFs(), hostFixture(t)))
		}},
		{"cow-fromfs", func(testing.TB) sys.FS { return vfs.NewCopyOnWriteFS(vfs.FromFS(vfstest.MapFS(vfstest.Fixture()))) }},
		{"cow-tar", func(t testing.TB) sys.FS { return vfs.NewCopyOnWriteFS(tarFixture(t, all)) }},
		{"cow-host-ro", func(t testing.TB) sys.FS {
			fsys, err := vfs.Host(escapeFixture(t.(*testing.T)), true)
			return vfs.NewCopyOnWriteFS(must(t, fsys, err))
		}},
	}
	for _, l := range layers {
		t.Run(l.name, func(t *testing.T) {
			out := r.run(t, "c/fsops", vfsConfig(t, l.new(t)), "escape", "/m")
			if strings.Contains(out, "LEAKED") {
				t.Errorf("escaped the mount:\n%s", out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.HasPrefix(line, "open ") && !strings.Contains(line, "refused") {
					t.Errorf("not refused: %s", line)
				}
			}
			t.Logf("\n%s", out)
		})
	}
}

// TestEscapeHostAPI calls the host layer directly with paths that leave it.
func TestEscapeHostAPI(t *testing.T) {
	dir := escapeFixture(t)
	fsys, err := vfs.Host(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../x", "/../etc/passwd", "hostlink", "hostdir/passwd", "a/../../etc"} {
		if _, errno := fsys.Stat(p); errno == 0 {
			t.Errorf("Stat(%q) succeeded", p)
		}
		if f, errno := fsys.OpenFile(p, sys.O_RDONLY, 0); errno == 0 {
			f.Close()
			t.Errorf("OpenFile(%q) succeeded", p)
		} else if strings.Contains(errno.Error(), dir) {
			t.Errorf("error %q reveals the host path", errno)
		}
	}
	if errno := fsys.Symlink("/etc", "abs"); errno != sys.EPERM {
		t.Errorf("Symlink to an absolute path: got %v, want EPERM", errno)
	}
}

func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// TestEscapeArchive feeds the tar layer every kind of entry that would lead
// outside: each archive is refused as a whole, naming the entry.
func TestEscapeArchive(t *testing.T) {
	for name, h := range map[string]*tar.Header{
		"dotdot":            {Name: "../evil", Typeflag: tar.TypeReg},
		"nested dotdot":     {Name: "a/../../evil", Typeflag: tar.TypeReg},
		"absolute":          {Name: "/etc/passwd", Typeflag: tar.TypeReg},
		"absolute symlink":  {Name: "etc", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
		"escaping symlink":  {Name: "a/up", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd"},
		"escaping hardlink": {Name: "h", Typeflag: tar.TypeLink, Linkname: "../etc/passwd"},
	} {
		t.Run(name, func(t *testing.T) {
			b := tarOf(t, h)
			_, err := vfs.NewTarLayer(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, vfs.ErrUnsafeEntry) {
				t.Fatalf("got %v, want ErrUnsafeEntry", err)
			}
			t.Log(err)
		})
	}
}

// TestEscapeDirAndMapLayers refuses asset sources with links that lead
// outside.
func TestEscapeDirAndMapLayers(t *testing.T) {
	_, err := vfs.NewDirLayer(escapeFixture(t))
	if !errors.Is(err, vfs.ErrUnsafeEntry) {
		t.Errorf("dir layer: got %v, want ErrUnsafeEntry", err)
	}
	for _, m := range []map[string]vfs.MapFile{
		{"../x": {Data: []byte("x")}},
		{"/x": {Data: []byte("x")}},
		{"l": {Mode: fs.ModeSymlink, Data: []byte("/etc")}},
		{"a/l": {Mode: fs.ModeSymlink, Data: []byte("../../etc")}},
	} {
		if _, err := vfs.NewMapLayer(m); !errors.Is(err, vfs.ErrUnsafeEntry) {
			t.Errorf("map layer %v: got %v, want ErrUnsafeEntry", m, err)
		}
	}
}
