package wrun_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
	"github.com/wrun-dev/wrun/vfs"
)

// writePackage writes a package directory: files maps relative paths to
// contents, and "component.wasm" is the cat guest.
func writePackage(t *testing.T, manifest string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["wrun.toml"] = manifest
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "component.wasm"), testenv.GuestBytes(t, "c/cat"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadPackage(t *testing.T, ref string) *wrun.Package {
	t.Helper()
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	p, err := rt.Load(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	return p
}

func runPackage(p *wrun.Package, cfg wrun.RunConfig) (string, error) {
	var out bytes.Buffer
	err := p.Run(context.Background(), cfg.WithStdout(&out).WithStderr(&out))
	return out.String(), err
}

const catManifest = `[package]
name = "test:cat"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
args = ["/static/hello.txt"]
[[assets]]
from = "static"
to = "/static"
`

func TestPackageAssetsAndOverlay(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	dir := writePackage(t, catManifest, map[string]string{"static/hello.txt": "hello from an asset\n", "static/sub/a.txt": "a\n"})
	p := loadPackage(t, dir)
	if p.Name() != "test:cat" || p.Version() != "1.0.0" {
		t.Errorf("identity: %s@%s", p.Name(), p.Version())
	}
	out, err := runPackage(p, wrun.NewRunConfig())
	if err != nil || out != "hello from an asset\n" {
		t.Fatalf("[run] args: %v %q", err, out)
	}
	// The guest writes over an asset and adds a file: it sees its writes…
	out, err = runPackage(p, wrun.NewRunConfig().WithArgs(
		"-w", "/static/hello.txt", "changed\n", "-w", "/static/new.txt", "new\n", "/static/hello.txt", "/static/new.txt", "/static/"))
	if err != nil || out != "hello from an asset\nchanged\nnew\n/static/hello.txt\n/static/new.txt\n/static/sub\n" {
		t.Fatalf("writes in the overlay: %v %q", err, out)
	}
	// …but the next run and the package directory do not.
	out, _ = runPackage(p, wrun.NewRunConfig().WithArgs("/static/"))
	if out != "hello from an asset\n/static/hello.txt\n/static/sub\n" {
		t.Fatalf("the overlay leaked into the next run: %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "static", "hello.txt")); string(b) != "hello from an asset\n" {
		t.Fatalf("the package directory changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "static", "new.txt")); !os.IsNotExist(err) {
		t.Fatal("a guest write reached the package directory")
	}
	// The scratch /tmp is there by default, and empty on each run.
	out, err = runPackage(p, wrun.NewRunConfig().WithArgs("-w", "/tmp/x", "scratch\n", "/tmp/x"))
	if err != nil || !strings.HasSuffix(out, "scratch\n") {
		t.Fatalf("/tmp: %v %q", err, out)
	}
}

func TestPackageRequiredMount(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	m := catManifest + "[[mounts]]\nto = \"/data\"\naccess = \"rw\"\nrequired = true\n"
	p := loadPackage(t, writePackage(t, m, map[string]string{"static/hello.txt": "hi\n"}))
	_, err := runPackage(p, wrun.NewRunConfig())
	var missing *bundle.MissingMountError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "--mount") || !strings.Contains(err.Error(), "/data") {
		t.Fatalf("ungranted required mount: %v", err)
	}
	host := t.TempDir()
	fs, err := vfs.Host(host, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runPackage(p, wrun.NewRunConfig().WithMount(vfs.Mount{Guest: "/data", FS: fs}).WithArgs("-w", "/data/out.txt", "kept\n"))
	if err != nil {
		t.Fatalf("granted: %v %q", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(host, "out.txt")); string(b) != "kept\n" {
		t.Fatalf("a write to a granted rw mount did not reach the host: %q", b)
	}
}

func TestPackageDependencyNestedMount(t *testing.T) {
	home := t.TempDir()
	t.Setenv("WRUN_HOME", home)
	lib := t.TempDir()
	os.MkdirAll(filepath.Join(lib, "files"), 0o755)
	os.WriteFile(filepath.Join(lib, "files", "lib.txt"), []byte("from the library\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "wrun.toml"), []byte("[package]\nname = \"test:lib\"\nversion = \"1.4.0\"\nkind = \"assets\"\n[[assets]]\nfrom = \"files\"\nto = \"/\"\n"), 0o644)
	bp, err := bundle.LoadDir(lib)
	if err != nil {
		t.Fatal(err)
	}
	client, err := registryclient.New(registryclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Publish(context.Background(), bp); err != nil {
		t.Fatal(err)
	}
	m := catManifest + "[dependencies]\n\"test:lib\" = { version = \"^1.2\", to = \"/static/lib\" }\n"
	app := writePackage(t, m, map[string]string{"static/hello.txt": "hi\n"})
	p := loadPackage(t, app)
	out, err := runPackage(p, wrun.NewRunConfig().WithArgs("/static/", "/static/lib/lib.txt"))
	if err != nil || out != "hi\n/static/hello.txt\n/static/lib\nfrom the library\n" {
		t.Fatalf("nested dependency mount: %v %q", err, out)
	}
	if len(p.Resolved.Deps) != 1 || p.Resolved.Deps[0].Version() != "1.4.0" {
		t.Fatalf("resolved %v", p.Resolved.Deps)
	}
	if _, err := os.Stat(filepath.Join(app, registryclient.LockName)); err != nil {
		t.Fatalf("a directory project keeps wrun.lock: %v", err)
	}
}

func TestPackageTest(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	p := loadPackage(t, writePackage(t, catManifest+"[test]\nargs = [\"/static/test.txt\"]\n", map[string]string{
		"static/hello.txt": "run\n", "static/test.txt": "test\n"}))
	var out bytes.Buffer
	if err := p.Test(context.Background(), wrun.NewRunConfig().WithStdout(&out)); err != nil || out.String() != "run\ntest\n" {
		t.Fatalf("[test] args follow [run] args for a component: %v %q", err, out.String())
	}
	noTest := loadPackage(t, writePackage(t, catManifest, map[string]string{"static/hello.txt": "x\n"}))
	if err := noTest.Test(context.Background(), wrun.NewRunConfig()); err == nil || !strings.Contains(err.Error(), "[test]") {
		t.Fatalf("no [test] table: %v", err)
	}
}
