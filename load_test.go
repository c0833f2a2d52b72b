package wrun_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/registrytest"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
)

// ambientHome points every variable wrun could locate state from into a
// fresh directory and returns it, so a test can check nothing went there.
func ambientHome(t *testing.T) string {
	t.Helper()
	amb := t.TempDir()
	for k, v := range map[string]string{
		"HOME": "home", "XDG_DATA_HOME": "xdg-data", "XDG_CACHE_HOME": "xdg-cache",
		"XDG_CONFIG_HOME": "xdg-config", "WRUN_HOME": "wrun-home", "WRUN_REGISTRY": "wrun-registry",
	} {
		t.Setenv(k, filepath.Join(amb, v))
	}
	return amb
}

// filesUnder lists the regular files under dir, relative to it.
func filesUnder(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// writePkg writes a package directory: wrun.toml and files.
func writePkg(t *testing.T, manifest string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	files["wrun.toml"] = []byte(manifest)
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// helloPkg is a package directory running the hello guest.
func helloPkg(t *testing.T, name string) string {
	return writePkg(t, `[package]
name = "`+name+`"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
args = ["pkg"]
`, map[string][]byte{"component.wasm": testenv.GuestBytes(t, "c/hello")})
}

// publishedHome is a fresh wrun home whose embedded registry holds the
// package directories dirs, published.
func publishedHome(t *testing.T, dirs ...string) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "state")
	c, err := registryclient.New(registryclient.Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		publish(t, c, dir)
	}
	return home
}

func publish(t *testing.T, c *registryclient.Client, dir string) {
	t.Helper()
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func runOut(t *testing.T, p *wrun.Package, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := p.Run(context.Background(), wrun.NewRunConfig().WithArgs(args...).WithStdout(&out).WithStderr(&out)); err != nil {
		t.Fatalf("run %s: %v\n%s", p.Name(), err, out.String())
	}
	return out.String()
}

// TestWithHomeMovesAllState: Config.WithHome alone moves the registry's
// store, the blob cache, the compiled code and the pre-initialization
// snapshots; nothing is written where the environment points.
func TestWithHomeMovesAllState(t *testing.T) {
	amb := ambientHome(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")

	c, err := registryclient.New(registryclient.Options{Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, c, helloPkg(t, "test:hello"))
	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, "test:hello@1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if got := runOut(t, p); got != "hello, pkg, from C on wasm32-wasi\n" {
		t.Fatalf("output %q", got)
	}
	pre := writePkg(t, `[package]
name = "test:prefile"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
[preinit]
init = "wizer.initialize"
[[assets]]
from = "data"
to = "/data"
`, map[string][]byte{"component.wasm": testenv.GuestBytes(t, "c/prefile"), "data/config.txt": []byte("x=1\n")})
	pp, err := rt.Load(ctx, pre)
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close(ctx)
	if got := runOut(t, pp); !strings.Contains(got, "initialized by snapshot") {
		t.Fatalf("preinit package output %q", got)
	}

	for _, sub := range []string{"store", "cache/blobs", "cache/packages", "cache/compiled", "cache/preinit"} {
		if len(filesUnder(filepath.Join(dir, filepath.FromSlash(sub)))) == 0 {
			t.Errorf("WithHome(%s): nothing in %s", dir, sub)
		}
	}
	if got := filesUnder(amb); len(got) > 0 {
		t.Fatalf("state written outside WithHome, where the environment points: %v", got)
	}
}

// TestLoadBundleInMemory: LoadBundle runs a bundle held in memory, and
// refuses a damaged one as an invalid archive.
func TestLoadBundleInMemory(t *testing.T) {
	ctx := context.Background()
	src, err := bundle.LoadDir(helloPkg(t, "test:hello"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	b := buf.Bytes()
	p, err := rt.LoadBundle(ctx, "hello.wrun", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if p.Digest() != src.Digest() {
		t.Errorf("digest %s, want %s", p.Digest(), src.Digest())
	}
	if got := runOut(t, p); got != "hello, pkg, from C on wasm32-wasi\n" {
		t.Fatalf("output %q", got)
	}
	bad := bytes.Clone(b)
	bad = bad[:len(bad)-1024] // no end-of-archive marker
	if _, err := rt.LoadBundle(ctx, "cut.wrun", bytes.NewReader(bad), int64(len(bad))); !errors.Is(err, bundle.ErrInvalidArchive) {
		t.Fatalf("truncated bundle: got %v, want bundle.ErrInvalidArchive", err)
	}
}

// TestLoadRefAndCancel: LoadRef takes a parsed reference; a done context
// fails every Load before any work, leaving no state behind.
func TestLoadRefAndCancel(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	pkgDir := helloPkg(t, "test:hello")
	ref, err := registryclient.ParseRef(pkgDir)
	if err != nil {
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := rt.LoadRef(cancelled, ref); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadRef with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := rt.Load(cancelled, "test:hello@1.0.0"); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := rt.LoadBundle(cancelled, "x.wrun", bytes.NewReader(nil), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadBundle with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a cancelled Load did work: %s exists (%v)", dir, err)
	}

	p, err := rt.LoadRef(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if got := runOut(t, p); got != "hello, pkg, from C on wasm32-wasi\n" {
		t.Fatalf("output %q", got)
	}
}

// TestLoadOffline: LoadOptions.Offline makes one Load offline on a Runtime
// that is online: a version not cached fails with ErrOffline, one cached
// loads with the registry stopped.
func TestLoadOffline(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	home := t.TempDir()
	c, err := registryclient.New(registryclient.Options{Home: home, Registry: reg.Host})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, c, helloPkg(t, "test:hello"))
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(home).
		WithRegistry(registryclient.Options{Registry: reg.Host}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	offline := wrun.LoadOptions{Offline: true}
	if _, err := rt.Load(ctx, "test:hello@1.0.0", offline); !errors.Is(err, registryclient.ErrOffline) {
		t.Fatalf("offline Load of an uncached version: got %v, want registryclient.ErrOffline", err)
	}
	p, err := rt.Load(ctx, "test:hello@1.0.0") // online: pulls it
	if err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	reg.Stop()
	p, err = rt.Load(ctx, "test:hello@1.0.0", offline)
	if err != nil {
		t.Fatalf("offline Load of a cached version: %v", err)
	}
	defer p.Close(ctx)
	if got := runOut(t, p); got != "hello, pkg, from C on wasm32-wasi\n" {
		t.Fatalf("output %q", got)
	}
}

// TestLoadReusesProgram: loading a package again reuses the program the
// Runtime compiled for it, while another Package uses it and after; a
// closed Package refuses to run and leaves the others running.
func TestLoadReusesProgram(t *testing.T) {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	dir := helloPkg(t, "test:hello")
	p1, err := rt.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := rt.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Program() != p2.Program() {
		t.Errorf("a second Load of the same package compiled its wasm again")
	}
	if err := p1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p1.Run(ctx, wrun.NewRunConfig()); !errors.Is(err, wrun.ErrClosed) {
		t.Errorf("run of a closed Package: got %v, want wrun.ErrClosed", err)
	}
	if got := runOut(t, p2); got != "hello, pkg, from C on wasm32-wasi\n" {
		t.Fatalf("the other Package, after one closed: output %q", got)
	}
	prog := p2.Program()
	p2.Close(ctx)
	p3, err := rt.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Close(ctx)
	if p3.Program() != prog {
		t.Errorf("a Load after every Package closed compiled the wasm again")
	}
	if got := runOut(t, p3); got != "hello, pkg, from C on wasm32-wasi\n" {
		t.Fatalf("output %q", got)
	}
}

// BenchmarkLoadPythonWarm measures a warm Load of the hello-py example (an
// app on the CPython runtime package, with a library dependency): every
// package in the cache, the compilation cache on disk filled.
func BenchmarkLoadPythonWarm(b *testing.B) {
	ctx := context.Background()
	home := b.TempDir()
	c, err := registryclient.New(registryclient.Options{Home: home})
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []string{testenv.PythonRuntime(b), filepath.Join(testenv.Root(), "examples", "greetlib")} {
		p, err := bundle.LoadDir(d)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Publish(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	app := b.TempDir()
	if err := os.CopyFS(app, os.DirFS(filepath.Join(testenv.Root(), "examples", "hello-py"))); err != nil {
		b.Fatal(err)
	}
	os.Remove(filepath.Join(app, registryclient.LockName))
	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(home))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, app) // cold: pulls, compiles
	if err != nil {
		b.Fatal(err)
	}
	p.Close(ctx)
	var total time.Duration
	for b.Loop() {
		t0 := time.Now()
		p, err := rt.Load(ctx, app)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		p.Close(ctx)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/load")
}
