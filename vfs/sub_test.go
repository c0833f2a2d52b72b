package vfs_test

import (
	"errors"
	"io/fs"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wrun-dev/wrun/vfs"
)

func subNames(t *testing.T, fsys sys.FS, p string) []string {
	t.Helper()
	f, errno := fsys.OpenFile(p, sys.O_RDONLY|sys.O_DIRECTORY, 0)
	if errno != 0 {
		t.Fatalf("open %s: %v", p, errno)
	}
	defer f.Close()
	ents, errno := f.Readdir(-1)
	if errno != 0 {
		t.Fatalf("readdir %s: %v", p, errno)
	}
	var names []string
	for _, e := range ents {
		if e.Name != "." && e.Name != ".." {
			names = append(names, e.Name)
		}
	}
	slices.Sort(names)
	return names
}

// Sub shows a directory of a layer as a layer, for this package's trees
// and for any other sys.FS alike: read-only, never above its directory.
func TestSub(t *testing.T) {
	files := map[string]vfs.MapFile{
		"lib/site/a.txt": {Data: []byte("a"), Mode: 0o644},
		"lib/site/d/b":   {Data: []byte("b"), Mode: 0o644},
		"lib/other.txt":  {Data: []byte("o"), Mode: 0o644},
	}
	tree, err := vfs.NewMapLayer(files)
	if err != nil {
		t.Fatal(err)
	}
	mfs := fstest.MapFS{}
	for p, f := range files {
		mfs[p] = &fstest.MapFile{Data: f.Data, Mode: f.Mode}
	}
	generic := &sysfs.AdaptFS{FS: mfs}
	for name, layer := range map[string]sys.FS{"tree": tree, "generic": generic} {
		t.Run(name, func(t *testing.T) {
			sub, err := vfs.Sub(layer, "lib/site")
			if err != nil {
				t.Fatal(err)
			}
			if got := subNames(t, sub, "."); !slices.Equal(got, []string{"a.txt", "d"}) {
				t.Errorf("listing %v", got)
			}
			if s, errno := readAll(t, sub, "d/b"); errno != 0 || s != "b" {
				t.Errorf("d/b: %q %v", s, errno)
			}
			if _, errno := sub.Stat("../other.txt"); errno == 0 {
				t.Error("a path above the directory resolved")
			}
			if errno := writeFile(t, sub, "new.txt", "x", 0); errno != sys.EROFS {
				t.Errorf("write: %v, want EROFS", errno)
			}
			if _, err := vfs.Sub(layer, "lib/nope"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a missing directory: %v", err)
			}
			if _, err := vfs.Sub(layer, "lib/other.txt"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a file: %v", err)
			}
		})
	}
}

// Lift keeps only the files of __pycache__ directories, one level up.
func TestLift(t *testing.T) {
	layer, err := vfs.NewMapLayer(map[string]vfs.MapFile{
		"json/__init__.py":                          {Data: []byte("src"), Mode: 0o644},
		"json/__pycache__/__init__.cpython-311.pyc": {Data: []byte("pyc"), Mode: 0o644},
		"os.py":                          {Data: []byte("src"), Mode: 0o644},
		"__pycache__/os.cpython-311.pyc": {Data: []byte("os"), Mode: 0o644},
		"nopyc/x.py":                     {Data: []byte("src"), Mode: 0o644},
	})
	if err != nil {
		t.Fatal(err)
	}
	view, ok := vfs.Lift(layer, "__pycache__")
	if !ok {
		t.Fatal("a map layer is not liftable")
	}
	if got := subNames(t, view, "."); !slices.Equal(got, []string{"json", "os.cpython-311.pyc"}) {
		t.Errorf("root: %v", got)
	}
	if s, errno := readAll(t, view, "json/__init__.cpython-311.pyc"); errno != 0 || s != "pyc" {
		t.Errorf("lifted file: %q %v", s, errno)
	}
	if _, ok := vfs.Lift(vfs.NewMemFS(0), "__pycache__"); ok {
		t.Error("a writable layer was lifted")
	}
}

// A quota caps what writes through a layer add to it: bytes past a file's
// end and 4 KiB per new name, shared by every user of the quota.
func TestQuota(t *testing.T) {
	host, err := vfs.Host(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	q := vfs.NewQuota(3*4096+100, 0)
	fsys := vfs.WithQuota(host, q)
	if errno := writeFile(t, fsys, "a", "0123456789", 0); errno != 0 {
		t.Fatal(errno)
	}
	if q.Used() != 4096+10 {
		t.Errorf("used %d after one 10-byte file", q.Used())
	}
	// Rewriting in place adds nothing; growing adds the growth.
	if errno := writeFile(t, fsys, "a", "abcdefghij", 0); errno != 0 || q.Used() != 4096+10 {
		t.Errorf("rewrite: %v, used %d", errno, q.Used())
	}
	if errno := fsys.Mkdir("d", 0o755); errno != 0 {
		t.Fatal(errno)
	}
	if errno := writeFile(t, fsys, "d/b", string(make([]byte, 90)), 0); errno != 0 {
		t.Fatalf("a write within the quota: %v (used %d)", errno, q.Used())
	}
	if errno := writeFile(t, fsys, "a", "x", sys.O_APPEND); errno != vfs.ENOSPC {
		t.Errorf("a write past the quota: %v, want ENOSPC (used %d)", errno, q.Used())
	}
	if errno := writeFile(t, fsys, "c", "", 0); errno != vfs.ENOSPC {
		t.Errorf("a new file past the quota: %v, want ENOSPC", errno)
	}
}
