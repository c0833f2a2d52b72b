package registryclient

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// testHome is a fresh WRUN_HOME.
func testHome(t testing.TB) home.Dirs {
	d := t.TempDir()
	return home.Dirs{Data: d, Cache: filepath.Join(d, "cache")}
}

// countingTransport counts HTTP requests.
type countingTransport struct {
	n     atomic.Int64
	bytes atomic.Int64
	base  http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	resp, err := c.base.RoundTrip(r)
	if err == nil && resp.ContentLength > 0 && r.Method == http.MethodGet {
		c.bytes.Add(resp.ContentLength)
	}
	return resp, err
}

func newClient(t testing.TB, opts Options) (*Client, *countingTransport) {
	t.Helper()
	if opts.Home == "" {
		opts.Home = testHome(t).Data
	}
	ct := &countingTransport{base: http.DefaultTransport}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: ct}
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

// writePackage writes a package directory: wrun.toml and files.
func writePackage(t testing.TB, toml string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(strings.TrimLeft(toml, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
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

// plainPackage is a package that is only a wasm (the hello guest).
func plainPackage(t testing.TB, name, version string) string {
	return writePackage(t, `
[package]
name = "`+name+`"
version = "`+version+`"
kind = "component"
description = "hello from C"
[run]
wasm = "component.wasm"
`, map[string][]byte{"component.wasm": testenv.GuestBytes(t, "c/hello")})
}

func publishDir(t testing.TB, c *Client, dir string) {
	t.Helper()
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func mustPull(t testing.TB, c *Client, ref string) *Resolved {
	t.Helper()
	r, err := c.Pull(context.Background(), ref)
	if err != nil {
		t.Fatalf("Pull(%s): %v", ref, err)
	}
	return r
}

func testHomeAt(d string) home.Dirs { return home.Dirs{Data: d, Cache: filepath.Join(d, "cache")} }

func pkgDir(p *Package) string {
	d, _ := p.Dir()
	return d
}
