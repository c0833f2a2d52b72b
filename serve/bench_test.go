package serve

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
)

// benchHTTP sends b.N GETs of url from concurrent clients over loopback
// and reports requests/s, p50 and p99 latency, the process's CPU time per
// request and its peak RSS.
func benchHTTP(b *testing.B, url string, clients int) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
	}
	get() // warm: connections, compiled variants
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				n := i
				i++
				next.Unlock()
				if n >= b.N {
					return
				}
				t := time.Now()
				get()
				lat[n] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	slices.Sort(lat)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) + syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	b.ReportMetric(float64(b.N)/took.Seconds(), "req/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/req")
	b.ReportMetric(float64(ru1.Maxrss)/1024, "peak-RSS-MiB")
}

// BenchmarkServeStatic compares a static file from wrun serve with Go's
// http.FileServer on the same directory (16 clients each), and measures
// the C CGI handler.
func BenchmarkServeStatic(b *testing.B) {
	dir := b.TempDir()
	body := strings.Repeat("console.log('static');\n", 1000) // 23 KB
	os.MkdirAll(filepath.Join(dir, "static"), 0o755)
	os.WriteFile(filepath.Join(dir, "static", "app.js"), []byte(body), 0o644)
	wasm, err := os.ReadFile(testenv.GuestPath("c/cgi_modes"))
	if err != nil {
		b.Fatalf("%v: run make testdata", err)
	}
	os.WriteFile(filepath.Join(dir, "component.wasm"), wasm, 0o644)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(cgiManifest), 0o644)
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "x.txt"), []byte("x"), 0o644)
	pkg := benchLoad(b, dir)
	s, err := New(pkg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("wrun", func(b *testing.B) {
		ts := httptest.NewServer(s)
		defer ts.Close()
		benchHTTP(b, ts.URL+"/static/app.js", 16)
	})
	b.Run("http.FileServer", func(b *testing.B) {
		ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
		defer ts.Close()
		benchHTTP(b, ts.URL+"/static/app.js", 16)
	})
	b.Run("cgi-c", func(b *testing.B) {
		ts := httptest.NewServer(s)
		defer ts.Close()
		benchHTTP(b, ts.URL+"/echo", 16)
	})
}

// BenchmarkServePython serves a WSGI hello (wsgiref's CGIHandler) on the
// plain and the pre-initialized CPython runtime (which preloads
// wsgiref.handlers into its snapshot; the plain one ignores the variable).
func BenchmarkServePython(b *testing.B) {
	rtDir := os.Getenv("WRUN_PYTHON_RUNTIME")
	if rtDir == "" {
		p, err := os.ReadFile(filepath.Join(testenv.Build(), "python-runtime.path"))
		if err != nil {
			b.Fatalf("no CPython runtime: %v: run make python-build", err)
		}
		rtDir = strings.TrimSpace(string(p))
	}
	home := b.TempDir()
	client, err := registryclient.New(registryclient.Options{Home: home})
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []string{rtDir, rtDir + "-preinit"} {
		p, err := bundle.LoadDir(d)
		if err != nil {
			b.Fatalf("%v: run make python-build", err)
		}
		if _, err := client.Publish(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
	for _, runtime := range []string{"python:cpython", "python:cpython-preinit"} {
		b.Run(runtime, func(b *testing.B) {
			dir := b.TempDir()
			os.MkdirAll(filepath.Join(dir, "app"), 0o755)
			os.WriteFile(filepath.Join(dir, "app", "hello.py"), []byte(wsgiHello), 0o644)
			os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(`[package]
name = "bench:wsgi"
version = "1.0.0"
[run]
runtime = "`+runtime+`@^3.11"
args = ["/app/hello.py"]
env = { WRUN_PYTHON_PRELOAD = "wsgiref.handlers" }
[[assets]]
from = "app"
to = "/app"
`), 0o644)
			pkg := benchLoadHome(b, dir, home)
			s, err := New(pkg, Options{})
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(s)
			defer ts.Close()
			// One client: the latency of a request's start; 16: throughput.
			b.Run("1-client", func(b *testing.B) { benchHTTP(b, ts.URL+"/", 1) })
			b.Run("16-clients", func(b *testing.B) { benchHTTP(b, ts.URL+"/", 16) })
		})
	}
}

const wsgiHello = `from wsgiref.handlers import CGIHandler


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\n"]


CGIHandler().run(app)
`

func benchLoad(b *testing.B, dir string) *wrun.Package { return benchLoadHome(b, dir, b.TempDir()) }

func benchLoadHome(b *testing.B, dir, home string) *wrun.Package {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(home))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(ctx) })
	pkg, err := rt.Load(ctx, dir, wrun.LoadOptions{Offline: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pkg.Close(ctx) })
	return pkg
}
