package serve

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// cgiManifest is the test package: the cgi_modes guest as its handler and
// a static directory.
const cgiManifest = `[package]
name = "test:cgi"
version = "1.0.0"

[run]
wasm = "component.wasm"

[[assets]]
from = "static"
to = "/static"

[[assets]]
from = "data"
to = "/data"

[[http.routes]]
path = "/static/"
static = "/static"

[[http.routes]]
path = "/files/"
static = "/data"
listing = true

[[http.routes]]
path = "/"
handler = "cgi"
`

// staticFiles are the test package's files.
var staticFiles = map[string]string{
	"static/index.html":     "<!doctype html><title>home</title>\n",
	"static/app.js":         "console.log('hello from app.js');\n",
	"static/hello.txt":      "hello, static world\n",
	"static/sub/deep.css":   "body { color: red }\n",
	"static/same/app.js":    "console.log('hello from app.js');\n",
	"data/notes/one.txt":    "one\n",
	"data/two.txt":          "two\n",
	"secret.txt":            "SECRET outside the asset directory\n",
	"static/space name.txt": "spaced\n",
}

// writePackage writes the test package into a new directory.
func writePackage(t *testing.T, manifest string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	wasm, err := os.ReadFile(testenv.GuestPath("c/cgi_modes"))
	if err != nil {
		t.Fatalf("%v: run make testdata", err)
	}
	write := func(name string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("component.wasm", wasm)
	write("wrun.toml", []byte(manifest))
	for name, content := range files {
		write(name, []byte(content))
	}
	return dir
}

// loadPackage loads a package directory on a fresh Runtime whose state is
// in a temporary directory.
func loadPackage(t *testing.T, dir string) *wrun.Package {
	t.Helper()
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(t.TempDir()).WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	pkg, err := rt.Load(ctx, dir, wrun.LoadOptions{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pkg.Close(ctx) })
	return pkg
}

// syncBuffer is a log shared by the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer serves the test package on 127.0.0.1 with opts, logging to
// the returned buffer.
func testServer(t *testing.T, opts Options) (*Server, *httptest.Server, *syncBuffer, string) {
	t.Helper()
	dir := writePackage(t, cgiManifest, staticFiles)
	pkg := loadPackage(t, dir)
	log := &syncBuffer{}
	if opts.Log == nil {
		opts.Log = log
	}
	s, err := New(pkg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts, log, dir
}

// get sends a request and returns the response with its body read.
func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

// rawGet sends target verbatim as the request line's target, over a raw
// TCP connection (a client would clean or escape it), and returns the
// status code and body.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func wantStatus(t *testing.T, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %q", resp.Request.Method, resp.Request.URL, resp.StatusCode, want, body)
	}
}

func wantContains(t *testing.T, what, s string, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(s, f) {
			t.Errorf("%s does not contain %q:\n%s", what, f, s)
		}
	}
}
