package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// A Flask app served by wrun serve on python:cpython-preinit, twice: as
// is, and with WRUN_PYTHON_PRELOAD naming its module in [run] env, so that
// its init imports Flask and the app into the snapshot. Both answer the
// same; the preloaded one finds its module imported when a request starts.
// The requests go to the two servers in turn and each one's median is
// logged (no assertion on time: the machine is shared). The number of
// requests per server is 10, or $WRUN_PRELOAD_REQUESTS.
func TestServeFlaskPreload(t *testing.T) {
	c, _ := webappCLI(t)
	root := t.TempDir()
	deps := publishFlaskLibraries(t, c, root)
	app := func(name, env string) string {
		dir := filepath.Join(root, name)
		files := map[string]string{
			"wrun.toml": `[package]
name = "test:` + name + `"
version = "1.0.0"

[run]
runtime = "python:cpython-preinit@^3.11"
args = ["/app/cgi_main.py"]
env = { ` + env + ` }

[[assets]]
from = "src"
to = "/app"

[[http.routes]]
path = "/"
handler = "cgi"

[dependencies]
` + deps,
			"src/hello.py": `from flask import Flask, render_template_string, request

app = Flask(__name__)


@app.route("/")
def index():
    return render_template_string("<h1>Hello, {{ name }}!</h1>", name=request.args.get("name", "Flask"))
`,
			// The adapter says whether the app was imported before the
			// request started.
			"src/cgi_main.py": `import sys
preloaded = "hello" in sys.modules
from wsgiref.handlers import CGIHandler
from hello import app


def wrapped(environ, start_response):
    def start(status, headers, exc_info=None):
        return start_response(status, headers + [("X-Preloaded", str(preloaded))], exc_info)
    return app(environ, start)


CGIHandler().run(wrapped)
`,
		}
		for name, content := range files {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	plain := c.startServe("--timeout", "60s", app("flaskplain", ""))
	pre := c.startServe("--timeout", "60s", app("flaskpre", `PYTHONPATH = "/app", WRUN_PYTHON_PRELOAD = "hello"`))

	n := 10
	if s := os.Getenv("WRUN_PRELOAD_REQUESTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("WRUN_PRELOAD_REQUESTS=%q: want a positive number", s)
		}
	}
	servers := []struct {
		name     string
		url      string
		log      func() string
		preload  string
		took     []time.Duration
		lastBody string
	}{
		{name: "as is", url: plain.url, log: plain.log, preload: "False"},
		{name: "WRUN_PYTHON_PRELOAD=hello", url: pre.url, log: pre.log, preload: "True"},
	}
	for i := -1; i < n; i++ { // request -1 warms up (the first makes the snapshot)
		for k := range servers {
			s := &servers[k]
			start := time.Now()
			resp, body := httpGet(t, s.url+"/?name=%3Cwasm%3E")
			took := time.Since(start)
			if resp.StatusCode != 200 || body != "<h1>Hello, &lt;wasm&gt;!</h1>" {
				t.Fatalf("%s: GET /: %d %q\nlog:\n%s", s.name, resp.StatusCode, body, s.log())
			}
			if got := resp.Header.Get("X-Preloaded"); got != s.preload {
				t.Fatalf("%s: the app module was imported before the request: %q, want %q", s.name, got, s.preload)
			}
			if i < 0 {
				t.Logf("%s: first request (loads, pre-initializes on first use): %s", s.name, took)
			} else {
				s.took = append(s.took, took)
			}
		}
	}
	for _, s := range servers {
		slices.Sort(s.took)
		t.Logf("Flask GET / through wrun serve, %s: %d requests interleaved with the other server: min %s, p50 %s, max %s",
			s.name, len(s.took), s.took[0], s.took[len(s.took)/2], s.took[len(s.took)-1])
	}
}
