package registryclient

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
)

func TestLocalStorePlainWasm(t *testing.T) {
	c, ct := newClient(t, Options{})
	dir := plainPackage(t, "example:hello", "1.0.0")
	publishDir(t, c, dir)
	r := mustPull(t, c, "example:hello@1.0.0")
	if r.Root.Name() != "example:hello" || r.Root.Version() != "1.0.0" {
		t.Fatalf("pulled %s@%s", r.Root.Name(), r.Root.Version())
	}
	got, err := os.ReadFile(r.Root.Wasm())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, testenv.GuestBytes(t, "c/hello")) {
		t.Fatal("pulled wasm differs from the published one")
	}
	src, _ := bundle.LoadDir(dir)
	if r.Root.Digest() != src.Digest() {
		t.Fatalf("content digest %s, published %s", r.Root.Digest(), src.Digest())
	}
	// Range and newest resolve too.
	publishDir(t, c, plainPackage(t, "example:hello", "1.1.0"))
	publishDir(t, c, plainPackage(t, "example:hello", "2.0.0-rc.1"))
	for ref, want := range map[string]string{"example:hello": "1.1.0", "example:hello@^1.0": "1.1.0", "example:hello@~1.0.0": "1.0.0", "example:hello@>=2.0.0-rc.0": "2.0.0-rc.1"} {
		if v := mustPull(t, c, ref).Root.Version(); v != want {
			t.Errorf("%s resolved to %s, want %s", ref, v, want)
		}
	}
	if ct.n.Load() != 0 {
		t.Errorf("the local store made %d HTTP requests", ct.n.Load())
	}
	// Publishing the same content again is a no-op; other content is refused.
	publishDir(t, c, dir)
	other := writePackage(t, "[package]\nname = \"example:hello\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n", map[string][]byte{"component.wasm": testenv.GuestBytes(t, "c/echo")})
	p, _ := bundle.LoadDir(other)
	if _, err := c.Publish(context.Background(), p); !errors.Is(err, ErrExists) {
		t.Fatalf("republishing 1.0.0 with other content: %v, want ErrExists", err)
	}
}

func TestLocalStoreUnknown(t *testing.T) {
	c, _ := newClient(t, Options{})
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	publishDir(t, c, plainPackage(t, "example:hello", "1.2.0"))
	for _, tc := range []struct{ ref, want string }{
		{"example:hello@3.0.0", "versions: 1.0.0, 1.2.0"},
		{"example:hello@^2", "versions: 1.0.0, 1.2.0"},
		{"example:nope", "has no versions"},
	} {
		_, err := c.Pull(context.Background(), tc.ref)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Pull(%s) = %v, want ErrNotFound mentioning %q", tc.ref, err, tc.want)
		}
	}
}

func TestWrunArtifactAssets(t *testing.T) {
	c, _ := newClient(t, Options{})
	dir := writePackage(t, `
[package]
name = "example:site"
version = "0.1.0"
kind = "component"
[run]
wasm = "bin/app.wasm"
[[assets]]
from = "static"
to = "/static"
`, map[string][]byte{
		"bin/app.wasm":        testenv.GuestBytes(t, "c/hello"),
		"static/index.html":   []byte("<h1>hi</h1>"),
		"static/css/site.css": []byte("body{}"),
	})
	publishDir(t, c, dir)
	r := mustPull(t, c, "example:site@0.1.0")
	for name, want := range map[string]string{"static/index.html": "<h1>hi</h1>", "static/css/site.css": "body{}"} {
		got, err := os.ReadFile(filepath.Join(pkgDir(r.Root), filepath.FromSlash(name)))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v", name, got, err)
		}
	}
	src, _ := bundle.LoadDir(dir)
	if r.Root.Digest() != src.Digest() || len(r.Root.Files()) != len(src.Files()) {
		t.Fatalf("pulled %s (%d files), published %s (%d files)", r.Root.Digest(), len(r.Root.Files()), src.Digest(), len(src.Files()))
	}
}

func TestPublishBundleFile(t *testing.T) {
	c, _ := newClient(t, Options{})
	dir := plainPackage(t, "example:hello", "1.0.0")
	src, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hello.wrun")
	if err := src.WriteArchiveFile(file); err != nil {
		t.Fatal(err)
	}
	bp, err := bundle.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer bp.Close()
	if _, err := c.Publish(context.Background(), bp); err != nil {
		t.Fatal(err)
	}
	r := mustPull(t, c, "example:hello@1.0.0")
	if r.Root.Digest() != src.Digest() {
		t.Fatalf("pulled %s, bundle %s", r.Root.Digest(), src.Digest())
	}
	// A bundle file is also a local reference Pull resolves.
	if r := mustPull(t, c, file); r.Root.Digest() != src.Digest() || pkgDir(r.Root) != "" {
		t.Fatalf("Pull(bundle) = %s in %q", r.Root.Digest(), pkgDir(r.Root))
	}
}

func TestReference(t *testing.T) {
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data})
	if got, _ := c.Reference("example:hello", "1.0.0"); got != h.Store()+":example/hello:1.0.0" {
		t.Errorf("local Reference = %s", got)
	}
	c, _ = newClient(t, Options{Home: h.Data, Registry: "127.0.0.1:5000"})
	if got, _ := c.Reference("example:hello", "1.0.0"); got != "127.0.0.1:5000/example/hello:1.0.0" {
		t.Errorf("remote Reference = %s", got)
	}
}
