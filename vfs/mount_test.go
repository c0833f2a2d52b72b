package vfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

func mapLayer(t *testing.T, files map[string]string) sys.FS {
	t.Helper()
	m := map[string]vfs.MapFile{}
	for p, data := range files {
		m[p] = vfs.MapFile{Data: []byte(data)}
	}
	l, err := vfs.NewMapLayer(m)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestNestedMounts mounts two packages at /usr/local/lib and at
// /usr/local/lib/python3.11/site-packages, which the first does not
// contain, plus scratch and a host directory: the guest sees all of them,
// and listing a parent shows the nested mount point (wasmer#3678 hid one).
func TestNestedMounts(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "in.txt"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostFS, err := vfs.Host(host, false)
	if err != nil {
		t.Fatal(err)
	}
	lib := mapLayer(t, map[string]string{"libz.a": "zz", "python3.11/os.py": "import posix\n"})
	site := mapLayer(t, map[string]string{"requests/__init__.py": "x"})
	cfg, err := vfs.FSConfig([]vfs.Mount{
		{Guest: "/usr/local/lib/python3.11/site-packages", FS: site},
		{Guest: "/usr/local/lib", FS: vfs.NewCopyOnWriteFS(lib)},
		{Guest: "/data", FS: hostFS},
		{Guest: "/tmp", FS: vfs.NewMemFS(1 << 20)},
		{Guest: "/opt/deep/pkg", FS: mapLayer(t, map[string]string{"f": "1"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := newRunner(t).run(t, "c/fsops", cfg, "tree", "/")
	want := `/data/
/data/in.txt file size=4
/opt/
/opt/deep/
/opt/deep/pkg/
/opt/deep/pkg/f file size=1
/tmp/
/usr/
/usr/local/
/usr/local/lib/
/usr/local/lib/libz.a file size=2
/usr/local/lib/python3.11/
/usr/local/lib/python3.11/os.py file size=13
/usr/local/lib/python3.11/site-packages/
/usr/local/lib/python3.11/site-packages/requests/
/usr/local/lib/python3.11/site-packages/requests/__init__.py file size=1
`
	if got != want {
		t.Errorf("guest sees:\n%s\nwant:\n%s", got, want)
	}
}

// TestMountFSRouting checks the router's own rules through the sys.FS API.
func TestMountFSRouting(t *testing.T) {
	mem := vfs.NewMemFS(0)
	other := vfs.NewMemFS(0)
	root, err := vfs.NewMountFS([]vfs.Mount{
		{Guest: "/a", FS: mem},
		{Guest: "/a/b/c", FS: other},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, errno := root.Stat("a/b"); errno != 0 || !st.Mode.IsDir() {
		t.Errorf("synthesized a/b: %v %v", st.Mode, errno)
	}
	if errno := root.Mkdir("a/b", 0o755); errno != sys.EEXIST {
		t.Errorf("Mkdir over a synthesized directory: %v, want EEXIST", errno)
	}
	if errno := root.Rmdir("a/b/c"); errno == 0 {
		t.Error("removed a mount point")
	}
	f, errno := root.OpenFile("a/x", sys.O_CREAT|sys.O_WRONLY, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	f.Close()
	if errno := root.Rename("a/x", "a/b/c/x"); errno == 0 {
		t.Error("renamed across mounts")
	}
	if _, errno := mem.Stat("x"); errno != 0 {
		t.Errorf("file not created in the /a layer: %v", errno)
	}
	if _, errno := root.Stat("zz"); errno != sys.ENOENT {
		t.Errorf("Stat outside every mount: %v, want ENOENT", errno)
	}
	if _, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/a", FS: mem}, {Guest: "/a", FS: other}}); err == nil {
		t.Error("two mounts at one path accepted")
	}
	if _, err := vfs.NewMountFS([]vfs.Mount{{Guest: "a/../b", FS: mem}}); err == nil {
		t.Error("unclean guest path accepted")
	}
	d, errno := root.OpenFile("a", sys.O_RDONLY|sys.O_DIRECTORY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer d.Close()
	ents, errno := d.Readdir(-1)
	if errno != 0 {
		t.Fatal(errno)
	}
	names := map[string]fs.FileMode{}
	for _, e := range ents {
		names[e.Name] = e.Type
	}
	if names["b"] != fs.ModeDir || len(names) != 2 {
		t.Errorf("listing /a: %v, want b (the way to a mount point) and x", names)
	}
}
