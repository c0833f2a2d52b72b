package vfs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
)

// fixtureTime is the modification time of every fixture file.
var fixtureTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is the tree every layer starts from in the read, cow and rofs
// phases: regular files, nested and empty directories, and symbolic links
// to a file, to a directory and to nothing.
type fixtureEntry struct {
	path, data, link string
	dir              bool
}

var fixture = []fixtureEntry{
	{path: "dir", dir: true},
	{path: "dir/a.txt", data: "aaa"},
	{path: "dir/b.txt", data: "bbbbbb"},
	{path: "dir/sub", dir: true},
	{path: "dir/sub/c.txt", data: "c"},
	{path: "empty", dir: true},
	{path: "hello.txt", data: "hello, world\n"},
	{path: "link", link: "hello.txt"},
	{path: "dlink", link: "dir"},
	{path: "dangling", link: "nope"},
}

// hostFixture writes the fixture into a new temporary directory.
func hostFixture(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, e := range fixture {
		p := filepath.Join(dir, e.path)
		var err error
		switch {
		case e.dir:
			err = os.Mkdir(p, 0o755)
		case e.link != "":
			err = os.Symlink(e.link, p)
		default:
			if err = os.WriteFile(p, []byte(e.data), 0o644); err == nil {
				err = os.Chtimes(p, fixtureTime, fixtureTime)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mapFixture(t testing.TB, keep func(string) bool) sys.FS {
	t.Helper()
	m := map[string]vfs.MapFile{}
	for _, e := range fixture {
		if !keep(e.path) {
			continue
		}
		switch {
		case e.dir:
			m[e.path] = vfs.MapFile{Mode: fs.ModeDir | 0o755}
		case e.link != "":
			m[e.path] = vfs.MapFile{Mode: fs.ModeSymlink, Data: []byte(e.link)}
		default:
			m[e.path] = vfs.MapFile{Data: []byte(e.data), Mode: 0o644, ModTime: fixtureTime}
		}
	}
	l, err := vfs.NewMapLayer(m)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func tarFixture(t testing.TB, keep func(string) bool) sys.FS {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range fixture {
		if !keep(e.path) {
			continue
		}
		h := &tar.Header{Name: e.path, Mode: 0o644, ModTime: fixtureTime, Format: tar.FormatPAX}
		switch {
		case e.dir:
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, e.path+"/", 0o755
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := vfs.NewTarLayer(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func all(string) bool { return true }

func must(t testing.TB, fsys sys.FS, err error) sys.FS {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// layer is one subject of the conformance suite: a fresh instance per run.
type layer struct {
	name string
	new  func(t testing.TB) sys.FS
}

func readOnlyLayers() []layer {
	return []layer{
		{"host-ro", func(t testing.TB) sys.FS { fsys, err := vfs.Host(hostFixture(t), true); return must(t, fsys, err) }},
		{"dir", func(t testing.TB) sys.FS { fsys, err := vfs.NewDirLayer(hostFixture(t)); return must(t, fsys, err) }},
		{"map", func(t testing.TB) sys.FS { return mapFixture(t, all) }},
		{"tar", func(t testing.TB) sys.FS { return tarFixture(t, all) }},
		{"union-tar-map", func(t testing.TB) sys.FS {
			// the tar has dir/ (without a.txt), the map the rest; the map wins for dir/b.txt
			return vfs.NewUnion(
				tarFixture(t, func(p string) bool { return strings.HasPrefix(p, "dir") && p != "dir/a.txt" }),
				mapFixture(t, func(p string) bool { return !strings.HasPrefix(p, "dir/sub") }),
			)
		}},
		{"union-host-map", func(t testing.TB) sys.FS {
			// a layer that is not a tree: the generic union
			host, err := vfs.Host(hostFixture(t), true)
			must(t, host, err)
			return vfs.NewUnion(mapFixture(t, func(p string) bool { return strings.HasPrefix(p, "dir") }), host)
		}},
	}
}

func writableLayers() []layer {
	ls := []layer{
		{"host-rw", func(t testing.TB) sys.FS { fsys, err := vfs.Host(hostFixture(t), false); return must(t, fsys, err) }},
		{"asset", func(t testing.TB) sys.FS { fsys, err := vfs.Asset(hostFixture(t)); return must(t, fsys, err) }},
	}
	for _, ro := range readOnlyLayers() {
		ls = append(ls, layer{"cow-" + ro.name, func(t testing.TB) sys.FS { return vfs.NewCopyOnWriteFS(ro.new(t)) }})
	}
	return ls
}

// runner runs guests under wazero with one compilation cache.
type runner struct {
	rt       wazero.Runtime
	compiled map[string]wazero.CompiledModule
}

func newRunner(t testing.TB) *runner {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	return &runner{rt: rt, compiled: map[string]wazero.CompiledModule{}}
}

// run runs guest with args and the filesystem cfg and returns its stdout.
func (r *runner) run(t testing.TB, guest string, cfg wazero.FSConfig, args ...string) string {
	t.Helper()
	ctx := context.Background()
	cm, ok := r.compiled[guest]
	if !ok {
		var err error
		if cm, err = r.rt.CompileModule(ctx, testenv.GuestBytes(t, guest)); err != nil {
			t.Fatal(err)
		}
		r.compiled[guest] = cm
	}
	var stdout, stderr bytes.Buffer
	mc := wazero.NewModuleConfig().WithName("").WithArgs(append([]string{"fsops"}, args...)...).
		WithStdout(&stdout).WithStderr(&stderr).WithFSConfig(cfg).WithSysWalltime()
	mod, err := r.rt.InstantiateModule(ctx, cm, mc)
	if mod != nil {
		mod.Close(ctx)
	}
	if err != nil {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", guest, args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// dirFSConfig mounts a host directory at /m through wazero's own DirFS,
// the reference every layer is compared with.
func dirFSConfig(dir string) wazero.FSConfig {
	return wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(sysfs.DirFS(dir), "/m")
}

func vfsConfig(t testing.TB, fsys sys.FS) wazero.FSConfig {
	t.Helper()
	cfg, err := vfs.FSConfig([]vfs.Mount{{Guest: "/m", FS: fsys}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var guests = []string{"c/fsops", "go/fsops"}

// TestConformance runs the same guests over every layer and compares each
// transcript with the one on a host directory through wazero's DirFS.
func TestConformance(t *testing.T) {
	r := newRunner(t)
	for _, guest := range guests {
		t.Run(guest, func(t *testing.T) {
			want := map[string]string{}
			for _, phase := range []string{"read", "write", "cow"} {
				want[phase] = r.run(t, guest, dirFSConfig(hostFixture(t)), phase, "/m")
			}
			want["rofs"] = rofsWant[guest]
			check := func(t *testing.T, l layer, phase string) {
				got := r.run(t, guest, vfsConfig(t, l.new(t)), phase, "/m")
				if got != want[phase] {
					t.Errorf("%s on %s differs from DirFS:\n%s", phase, l.name, diff(want[phase], got))
				}
			}
			for _, l := range readOnlyLayers() {
				t.Run(l.name, func(t *testing.T) {
					check(t, l, "read")
					check(t, l, "rofs")
				})
			}
			for _, l := range writableLayers() {
				t.Run(l.name, func(t *testing.T) {
					check(t, l, "read")
					check(t, l, "write")
					check(t, l, "cow")
				})
			}
			t.Run("memfs", func(t *testing.T) {
				check(t, layer{"memfs", func(testing.TB) sys.FS { return vfs.NewMemFS(1 << 20) }}, "write")
			})
		})
	}
}

// rofsWant is what Linux answers on a read-only mount: every change is
// EROFS, except where the name's existence decides first.
var rofsWant = map[string]string{"c/fsops": rofsC, "go/fsops": rofsGo}

const rofsGo = `open rdonly: ok
open wronly: EROFS
creat: EROFS
creat excl existing: EEXIST
mkdir new: EROFS
mkdir existing: EEXIST
unlink: EROFS
rmdir: EROFS
rename: EROFS
symlink: EROFS
link: EROFS
truncate: EROFS
chtimes: EROFS
cat hello.txt: "hello, world\n"
`

const rofsC = `open hello.txt rdonly: ok
open hello.txt wronly: EROFS
open hello.txt rdwr: EROFS
creat new: EROFS
creat excl existing: EEXIST
open dir wronly: EISDIR
mkdir new: EROFS
mkdir existing: EEXIST
unlink hello.txt: EROFS
rmdir empty: EROFS
rename hello.txt: EROFS
symlink: EROFS
link: EROFS
truncate: EROFS
utimensat: EROFS
cat hello.txt: n=13 "hello, world\x0a"
`

// diff shows the lines of got that differ from want.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			b.WriteString("  want: " + w + "\n  got:  " + g + "\n")
		}
	}
	return b.String()
}

func tarBytes(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg, ModTime: fixtureTime}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
