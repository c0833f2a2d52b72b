package vfs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
)

// indexTree writes files (path → content) under a new directory the way a
// pulled package is extracted (files 0444, directories 0755) and returns
// the directory and the sorted index of the files.
func indexTree(t testing.TB, files map[string]string) (string, []vfs.IndexFile) {
	t.Helper()
	dir := t.TempDir()
	var idx []vfs.IndexFile
	for p, data := range files {
		host := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte(data), 0o444); err != nil {
			t.Fatal(err)
		}
		idx = append(idx, vfs.IndexFile{Path: p, Size: int64(len(data))})
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i].Path < idx[j].Path })
	return dir, idx
}

// indexFiles is a package-like tree: names whose sorted order as paths is
// not their order as names in one directory ("a/b.txt" < "a/b/c" but
// "b" < "b.txt"), a deep path and an empty file.
var indexFiles = map[string]string{
	"wrun.toml":                    "[package]\n",
	"a/b.txt":                      "b text",
	"a/b/c":                        "c",
	"a/b/d/e/f/g.py":               "print(1)\n",
	"a/b-":                         "dash",
	"lib/python3.11/os.py":         "import sys\n",
	"lib/python3.11/__init__.py":   "",
	"lib/python3.11/json/x.py":     "x = 1\n",
	"lib/python3.11/json/__init__": "j",
}

// listing walks fsys from the root and records what a guest sees of each
// path: type, permissions, size, directory entries, content.
func listing(t *testing.T, fsys sys.FS) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(p string)
	walk = func(p string) {
		st, errno := fsys.Lstat(p)
		if errno != 0 {
			t.Fatalf("Lstat(%q): %v", p, errno)
		}
		desc := fmt.Sprintf("%v size=%d", st.Mode, st.Size)
		if st.Mode.IsDir() {
			f, errno := fsys.OpenFile(p, sys.O_RDONLY|sys.O_DIRECTORY, 0)
			if errno != 0 {
				t.Fatalf("open dir %q: %v", p, errno)
			}
			ents, errno := f.Readdir(-1)
			f.Close()
			if errno != 0 {
				t.Fatalf("Readdir(%q): %v", p, errno)
			}
			var names []string
			for _, e := range ents {
				if e.Name == "." || e.Name == ".." {
					continue
				}
				names = append(names, e.Name+":"+e.Type.String())
			}
			desc = "dir " + st.Mode.String() + " [" + strings.Join(names, " ") + "]" // a directory's size is the host's
			out[p] = desc
			for _, e := range ents {
				if e.Name != "." && e.Name != ".." {
					walk(path.Join(p, e.Name))
				}
			}
			return
		}
		data, errno := readAll(t, fsys, p)
		if errno != 0 {
			t.Fatalf("read %q: %v", p, errno)
		}
		out[p] = desc + " " + data
	}
	walk(".")
	return out
}

// TestIndexLayerMatchesDirLayer: a guest sees the same tree through an
// index layer as through NewDirLayer on the directory it indexes (names,
// listing order, types, permissions, sizes, bytes), and the index layer's
// inodes are its own, distinct, not the host's.
func TestIndexLayerMatchesDirLayer(t *testing.T) {
	dir, idx := indexTree(t, indexFiles)
	dl, err := vfs.NewDirLayer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.(io.Closer).Close()
	il, err := vfs.NewIndexLayer(dir, idx)
	if err != nil {
		t.Fatal(err)
	}
	defer il.(io.Closer).Close()
	want, got := listing(t, dl), listing(t, il)
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: index layer shows\n\t%s\ndir layer shows\n\t%s", p, got[p], w)
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: only in the index layer: %s", p, g)
		}
	}

	rootSt, _ := il.Stat(".")
	hostSt, _ := dl.Stat(".")
	if rootSt.Mtim != hostSt.Mtim {
		t.Errorf("root mtime %d, want the directory's %d", rootSt.Mtim, hostSt.Mtim)
	}
	seen := map[wsys.Inode]string{}
	for p := range got {
		st, _ := il.Lstat(p)
		hst, _ := dl.Lstat(p)
		if st.Ino == hst.Ino {
			t.Errorf("%s: index layer reports the host inode %d", p, st.Ino)
		}
		if other, dup := seen[st.Ino]; dup {
			t.Errorf("%s and %s share inode %d", p, other, st.Ino)
		}
		seen[st.Ino] = p
		if st.Mtim != rootSt.Mtim || st.Atim != rootSt.Mtim || st.Ctim != rootSt.Mtim {
			t.Errorf("%s: times %d/%d/%d, want the root's %d", p, st.Atim, st.Mtim, st.Ctim, rootSt.Mtim)
		}
	}
	if errno := writeFile(t, il, "new", "x", 0); errno != sys.EROFS {
		t.Errorf("create in an index layer: %v, want EROFS", errno)
	}
}

// TestIndexLayerRefusesBadIndex: a list breaking a path rule, listing a
// path twice, naming a file that is also a directory, or holding a
// negative size is refused, and the error names the path.
func TestIndexLayerRefusesBadIndex(t *testing.T) {
	dir, _ := indexTree(t, map[string]string{"a": "x"})
	f := func(p string) vfs.IndexFile { return vfs.IndexFile{Path: p, Size: 1} }
	for _, c := range []struct {
		name   string
		files  []vfs.IndexFile
		want   string
		unsafe bool
	}{
		{"dotdot", []vfs.IndexFile{f("../x")}, `"../x"`, true},
		{"inner dotdot", []vfs.IndexFile{f("a/../../x")}, `"a/../../x"`, true},
		{"absolute", []vfs.IndexFile{f("/etc/passwd")}, `"/etc/passwd"`, true},
		{"empty", []vfs.IndexFile{f("")}, "empty path", false},
		{"empty segment", []vfs.IndexFile{f("a//b")}, `"a//b"`, false},
		{"dot segment", []vfs.IndexFile{f("a/./b")}, `"a/./b"`, false},
		{"trailing slash", []vfs.IndexFile{f("a/")}, `"a/"`, false},
		{"nul", []vfs.IndexFile{f("a\x00b")}, `"a\x00b"`, false},
		{"not utf-8", []vfs.IndexFile{f("a\xffb")}, `"a\xffb"`, false},
		{"duplicate", []vfs.IndexFile{f("d/x"), f("d/x")}, `"d/x" is listed twice`, false},
		{"file then dir", []vfs.IndexFile{f("d"), f("d/x")}, `"d" is listed as a file`, false},
		{"dir then file", []vfs.IndexFile{f("d/x/y"), f("d/x")}, `"d/x" is listed as a file`, false},
		{"deep file then dir", []vfs.IndexFile{f("d/x"), f("e"), f("d/x/y/z")}, `"d/x" is listed as a file`, false},
		{"negative size", []vfs.IndexFile{{Path: "n", Size: -1}}, `"n": negative size`, false},
		{"too many", make([]vfs.IndexFile, vfs.MaxIndexFiles+1), "more than the", false},
		{"too long", []vfs.IndexFile{f(strings.Repeat("a", 65536))}, "longer than", false},
		{"too many bytes", func() []vfs.IndexFile {
			long := strings.Repeat("p", 1<<20)
			var out []vfs.IndexFile
			for i := 0; i <= vfs.MaxIndexPathBytes>>20; i++ {
				out = append(out, f(long))
			}
			return out
		}(), "bytes an index may list", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := vfs.NewIndexLayer(dir, c.files)
			if err == nil {
				l.(io.Closer).Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %s", err, c.want)
			}
			if errors.Is(err, vfs.ErrUnsafeEntry) != c.unsafe {
				t.Errorf("error %q: errors.Is(ErrUnsafeEntry) = %v, want %v", err, !c.unsafe, c.unsafe)
			}
		})
	}
	if _, err := vfs.NewIndexLayer(filepath.Join(dir, "a"), nil); err == nil {
		t.Error("a file accepted as the layer's directory")
	}
	if _, err := vfs.NewIndexLayer(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("a missing directory accepted")
	}
}

// changes are what can happen to a file of an extracted package after it
// was verified; each must make the guest's open fail with EIO.
var changes = []struct {
	name   string
	change func(t *testing.T, host, dir string)
}{
	{"truncated", func(t *testing.T, host, _ string) { mustDo(t, os.Truncate(host, 1)) }},
	{"grown", func(t *testing.T, host, _ string) {
		mustDo(t, os.Chmod(host, 0o644))
		f, err := os.OpenFile(host, os.O_APPEND|os.O_WRONLY, 0)
		mustDo(t, err)
		_, err = f.WriteString("more")
		mustDo(t, err)
		mustDo(t, f.Close())
	}},
	{"deleted", func(t *testing.T, host, _ string) { mustDo(t, os.Remove(host)) }},
	{"symlink to a file of the same size", func(t *testing.T, host, dir string) {
		mustDo(t, os.Remove(host))
		mustDo(t, os.WriteFile(filepath.Join(dir, "same"), []byte("original!"), 0o444))
		mustDo(t, os.Symlink("../same", host))
	}},
	{"symlink outside", func(t *testing.T, host, _ string) {
		mustDo(t, os.Remove(host))
		mustDo(t, os.Symlink("/etc/passwd", host))
	}},
	{"directory", func(t *testing.T, host, _ string) {
		mustDo(t, os.Remove(host))
		mustDo(t, os.Mkdir(host, 0o755))
	}},
	{"parent replaced by a symlink", func(t *testing.T, host, dir string) {
		mustDo(t, os.Rename(filepath.Dir(host), filepath.Join(dir, "moved")))
		mustDo(t, os.Symlink("moved", filepath.Dir(host)))
	}},
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestIndexLayerChangedFileIsEIO changes one file of the directory after
// the layer is built: opening it fails with EIO, through the layer, through
// a copy-on-write overlay and a union of it (the stacks wrun mounts), while
// the files left alone still read; the listing stays the index's.
func TestIndexLayerChangedFileIsEIO(t *testing.T) {
	files := map[string]string{"pkg/mod.py": "original!", "pkg/other.py": "fine", "top": "t"}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			dir, idx := indexTree(t, files)
			l, err := vfs.NewIndexLayer(dir, idx)
			if err != nil {
				t.Fatal(err)
			}
			defer l.(io.Closer).Close()
			c.change(t, filepath.Join(dir, "pkg", "mod.py"), dir)
			for _, s := range []struct {
				name string
				fsys sys.FS
			}{{"layer", l}, {"overlay", vfs.NewCopyOnWriteFS(l)}, {"union", vfs.NewUnion(l)}} {
				if _, errno := s.fsys.OpenFile("pkg/mod.py", sys.O_RDONLY, 0); errno != sys.EIO {
					t.Errorf("%s: open of the changed file: %v, want EIO", s.name, errno)
				}
				st, errno := s.fsys.Stat("pkg/mod.py")
				if errno != 0 || st.Size != int64(len("original!")) {
					t.Errorf("%s: stat of the changed file: %v, size %d; want the index's", s.name, errno, st.Size)
				}
				if c.name != "parent replaced by a symlink" {
					if got, errno := readAll(t, s.fsys, "pkg/other.py"); errno != 0 || got != "fine" {
						t.Errorf("%s: untouched file: %q, %v", s.name, got, errno)
					}
				}
				if got, errno := readAll(t, s.fsys, "top"); errno != 0 || got != "t" {
					t.Errorf("%s: untouched file: %q, %v", s.name, got, errno)
				}
			}
		})
	}
}

// TestIndexLayerChangedFileGuest: a real guest (testdata/c/cat.c) reading a
// changed file of an index layer gets EIO from its fopen, and reads an
// untouched one.
func TestIndexLayerChangedFileGuest(t *testing.T) {
	dir, idx := indexTree(t, map[string]string{"a.txt": "alpha", "b.txt": "bravo"})
	l, err := vfs.NewIndexLayer(dir, idx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.(io.Closer).Close()
	mustDo(t, os.Truncate(filepath.Join(dir, "b.txt"), 2))
	ctx := context.Background()
	r := newRunner(t)
	cm, err := r.rt.CompileModule(ctx, testenv.GuestBytes(t, "c/cat"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	mc := wazero.NewModuleConfig().WithName("").WithArgs("cat", "/m/", "/m/a.txt", "/m/b.txt").
		WithStdout(&stdout).WithStderr(io.Discard).WithFSConfig(vfsConfig(t, vfs.NewCopyOnWriteFS(l)))
	mod, err := r.rt.InstantiateModule(ctx, cm, mc)
	if mod != nil {
		mod.Close(ctx)
	}
	var exit *wsys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("cat: %v, want exit code 1", err)
	}
	want := "/m/a.txt\n/m/b.txt\nalphaopen /m/b.txt: I/O error\n"
	if stdout.String() != want {
		t.Errorf("cat printed\n%s\nwant\n%s", stdout.String(), want)
	}
}

// benchIndexTree writes 2,000 files in 100 directories (20 each, under 10
// top directories) and returns the directory and its index.
func benchIndexTree(b *testing.B) (string, []vfs.IndexFile) {
	dir := b.TempDir()
	var idx []vfs.IndexFile
	for d := range 100 {
		sub := fmt.Sprintf("top%02d/dir%02d", d/10, d%10)
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 20 {
			p := fmt.Sprintf("%s/module_%02d.py", sub, f)
			if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o444); err != nil {
				b.Fatal(err)
			}
			idx = append(idx, vfs.IndexFile{Path: p, Size: int64(len(p))})
		}
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i].Path < idx[j].Path })
	return dir, idx
}

// BenchmarkDirLayer and BenchmarkIndexLayer build the layer of the same
// 2,000-file tree (the start-up cost of a pulled package's layer).
func BenchmarkDirLayer(b *testing.B) {
	dir, _ := benchIndexTree(b)
	b.ReportAllocs()
	for b.Loop() {
		l, err := vfs.NewDirLayer(dir)
		if err != nil {
			b.Fatal(err)
		}
		l.(io.Closer).Close()
	}
}

func BenchmarkIndexLayer(b *testing.B) {
	dir, idx := benchIndexTree(b)
	b.ReportAllocs()
	for b.Loop() {
		l, err := vfs.NewIndexLayer(dir, idx)
		if err != nil {
			b.Fatal(err)
		}
		l.(io.Closer).Close()
	}
}

// BenchmarkOpenRead opens and reads one file of each layer: the index
// layer's open adds an fstat to the open the directory layer does at the
// first read.
func BenchmarkOpenRead(b *testing.B) {
	dir, idx := benchIndexTree(b)
	dl, _ := vfs.NewDirLayer(dir)
	il, _ := vfs.NewIndexLayer(dir, idx)
	buf := make([]byte, 64)
	for _, l := range []struct {
		name string
		fsys sys.FS
	}{{"dir", dl}, {"index", il}} {
		b.Run(l.name, func(b *testing.B) {
			for b.Loop() {
				f, errno := l.fsys.OpenFile(idx[7].Path, sys.O_RDONLY, 0)
				if errno != 0 {
					b.Fatal(errno)
				}
				if _, errno := f.Read(buf); errno != 0 {
					b.Fatal(errno)
				}
				f.Close()
			}
		})
	}
}
