// Package serve is `wrun serve` as an http.Handler: a package's static
// routes served by the host straight from its verified asset layers, its
// handler routes answered by its program, one fresh instance per request,
// speaking CGI/1.1 (RFC 3875) over WASI preview 1.
//
// A service embeds it in its own mux:
//
//	pkg, _ := rt.Load(ctx, "example:webapp@1.0.0")
//	h, _ := serve.New(pkg, serve.Options{Timeout: 10 * time.Second})
//	mux.Handle("/", h)
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/printable"
	"github.com/wrun-dev/wrun/vfs"
)

// Defaults of Options.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxBodyBytes     = 10 << 20
	DefaultMaxQueue         = 64
	DefaultMaxHeaderBytes   = 64 << 10
	DefaultMaxResponseBytes = 64 << 20
	DefaultMaxMemoryBytes   = 512 << 20
)

// AssetManifestPath is the guest path of the JSON file that maps the URL
// path of every file a static route serves to its content-hash URL; the
// environment variable AssetManifestEnv holds it too.
const (
	AssetManifestPath = "/_wrun/asset-urls.json"
	AssetManifestEnv  = "WRUN_ASSET_URLS"
)

// Options are a Server's limits and logging. The zero value is the
// default of every field.
type Options struct {
	// RunConfig is the base of every handler run: its env, mounts, open
	// file and overlay limits. Its stdin, stdout and stderr are the
	// request's; its memory limit is MaxMemoryBytes.
	RunConfig wrun.RunConfig
	// Timeout stops a handler run (504); 0 means DefaultTimeout, negative
	// no limit.
	Timeout time.Duration
	// MaxMemoryBytes caps a handler run's linear memory; 0 means
	// DefaultMaxMemoryBytes, negative no cap beyond the module's own.
	MaxMemoryBytes int64
	// MaxConcurrent handler runs at once; 0 means the number of CPUs.
	MaxConcurrent int
	// MaxQueue requests waiting for a run slot; past it a request gets
	// 503. 0 means DefaultMaxQueue, negative none (503 when all slots are
	// busy).
	MaxQueue int
	// MaxBodyBytes caps a request body a handler gets (413 past it); 0
	// means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxHeaderBytes caps the CGI response header block; 0 means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxResponseBytes caps what a handler writes to stdout (502 past
	// it); 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Log receives one line per request (nil: none): the combined log
	// format, or with JSONLog one JSON object.
	Log     io.Writer
	JSONLog bool
}

// Server serves one package. It is safe for concurrent use.
type Server struct {
	run    func(context.Context, wrun.RunConfig) error
	name   string
	opts   Options
	routes []*route // longest path first
	assets *assets
	base   wrun.RunConfig

	assetURLs map[string]string
	hashed    map[string][]*asset

	cached   atomic.Int64 // bytes of verified assets kept in memory
	cacheMax int64        // their bound, maxCachedBytes

	slots chan struct{}
	qmu   sync.Mutex
	queue int
	logMu sync.Mutex
}

type route struct {
	bundle.HTTPRoute
	prefix string // Path without its trailing slash ("" for "/")
}

// matches reports whether p is served by the route, and the rest of p.
func (rt *route) match(p string) (string, bool) {
	if rt.prefix == "" {
		return p, true
	}
	if p == rt.prefix {
		return "", true
	}
	if rest, ok := strings.CutPrefix(p, rt.prefix+"/"); ok {
		return "/" + rest, true
	}
	return "", false
}

// newRoutes returns the routes of an [http] table, longest path first.
func newRoutes(routes []bundle.HTTPRoute) []*route {
	out := make([]*route, 0, len(routes))
	for _, r := range routes {
		out = append(out, &route{HTTPRoute: r, prefix: strings.TrimSuffix(r.Path, "/")})
	}
	slices.SortStableFunc(out, func(a, b *route) int { return len(b.prefix) - len(a.prefix) })
	return out
}

// New returns the server of a loaded package, from its [http] table. A
// package without one that has a program to run is served by it at "/".
// pkg must stay open while the Server is used.
func New(pkg *wrun.Package, opts Options) (*Server, error) {
	m := pkg.Manifest
	var routes []bundle.HTTPRoute
	if m.HTTP != nil && len(m.HTTP.Routes) > 0 {
		routes = m.HTTP.Routes
	} else {
		if m.Run.Wasm == "" && m.Run.Runtime == "" {
			return nil, fmt.Errorf("%s has no [http] table and no program: add [[http.routes]] to wrun.toml", m.Label(pkg.Name()))
		}
		routes = []bundle.HTTPRoute{{Path: "/", Handler: bundle.HTTPHandlerCGI}}
	}
	s := newServer(pkg.Name(), pkg.Run, routes, opts)
	s.assets = newAssets(assetLayers(pkg.Resolved))
	for _, rt := range s.routes {
		if rt.Static == "" {
			continue
		}
		if f, dir := s.assets.lookup(rt.Static); f == nil && !dir {
			return nil, fmt.Errorf("%s: http route %s: static %s names no asset directory of the package or its dependencies", pkg.Name(), rt.Path, rt.Static)
		}
	}
	s.indexStatic()
	if len(s.assetURLs) > 0 {
		layer, err := vfs.NewMapLayer(map[string]vfs.MapFile{
			strings.TrimPrefix(AssetManifestPath, "/_wrun/"): {Data: s.assetManifest()},
		})
		if err != nil {
			return nil, err
		}
		s.base = s.base.WithMount(vfs.Mount{Guest: "/_wrun", FS: layer}).WithEnv(AssetManifestEnv, AssetManifestPath)
	}
	if err := pkg.CheckMounts(s.base); err != nil {
		return nil, err
	}
	return s, nil
}

// NewProgram returns a server that answers every request with prog as a
// CGI handler: `wrun serve app.wasm`.
func NewProgram(prog *wrun.Program, opts Options) *Server {
	s := newServer(prog.Name(), prog.Run, []bundle.HTTPRoute{{Path: "/", Handler: bundle.HTTPHandlerCGI}}, opts)
	s.assets = newAssets(nil)
	s.indexStatic()
	return s
}

func newServer(name string, run func(context.Context, wrun.RunConfig) error, routes []bundle.HTTPRoute, opts Options) *Server {
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxMemoryBytes == 0 {
		opts.MaxMemoryBytes = DefaultMaxMemoryBytes
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = runtime.NumCPU()
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = DefaultMaxQueue
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	s := &Server{name: name, run: run, opts: opts, routes: newRoutes(routes), slots: make(chan struct{}, opts.MaxConcurrent), cacheMax: maxCachedBytes}
	s.base = opts.RunConfig.WithCancellation(true)
	if opts.MaxMemoryBytes > 0 {
		s.base = s.base.WithMemoryLimitPages(uint32(min(opts.MaxMemoryBytes/(64<<10), 1<<16)))
	}
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &logWriter{ResponseWriter: w}
	s.dispatch(lw, r, 0)
	s.logRequest(r, lw, time.Since(start))
}

// maxLocalRedirects bounds the chain of CGI local redirects of one request.
const maxLocalRedirects = 4

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, depth int) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, HashPrefix); ok {
		s.serveHash(w, r, rest)
		return
	}
	switch rt, rest := s.routeOf(p); {
	case rt == nil:
		s.notFound(w, r)
	case rt.Static != "":
		s.serveStatic(w, r, rt, strings.TrimPrefix(rest, "/"))
	default:
		s.serveCGI(w, r, rt, rest, depth)
	}
}

// routeOf returns the route that serves the URL path p, the longest
// matching one, and the rest of p below it; nil when none does.
func (s *Server) routeOf(p string) (*route, string) {
	for _, rt := range s.routes {
		if rest, ok := rt.match(p); ok {
			return rt, rest
		}
	}
	return nil, ""
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusNotFound, nil)
}

// fail answers with status and a one-line text body; err, when not nil,
// is logged (never sent: it may name host paths).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if lw, ok := w.(*logWriter); ok && err != nil {
		lw.err = err
	}
	h := w.Header()
	for k := range h {
		if k != "Allow" && k != "Retry-After" && k != "Connection" {
			delete(h, k)
		}
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, "%d %s\n", status, http.StatusText(status))
	}
}

// logWriter records what a response was, for the log line.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	err    error
}

func (l *logWriter) WriteHeader(code int) {
	if l.status == 0 {
		l.status = code
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *logWriter) Write(b []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	n, err := l.ResponseWriter.Write(b)
	l.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the connection's sendfile path for files served from disk.
func (l *logWriter) ReadFrom(r io.Reader) (int64, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	n, err := io.Copy(l.ResponseWriter, r)
	l.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (l *logWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// logRequest writes the request's log line.
func (s *Server) logRequest(r *http.Request, lw *logWriter, took time.Duration) {
	if s.opts.Log == nil {
		return
	}
	status := lw.status
	if status == 0 {
		status = http.StatusOK
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	var line []byte
	if s.opts.JSONLog {
		rec := struct {
			Time      string  `json:"time"`
			Remote    string  `json:"remote"`
			Method    string  `json:"method"`
			URI       string  `json:"uri"`
			Proto     string  `json:"proto"`
			Status    int     `json:"status"`
			Bytes     int64   `json:"bytes"`
			Millis    float64 `json:"duration_ms"`
			Referer   string  `json:"referer,omitempty"`
			UserAgent string  `json:"user_agent,omitempty"`
			Error     string  `json:"error,omitempty"`
		}{
			Time: time.Now().UTC().Format(time.RFC3339Nano), Remote: host, Method: r.Method,
			URI: r.RequestURI, Proto: r.Proto, Status: status, Bytes: lw.bytes,
			Millis: float64(took.Microseconds()) / 1000, Referer: r.Referer(), UserAgent: r.UserAgent(),
		}
		if lw.err != nil {
			rec.Error = lw.err.Error()
		}
		line, _ = json.Marshal(rec)
		line = append(line, '\n')
	} else {
		if lw.err != nil {
			line = fmt.Appendf(line, "wrun serve: %s %s: %s\n", clean(r.Method), clean(r.RequestURI), clean(lw.err.Error()))
		}
		line = fmt.Appendf(line, "%s - - [%s] \"%s %s %s\" %d %d \"%s\" \"%s\"\n",
			clean(host), time.Now().Format("02/Jan/2006:15:04:05 -0700"), clean(r.Method), clean(r.RequestURI), clean(r.Proto),
			status, lw.bytes, clean(r.Referer()), clean(r.UserAgent()))
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.opts.Log.Write(line)
}

// clean escapes what a log line must not carry raw: what
// printable.String escapes (control and bidirectional characters, invalid
// UTF-8, backslashes) and the quotes that delimit the combined format's
// fields.
func clean(s string) string {
	return strings.ReplaceAll(printable.String(s), `"`, `\"`)
}

// errQueueFull is a request turned away because every run slot is busy
// and the queue is full.
var errQueueFull = errors.New("every handler slot is busy and the queue is full")

// acquire takes a run slot, waiting in the bounded queue.
func (s *Server) acquire(ctx context.Context) (func(), error) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	default:
	}
	s.qmu.Lock()
	if s.opts.MaxQueue < 0 || s.queue >= s.opts.MaxQueue {
		s.qmu.Unlock()
		return nil, errQueueFull
	}
	s.queue++
	s.qmu.Unlock()
	defer func() {
		s.qmu.Lock()
		s.queue--
		s.qmu.Unlock()
	}()
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
