package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// serveProc is a running `wrun serve`.
type serveProc struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:PORT
	mu   sync.Mutex
	logs strings.Builder // its stderr after the "serving" line
	done chan struct{}
}

var servingRE = regexp.MustCompile(`^wrun serve: serving .* on (http://[0-9.:]+)/\n$`)

// startServe starts `wrun serve --listen 127.0.0.1:0 args...` and waits
// until it listens. It is stopped with SIGINT at the end of the test.
func (c *cli) startServe(args ...string) *serveProc {
	t := c.t
	t.Helper()
	cmd := exec.Command(wrunBin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append([]string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}, c.env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	r := bufio.NewReader(stderr)
	first, err := r.ReadString('\n')
	m := servingRE.FindStringSubmatch(first)
	if m == nil {
		rest, _ := io.ReadAll(r)
		cmd.Wait()
		t.Fatalf("wrun serve %v did not start: %v: %s%s", args, err, first, rest)
	}
	p.url = m[1]
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			p.mu.Lock()
			p.logs.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop interrupts the server and waits for it: it exits 0.
func (p *serveProc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("wrun serve exited with %v; log:\n%s", err, p.log())
	}
}

// waitLog waits until the server's log holds s (log lines are written
// after the response).
func (p *serveProc) waitLog(t *testing.T, s string) string {
	t.Helper()
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if l := p.log(); strings.Contains(l, s) {
			return l
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the log never said %q:\n%s", s, p.log())
		}
	}
}

func httpGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// cgiPackage writes a package serving static/ and the cgi_modes guest.
func cgiPackage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	wasm, err := os.ReadFile(guest(t, "c/cgi_modes"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"component.wasm": string(wasm),
		"static/app.js":  "console.log('app');\n",
		"wrun.toml": `[package]
name = "test:serve"
version = "1.0.0"

[run]
wasm = "component.wasm"

[[assets]]
from = "static"
to = "/static"

[[http.routes]]
path = "/static/"
static = "/static"

[[http.routes]]
path = "/cgi"
handler = "cgi"
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

// wrun serve serves a package directory: static files, content-hash URLs,
// the handler under its route, a crash as 502 with a log line, a loop as
// 504 within --timeout; SIGINT stops it with exit code 0.
func TestServePackage(t *testing.T) {
	c := newCLI(t)
	p := c.startServe("--timeout", "2s", cgiPackage(t))

	resp, body := httpGet(t, p.url+"/static/app.js")
	if resp.StatusCode != 200 || body != "console.log('app');\n" || !strings.HasPrefix(resp.Header.Get("ETag"), `"sha256-`) {
		t.Fatalf("/static/app.js: %d %q ETag %q", resp.StatusCode, body, resp.Header.Get("ETag"))
	}
	hash := strings.TrimSuffix(strings.TrimPrefix(resp.Header.Get("ETag"), `"sha256-`), `"`)
	resp, _ = httpGet(t, p.url+"/_wrun/sha256/"+hash+"/app.js")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("content-hash URL: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp, body = httpGet(t, p.url+"/cgi/echo?x=1")
	if resp.StatusCode != 200 || !strings.Contains(body, "SCRIPT_NAME=/cgi\nPATH_INFO=/echo\nQUERY_STRING=x=1\n") {
		t.Errorf("/cgi/echo: %d %q", resp.StatusCode, body)
	}
	if resp, _ := httpGet(t, p.url+"/elsewhere"); resp.StatusCode != 404 {
		t.Errorf("/elsewhere: %d, want 404", resp.StatusCode)
	}
	if resp, _ := httpGet(t, p.url+"/cgi/crash"); resp.StatusCode != 502 {
		t.Errorf("/cgi/crash: %d, want 502", resp.StatusCode)
	}
	start := time.Now()
	if resp, _ := httpGet(t, p.url+"/cgi/loop"); resp.StatusCode != 504 {
		t.Errorf("/cgi/loop: %d, want 504", resp.StatusCode)
	}
	t.Logf("/cgi/loop answered 504 after %s (--timeout 2s)", time.Since(start))
	if resp, _ := httpGet(t, p.url+"/cgi/echo"); resp.StatusCode != 200 {
		t.Errorf("after the crash and the loop: %d, want 200", resp.StatusCode)
	}
	log := p.waitLog(t, `"GET /cgi/loop HTTP/1.1" 504`)
	for _, want := range []string{
		`"GET /static/app.js HTTP/1.1" 200 20 "" "Go-http-client/1.1"`,
		"wrun serve: GET /cgi/crash: the handler trapped: unreachable\n",
		`"GET /cgi/crash HTTP/1.1" 502`,
		"wrun serve: GET /cgi/loop: the handler ran past its 2s timeout",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not contain %q:\n%s", want, log)
		}
	}
	p.stop(t)
	if !strings.HasSuffix(p.log(), "wrun serve: stopped\n") {
		t.Errorf("log does not end with the stop line:\n%s", p.log())
	}
}

// --json logs one JSON object per request; a .wasm is served as the
// handler of every path.
func TestServeWasmJSONLog(t *testing.T) {
	c := newCLI(t)
	p := c.startServe("--json", guest(t, "c/cgi_modes"))
	resp, body := httpGet(t, p.url+"/echo?q")
	if resp.StatusCode != 200 || !strings.Contains(body, "PATH_INFO=/echo\nQUERY_STRING=q\n") {
		t.Fatalf("/echo: %d %q", resp.StatusCode, body)
	}
	line := p.waitLog(t, "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &rec); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	if rec["uri"] != "/echo?q" || rec["status"] != 200.0 || rec["method"] != "GET" {
		t.Errorf("log record %v", rec)
	}
}

// Bad flags and a package with nothing to serve are one-line errors.
func TestServeErrors(t *testing.T) {
	c := newCLI(t)
	c.run("serve", "--max-body", "lots", guest(t, "c/cgi_modes")).wantError(t, `--max-body "lots"`)
	c.run("serve", "--listen", "127.0.0.1:99999", guest(t, "c/cgi_modes")).wantError(t, "--listen 127.0.0.1:99999")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte("[package]\nname = \"test:files\"\nversion = \"1.0.0\"\n"), 0o644)
	c.run("serve", dir).wantError(t, "test:files@1.0.0", "nothing to run")
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte("[package]\nname = \"test:files\"\nversion = \"1.0.0\"\n[[http.routes]]\npath = \"/\"\nstatic = \"/www\"\n"), 0o644)
	c.run("serve", dir).wantError(t, "http.routes[0].static", `"/www": the package has no [[assets]] entry`)
}

// webShared is the WRUN_HOME the web app tests share, with both CPython
// runtimes published (and, after the first run, their snapshots cached).
// It lives beside the test binary's wrun, so TestMain removes it.
var webShared struct {
	once sync.Once
	home string
	err  string
}

// webappCLI returns a cli whose WRUN_HOME has both CPython runtimes
// published, and a copy of examples/webapp.
func webappCLI(t *testing.T) (*cli, string) {
	t.Helper()
	plain := pythonRuntime(t)
	webShared.once.Do(func() {
		home, err := os.MkdirTemp(filepath.Dir(wrunBin), "web-home")
		if err != nil {
			webShared.err = err.Error()
			return
		}
		c := &cli{t: t, home: home}
		// The pre-initialized variant is built beside the plain runtime.
		for _, dir := range []string{plain, plain + "-preinit"} {
			if r := c.run("publish", dir); r.code != 0 {
				webShared.err = "wrun publish " + dir + ": " + r.stderr
				return
			}
		}
		webShared.home = home
	})
	if webShared.err != "" {
		t.Fatal(webShared.err)
	}
	app := filepath.Join(t.TempDir(), "webapp")
	if err := os.CopyFS(app, os.DirFS(filepath.Join(testenv.Root(), "examples", "webapp"))); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, home: webShared.home}, app
}

// The example web app: the handler renders the page with content-hash
// asset URLs, answers its JSON API, and hands the font back as a handle.
func TestServeWebappExample(t *testing.T) {
	c, app := webappCLI(t)
	p := c.startServe(app)
	resp, page := httpGet(t, p.url+"/")
	if resp.StatusCode != 200 || !strings.Contains(page, "Rendered by Python 3.11.2 on wasi.") {
		t.Fatalf("/: %d %q", resp.StatusCode, page)
	}
	m := regexp.MustCompile(`<script src="(/_wrun/sha256/[0-9a-f]{64}/app\.js)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page does not load app.js by its content-hash URL:\n%s", page)
	}
	resp, js := httpGet(t, p.url+m[1])
	if resp.StatusCode != 200 || !strings.Contains(js, "/api/greet") || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s: %d, Cache-Control %q", m[1], resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp, body := httpGet(t, p.url+"/api/greet?name=tester")
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/api/greet: %d %q: %v", resp.StatusCode, body, err)
	}
	if got["greeting"] != "Hello, tester!" || got["platform"] != "wasi" {
		t.Errorf("/api/greet: %v", got)
	}
	font, err := os.ReadFile(filepath.Join(app, "static", "dejavu-sans-ascii.ttf"))
	if err != nil {
		t.Fatal(err)
	}
	resp, body = httpGet(t, p.url+"/font")
	if resp.StatusCode != 200 || body != string(font) || resp.Header.Get("Content-Type") != "font/ttf" {
		t.Errorf("/font (X-Wrun-Asset): %d, %d bytes, Content-Type %q", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
}

// chromium returns Debian's chromium, which .ci/deps installs.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: .ci/deps installs Debian's chromium package (apt-get install chromium)")
	return ""
}

// A real browser loads the example from wrun serve, runs its script, which
// calls the Python handler's API, and loads the font: the DOM shows both.
// The screenshot goes to $WRUN_ARTIFACTS (CI keeps it), else a temporary
// directory; the log names it.
func TestServeWebappInBrowser(t *testing.T) {
	browser := chromium(t)
	c, app := webappCLI(t)
	p := c.startServe(app)
	profile := t.TempDir()
	headless := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(browser, append([]string{"--headless=new", "--no-sandbox", "--disable-gpu",
			"--no-first-run", "--user-data-dir=" + profile, "--virtual-time-budget=15000", "--window-size=900,600"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+profile)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	dom := headless("--dump-dom", p.url+"/")
	for _, want := range []string{
		`<body data-done="yes">`,
		`<p id="result" class="ok">Hello, browser! (Python 3.11.2 on wasi)</p>`,
		`<p id="font">font: loaded</p>`,
		`<p id="rendered">Rendered by Python 3.11.2 on wasi.</p>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM does not contain %q:\n%s", want, dom)
		}
	}
	dir := os.Getenv("WRUN_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "wrun-serve-webapp.png")
	headless("--screenshot="+shot, p.url+"/")
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	log := p.waitLog(t, `"GET /api/greet?name=browser HTTP/1.1" 200`)
	for _, want := range []string{`"GET / HTTP/1.1" 200`, `"GET /_wrun/sha256/`, `/dejavu-sans-ascii.ttf HTTP/1.1" 200`} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not show %q:\n%s", want, log)
		}
	}
}

// debianLibs are the Debian packages of Flask and what it needs, by the
// top-level names they install into /usr/lib/python3/dist-packages.
var debianLibs = []struct {
	name, version string
	top           []string
}{
	{"flask", "2.2.2", []string{"flask"}},
	{"werkzeug", "2.2.2", []string{"werkzeug"}},
	{"jinja2", "3.1.2", []string{"jinja2"}},
	{"click", "8.1.3", []string{"click"}},
	{"itsdangerous", "2.1.2", []string{"itsdangerous"}},
	{"blinker", "1.5.0", []string{"blinker"}},
	{"markupsafe", "2.1.2", []string{"markupsafe"}},
}

// flaskLibrary writes the library package of one Debian Python package,
// laid out as `wrun python import` does: site-packages/ with the pure
// Python files (native speedups left out: the pure fallbacks run) and
// unchecked-hash .pyc files compiled by Debian's python3.11.
func flaskLibrary(t *testing.T, dir, name, version string, top []string) {
	t.Helper()
	const dist = "/usr/lib/python3/dist-packages"
	site := filepath.Join(dir, "site-packages")
	for _, pkg := range top {
		src := filepath.Join(dist, pkg)
		if _, err := os.Stat(src); err != nil {
			t.Fatalf("%v: .ci/deps installs python3-%s", err, name)
		}
		err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dist, p)
			if d.IsDir() {
				if d.Name() == "__pycache__" {
					return filepath.SkipDir
				}
				return os.MkdirAll(filepath.Join(site, rel), 0o755)
			}
			if strings.HasSuffix(p, ".so") || !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(site, rel), b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("/usr/bin/python3.11", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", "-d", "/usr/local/lib/python3.11/site-packages", site).CombinedOutput()
	if err != nil {
		t.Fatalf("compiling %s with Debian's python3.11: %v\n%s", name, err, out)
	}
	manifest := fmt.Sprintf("[package]\nname = \"pypi:%s\"\nversion = %q\nkind = \"assets\"\n\n[[assets]]\nfrom = \"site-packages\"\nto = \"/\"\n", name, version)
	if err := os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
}

// publishFlaskLibraries publishes debianLibs as library packages made in
// root and returns the [dependencies] lines of an app that uses them.
func publishFlaskLibraries(t *testing.T, c *cli, root string) string {
	t.Helper()
	deps := ""
	for _, l := range debianLibs {
		dir := filepath.Join(root, l.name)
		flaskLibrary(t, dir, l.name, l.version, l.top)
		if r := c.run("publish", dir); r.code != 0 {
			t.Fatalf("wrun publish %s: %s", dir, r.stderr)
		}
		deps += fmt.Sprintf("\"pypi:%s\" = { version = \"^%s\", to = \"/usr/local/lib/python3.11/site-packages\" }\n", l.name, l.version)
	}
	return deps
}

// A Flask app (Debian's Flask, Werkzeug, Jinja2, click, itsdangerous,
// blinker and MarkupSafe as library packages) answers through wrun serve
// with no change to its code: a two-line CGIHandler adapter runs it.
func TestServeFlaskApp(t *testing.T) {
	c, _ := webappCLI(t)
	root := t.TempDir()
	deps := publishFlaskLibraries(t, c, root)
	app := filepath.Join(root, "app")
	files := map[string]string{
		"wrun.toml": `[package]
name = "test:flaskapp"
version = "1.0.0"

[run]
runtime = "python:cpython-preinit@^3.11"
args = ["/app/cgi_main.py"]

[[assets]]
from = "src"
to = "/app"

[[http.routes]]
path = "/"
handler = "cgi"

[dependencies]
` + deps,
		// The app, as any Flask tutorial writes it.
		"src/hello.py": `from flask import Flask, jsonify, render_template_string, request

app = Flask(__name__)


@app.route("/")
def index():
    return render_template_string("<h1>Hello, {{ name }}!</h1>", name=request.args.get("name", "Flask"))


@app.post("/api/sum")
def total():
    numbers = request.get_json()["numbers"]
    return jsonify(sum=sum(numbers), count=len(numbers))


@app.route("/go")
def go():
    from flask import redirect, url_for
    return redirect(url_for("index", name="redirected"))
`,
		// The adapter: CGI/1.1 in, WSGI app out.
		"src/cgi_main.py": "from wsgiref.handlers import CGIHandler\nfrom hello import app\nCGIHandler().run(app)\n",
	}
	for name, content := range files {
		p := filepath.Join(app, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := c.startServe("--timeout", "60s", app)
	start := time.Now()
	resp, body := httpGet(t, p.url+"/?name=%3Cwasm%3E")
	t.Logf("first Flask request: %s", time.Since(start))
	if resp.StatusCode != 200 || body != "<h1>Hello, &lt;wasm&gt;!</h1>" {
		t.Fatalf("/: %d %q\nlog:\n%s", resp.StatusCode, body, p.log())
	}
	resp, err := http.Post(p.url+"/api/sum", "application/json", strings.NewReader(`{"numbers": [1, 2, 3.5]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got map[string]float64
	if err := json.Unmarshal(b, &got); err != nil || got["sum"] != 6.5 || got["count"] != 3 {
		t.Errorf("POST /api/sum: %d %q: %v", resp.StatusCode, b, err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(p.url + "/go")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/?name=redirected" {
		t.Errorf("/go: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := httpGet(t, p.url+"/nowhere"); resp.StatusCode != 404 {
		t.Errorf("/nowhere: %d, want Flask's 404", resp.StatusCode)
	}
	var took []time.Duration
	for range 10 {
		start := time.Now()
		if resp, _ := httpGet(t, p.url+"/"); resp.StatusCode != 200 {
			t.Fatalf("/: %d", resp.StatusCode)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("Flask GET / on the pre-initialized runtime, 10 requests: min %s, median %s, max %s", took[0], took[5], took[9])
}

// wrun serve's HTTP server bounds how long a peer may hold a connection
// without sending a request: the header timeout for a new one, the idle
// timeout for a kept-alive one (0 would be no limit, as the Go default).
func TestServeConnectionTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("ReadHeaderTimeout %s, IdleTimeout %s, MaxHeaderBytes %d: want each bounded", srv.ReadHeaderTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
}
