package vfs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/vfs/vfstest"
)

// fixtureTime is the modification time of every fixture file.
var fixtureTime = vfstest.FixtureTime

// hostFixture writes vfstest's fixture into a new temporary directory.
func hostFixture(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := vfstest.WriteFixture(dir, vfstest.Fixture()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mapFixture(t testing.TB, keep func(string) bool) sys.FS {
	t.Helper()
	m := map[string]vfs.MapFile{}
	for _, e := range vfstest.Fixture() {
		if !keep(e.Path) {
			continue
		}
		switch {
		case e.Dir:
			m[e.Path] = vfs.MapFile{Mode: fs.ModeDir | 0o755}
		case e.Link != "":
			m[e.Path] = vfs.MapFile{Mode: fs.ModeSymlink, Data: []byte(e.Link)}
		default:
			m[e.Path] = vfs.MapFile{Data: []byte(e.Data), Mode: 0o644, ModTime: fixtureTime}
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
	for _, e := range vfstest.Fixture() {
		if !keep(e.Path) {
			continue
		}
		h := &tar.Header{Name: e.Path, Mode: 0o644, ModTime: fixtureTime, Format: tar.FormatPAX}
		switch {
		case e.Dir:
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, e.Path+"/", 0o755
		case e.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.Data)); err != nil {
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

// TestConformance runs vfstest over every layer: the scripted sys.FS
// calls and the fsops guests (C and Go), each compared with wazero's DirFS
// on a host directory.
func TestConformance(t *testing.T) {
	cache := wazero.NewCompilationCache()
	t.Cleanup(func() { cache.Close(context.Background()) })
	var guests []vfstest.Guest
	for _, g := range []string{"c/fsops", "go/fsops"} {
		guests = append(guests, vfstest.Guest{Name: g, Wasm: testenv.GuestBytes(t, g), ReadOnly: rofsWant[g]})
	}
	withGuests := vfstest.Guests(cache, guests...)
	for _, l := range readOnlyLayers() {
		t.Run(l.name, func(t *testing.T) {
			vfstest.TestFS(t, func() sys.FS { return l.new(t) }, vfstest.ReadOnly(), withGuests)
		})
	}
	for _, l := range writableLayers() {
		t.Run(l.name, func(t *testing.T) {
			vfstest.TestFS(t, func() sys.FS { return l.new(t) }, withGuests)
		})
	}
	t.Run("memfs", func(t *testing.T) {
		vfstest.TestFS(t, func() sys.FS {
			m := vfs.NewMemFS(1 << 20)
			if err := vfstest.Populate(m, vfstest.Fixture()); err != nil {
				t.Fatal(err)
			}
			return m
		}, withGuests)
	})
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
