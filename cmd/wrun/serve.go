package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/serve"
)

// serveOptions are the flags of `wrun serve`: the run flags that apply to
// each handler run, and the server's own.
type serveOptions struct {
	runOptions
	listen        string
	json          bool
	maxConcurrent int
	maxQueue      int
	maxBody       string
}

func newServeCmd(g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve TARGET",
		Short: "Serve a package over HTTP: its assets from the host, its program per request",
		Long: `Serve a package over HTTP, as its wrun.toml [http] table says.

Static routes are served by wrun itself from the package's verified,
read-only asset layers, with the file's SHA-256 as ETag, Range, HEAD and
If-None-Match support; every static file is also served at its content-hash
URL /_wrun/sha256/<hex>/<name> with Cache-Control: immutable. Handler routes
run the package's program once per request, speaking CGI/1.1: the request's
meta-variables in its environment, the body on stdin, a CGI response on
stdout. A package without [http] is served by its program at "/"; so is a
.wasm file.

TARGET is as for wrun run. The run flags apply to every handler run:
--timeout (default 30s per request), --max-memory (default 512MiB), --env,
--mount, --asset, --tmp and the others. One line per request is logged on
stderr, in the combined log format or with --json as a JSON object.`,
		Example: `  wrun serve ./webapp
  wrun serve --listen 127.0.0.1:9000 --timeout 5s example:webapp@1.0.0
  wrun serve --json --max-concurrent 8 app.wasm`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.serve(cmd.Context(), g, args[0])
		},
	}
	f := cmd.Flags()
	o.addFlags(f)
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on, host:port (port 0: any free port)")
	f.BoolVar(&o.json, "json", false, "log one JSON object per request instead of the combined log format")
	f.IntVar(&o.maxConcurrent, "max-concurrent", 0, "handler runs at once (default: the number of CPUs)")
	f.IntVar(&o.maxQueue, "max-queue", serve.DefaultMaxQueue, "requests waiting for a handler slot; past it 503 (0: none wait)")
	f.StringVar(&o.maxBody, "max-body", "10MiB", "largest request body a handler gets; past it 413")
	return cmd
}

func (o *serveOptions) serve(ctx context.Context, g *globalOptions, target string) error {
	rc, err := o.runConfig(g)
	if err != nil {
		return err
	}
	opts := serve.Options{RunConfig: rc, Log: g.stderr, JSONLog: o.json, MaxConcurrent: o.maxConcurrent, Timeout: o.timeout}
	switch mem, err := parseMaxMemory(o.maxMemory); {
	case err != nil:
		return err
	case mem > 0:
		opts.MaxMemoryBytes = int64(mem)
	}
	switch {
	case o.maxConcurrent < 0:
		return fmt.Errorf("--max-concurrent %d: want a count of at least 1, or 0 for the number of CPUs", o.maxConcurrent)
	case o.maxQueue < 0:
		return fmt.Errorf("--max-queue %d: want a count, 0 for no queue", o.maxQueue)
	case o.maxQueue == 0:
		opts.MaxQueue = -1
	default:
		opts.MaxQueue = o.maxQueue
	}
	n, err := humanize.ParseBytes(o.maxBody)
	if err != nil || n == 0 {
		return fmt.Errorf("--max-body %q: want a size like 10MiB", o.maxBody)
	}
	opts.MaxBodyBytes = int64(min(n, 1<<62))

	cfg := wrun.NewConfig().WithRegistry(g.registryOptions()).WithPreinitLimits(o.preinitLimits()).WithCloseOnContextDone(true)
	if o.noCache {
		cfg = cfg.WithInMemoryCache()
	}
	rt, err := wrun.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer rt.Close(context.WithoutCancel(ctx))
	var h *serve.Server
	name := target
	if isProgramFile(target) {
		prog, err := rt.CompileFile(ctx, target)
		if err != nil {
			return err
		}
		h = serve.NewProgram(prog, opts)
	} else {
		pkg, err := rt.Load(ctx, target)
		if err != nil {
			return err
		}
		defer pkg.Close(context.WithoutCancel(ctx))
		if h, err = serve.New(pkg, opts); err != nil {
			return err
		}
		name = pkg.Manifest.Label(target)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.listen, err)
	}
	srv := newHTTPServer(h)
	fmt.Fprintf(g.stderr, "wrun serve: serving %s on http://%s/\n", name, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fmt.Fprintf(g.stderr, "wrun serve: stopped\n")
	return nil
}

// Connection limits of `wrun serve`: a request's header block must arrive
// within serveHeaderTimeout and hold at most 1 MiB, and a keep-alive
// connection idle for serveIdleTimeout is closed, so that a peer cannot
// hold connections (a goroutine and a file descriptor each) open forever.
const (
	serveHeaderTimeout = 10 * time.Second
	serveIdleTimeout   = 2 * time.Minute
)

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: serveHeaderTimeout, IdleTimeout: serveIdleTimeout, MaxHeaderBytes: 1 << 20}
}
