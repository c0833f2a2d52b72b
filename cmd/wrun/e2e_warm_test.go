package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/internal/warm"
)

// The warm server (`wrun server`): the fast path gives what the in-process
// path gives, byte for byte, and a server that is absent, stale or of
// another build is never used.

// What the trace says when the warm server ran the command, and when it
// used a Runtime it kept from an earlier run.
const (
	servedMark = "served by the warm server"
	keptMark   = "(kept by the warm server)"
)

// runBin is cli.run with another wrun binary.
func (c *cli) runBin(bin string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}, c.env...)
	cmd.Stdin = strings.NewReader(c.stdin)
	cmd.Dir = c.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatalf("%s %v: %v", bin, args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// startServer starts a server from bin for c's WRUN_HOME and stops it when
// the test ends.
func startServer(t *testing.T, c *cli, bin string) {
	t.Helper()
	if r := c.runBin(bin, "server", "start"); r.code != 0 || !strings.Contains(r.stdout, "started") {
		t.Fatalf("wrun server start: %+v", r)
	}
	t.Cleanup(func() {
		if r := c.runBin(bin, "server", "stop"); r.code != 0 {
			t.Errorf("wrun server stop: %+v", r)
		}
		if b, err := os.ReadFile(warm.LogPath(warm.Dir(c.home))); err == nil && t.Failed() {
			t.Logf("server log:\n%s", b)
		}
	})
}

// traced runs args with WRUN_TRACE=1 and reports whether the warm server
// served it, with the trace lines moved from its stderr to trace.
func (c *cli) traced(args ...string) (r result, served bool) {
	c.t.Helper()
	r, _, served = c.tracedBin(wrunBin, args...)
	return r, served
}

// tracedBin is traced with the binary bin, and returns the trace too.
func (c *cli) tracedBin(bin string, args ...string) (r result, trace string, served bool) {
	c.t.Helper()
	saved := c.env
	c.env = append(append([]string(nil), c.env...), "WRUN_TRACE=1")
	defer func() { c.env = saved }()
	r = c.runBin(bin, args...)
	var keep, lines []string
	for _, l := range strings.SplitAfter(r.stderr, "\n") {
		if strings.HasPrefix(l, "wrun trace: ") {
			lines = append(lines, l)
		} else {
			keep = append(keep, l)
		}
	}
	r.stderr = strings.Join(keep, "")
	trace = strings.Join(lines, "")
	return r, trace, strings.Contains(trace, servedMark)
}

// tree maps every file under dir to its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// warmCase is one invocation compared in process and through the server;
// out, when set, is a directory (relative to the cli's dir) the run writes
// into, emptied before each run and compared after.
type warmCase struct {
	name  string
	args  []string
	stdin string
	out   string
}

// compareWarm runs each case in process (no server yet), then starts a
// server and runs each twice through it (the second run uses what the
// first kept), and wants identical stdout, stderr, exit code and files.
func compareWarm(t *testing.T, c *cli, cases []warmCase) {
	t.Helper()
	type outcome struct {
		r     result
		files map[string]string
	}
	runCase := func(wc warmCase) outcome {
		if wc.out != "" {
			dir := filepath.Join(c.dir, wc.out)
			os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		c.stdin = wc.stdin
		o := outcome{r: c.run(wc.args...)}
		if wc.out != "" {
			o.files = tree(t, filepath.Join(c.dir, wc.out))
		}
		return o
	}
	want := map[string]outcome{}
	for _, wc := range cases {
		o := runCase(wc)
		if _, served := c.traced(wc.args...); served {
			t.Fatalf("%s: served by a warm server before any was started", wc.name)
		}
		want[wc.name] = o
	}
	startServer(t, c, wrunBin)
	for round := range 2 {
		for _, wc := range cases {
			got := runCase(wc)
			w := want[wc.name]
			if got.r != w.r {
				t.Errorf("%s, warm run %d: got %+v, in process %+v", wc.name, round+1, got.r, w.r)
			}
			if !mapsEqual(got.files, w.files) {
				t.Errorf("%s, warm run %d: files %v, in process %v", wc.name, round+1, got.files, w.files)
			}
		}
	}
	for _, wc := range cases {
		c.stdin = wc.stdin
		if _, served := c.traced(wc.args...); !served {
			t.Errorf("%s: not served by the warm server", wc.name)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// C and Go guests: output, stdin, exit codes, errors and files written to
// a --mount given relative to the working directory.
func TestWarmServerMatchesInProcess(t *testing.T) {
	c := newCLI(t)
	c.dir = t.TempDir()
	compareWarm(t, c, []warmCase{
		{name: "C hello", args: []string{"run", guest(t, "c/hello")}},
		{name: "C exit code and stderr", args: []string{"run", guest(t, "c/exit"), "--", "7"}},
		{name: "C files in a relative mount", args: []string{"run", "--mount", "out:/data", guest(t, "c/files")}, out: "out"},
		{name: "Go hello", args: []string{"run", guest(t, "go/hello")}},
		{name: "Go stdin, env, exit", args: []string{"run", "--env", "ECHO_EXIT=4", "--env", "K=v", guest(t, "go/echo"), "--", "a", "b c"}, stdin: "from stdin\n"},
		{name: "missing file", args: []string{"run", "nope.wasm"}},
		{name: "bad flag", args: []string{"run", "--max-memory", "lots", guest(t, "c/hello")}},
	})
}

// Python on the pre-initialized runtime, and a pruned cache: what the
// server kept is dropped and the run gives the same result.
func TestWarmServerPythonAndPrune(t *testing.T) {
	// The pre-initialized variant of the runtime under test.
	pre := pythonRuntime(t) + "-preinit"
	if _, err := os.Stat(filepath.Join(pre, "wrun.toml")); err != nil {
		t.Fatalf("python:cpython-preinit package: %v: run make python-build", err)
	}
	c := newCLI(t)
	c.dir = t.TempDir()
	if r := c.run("publish", pre); r.code != 0 {
		t.Fatalf("wrun publish %s: %s", pre, r.stderr)
	}
	code := "import sys, os; print(1); print('to stderr', file=sys.stderr); open('/out/w.txt', 'w').write(os.environ.get('K', '?')); sys.exit(3)"
	py := warmCase{name: "python", args: []string{"--mount", "out:/out", "--env", "K=v", "python:cpython-preinit@3.11.2", "--", "-c", code}, out: "out"}
	py.args = append([]string{"run"}, py.args...)
	compareWarm(t, c, []warmCase{py})

	if r := c.run("cache", "prune"); r.code != 0 {
		t.Fatalf("wrun cache prune: %+v", r)
	}
	os.RemoveAll(filepath.Join(c.dir, "out"))
	os.MkdirAll(filepath.Join(c.dir, "out"), 0o755)
	c.stdin = ""
	r, trace, served := c.tracedBin(wrunBin, py.args...)
	// Nothing kept from before the prune is used: the runtime is new.
	if !served || !strings.Contains(trace, "runtimes dropped (the cache changed") || strings.Contains(trace, keptMark) {
		t.Errorf("after a prune: served %v, trace:\n%s", served, trace)
	}
	if r.code != 3 || r.stdout != "1\n" || r.stderr != "to stderr\n" {
		t.Errorf("after a prune: %+v", r)
	}
	if got := tree(t, filepath.Join(c.dir, "out")); got["w.txt"] != "v" {
		t.Errorf("after a prune: files %v", got)
	}
}

// A server of another wrun build is never used: the client runs in
// process; once the server's own executable is replaced (an upgrade), the
// server stops.
func TestWarmServerOtherBuild(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "wrun-other")
	b, err := os.ReadFile(wrunBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(b, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	startServer(t, c, other)
	r, served := c.traced("run", guest(t, "c/hello"))
	if served || r.code != 0 || r.stdout != "hello, world, from C on wasm32-wasi\n" {
		t.Errorf("with a server of another build: served %v, %+v", served, r)
	}
	if _, _, served := c.tracedBin(other, "run", guest(t, "c/hello")); !served {
		t.Errorf("the server's own build was not served by it")
	}
	if r := c.run("server", "status"); r.code != 0 || !strings.Contains(r.stdout, "used by this wrun: no") {
		t.Errorf("wrun server status: %+v", r)
	}

	// Upgrade the server's executable as an installer does (a new file
	// renamed over it): the next client of another build makes it stop.
	if err := os.WriteFile(other+".new", append(b, 0, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other+".new", other); err != nil {
		t.Fatal(err)
	}
	c.run("run", guest(t, "c/hello"))
	sock := warm.SocketPath(warm.Dir(c.home))
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
			break
		}
		if i == 500 {
			t.Fatalf("the server of a replaced executable still listens on %s", sock)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The socket's directory is the user's alone, and a client of another
// protocol version, of no build, or with a malformed hello is refused.
func TestWarmServerHandshake(t *testing.T) {
	c := newCLI(t)
	startServer(t, c, wrunBin)
	dir := warm.Dir(c.home)
	for p, want := range map[string]os.FileMode{dir: 0o700 | fs.ModeDir, warm.SocketPath(dir): 0o600 | fs.ModeSocket} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	hello := func(frame []byte) string {
		t.Helper()
		conn, err := net.Dial("unix", warm.SocketPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		msg := append([]byte{0, 0, 0, byte(len(frame))}, frame...)
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		var reply bytes.Buffer
		buf := make([]byte, 512)
		for {
			n, err := conn.Read(buf)
			reply.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return reply.String()
	}
	if got := hello([]byte(`{"proto":99,"build":"x","op":"run"}`)); !strings.Contains(got, `"reason":"protocol"`) {
		t.Errorf("protocol 99: reply %q", got)
	}
	// Status and stop are answered whatever the version.
	if got := hello([]byte(`{"proto":99,"build":"x","op":"status"}`)); !strings.Contains(got, `"ok":true`) {
		t.Errorf("status from protocol 99: reply %q", got)
	}
	if got := hello(fmt.Appendf(nil, `{"proto":%d,"build":"not this build","op":"run"}`, warm.Proto)); !strings.Contains(got, `"reason":"build"`) {
		t.Errorf("another build: reply %q", got)
	}
	if got := hello([]byte(`{"proto":`)); !strings.Contains(got, `"reason":"protocol"`) {
		t.Errorf("malformed hello: reply %q", got)
	}
	// A client under a tighter ulimit than the server's runs in process,
	// where the limit holds.
	sh := exec.Command("sh", "-c", `ulimit -S -n 64 && exec "$0" run "$1"`, wrunBin, guest(t, "c/hello"))
	sh.Env = []string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "WRUN_TRACE=1"}
	out, err := sh.CombinedOutput()
	if err != nil || strings.Contains(string(out), servedMark) || !strings.Contains(string(out), "nofile limit") {
		t.Errorf("under ulimit -n 64: %v\n%s", err, out)
	}
	// The server still serves after them.
	if _, served := c.traced("run", guest(t, "c/hello")); !served {
		t.Errorf("not served after the refused handshakes")
	}
}

// Ctrl-C reaches the guest through the server: exit 130 with the
// in-process message, and the server starts afresh (the guest, compiled
// without termination checks, could not be stopped in it).
func TestWarmServerInterrupt(t *testing.T) {
	c := newCLI(t)
	startServer(t, c, wrunBin)
	// About 2 s of guest work: the server is stuck in it once interrupted
	// (no termination checks) until it ends by itself.
	cmd := exec.Command(wrunBin, "run", guest(t, "c/spin"), "--", "3000")
	cmd.Env = []string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "WRUN_TRACE=1"}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The server has taken the run once its status counts it: the client's
	// own trace line comes before it even connects.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.run("server", "status").stdout, "runs served: 1\n") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// While the server runs it, another run is not kept waiting: it runs
	// in process.
	r, trace, served := c.tracedBin(wrunBin, "run", guest(t, "c/hello"))
	if served || !strings.Contains(trace, "busy") || r.code != 0 || r.stdout != "hello, world, from C on wasm32-wasi\n" {
		t.Errorf("beside a warm run: served %v, %+v\n%s", served, r, trace)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Fatalf("interrupted warm run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("interrupted warm run: stderr %q", stderr.String())
	}
	served = false
	for range 500 {
		if _, served = c.traced("run", guest(t, "c/hello")); served {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !served {
		t.Errorf("the server did not come back after an interrupted run")
	}
}

// The server keeps what a run loaded: the next run of the same package or
// .wasm uses the Runtime, and the program, it kept. (This needs run.go to
// make its Runtime with openRuntime and compile a .wasm with
// compileProgram.)
func TestWarmServerKeepsRuntime(t *testing.T) {
	c := newCLI(t)
	startServer(t, c, wrunBin)
	for i, want := range []bool{false, true} {
		r, trace, served := c.tracedBin(wrunBin, "run", guest(t, "c/hello"))
		if !served || r.stdout != "hello, world, from C on wasm32-wasi\n" {
			t.Fatalf("run %d: served %v, %+v", i+1, served, r)
		}
		if kept := strings.Contains(trace, keptMark); kept != want {
			t.Errorf("run %d: runtime kept %v, want %v; trace:\n%s", i+1, kept, want, trace)
		}
		if want && !strings.Contains(trace, "program kept by the warm server") {
			t.Errorf("run %d: the program was not kept; trace:\n%s", i+1, trace)
		}
	}
}

// oldServerEnv makes the test binary a stand-in for a warm server of an
// older protocol: it refuses every hello, status and stop included, and
// exits on SIGTERM.
const oldServerEnv = "WRUN_TEST_OLD_SERVER"

func oldServer(sock string) {
	l, err := net.Listen("unix", sock)
	if err != nil {
		panic(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		l.Close() // removes the socket
		os.Exit(0)
	}()
	reply := []byte(`{"ok":false,"reason":"protocol","detail":"server speaks version 0"}`)
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		c.Write(append([]byte{0, 0, 0, byte(len(reply))}, reply...))
		c.Close()
	}
}

// A server that talks to no client of this version (an older wrun's) is
// still the user's to stop: status says so and names it, stop ends it
// with SIGTERM. Stop said "not running" and left it serving.
func TestWarmServerStopOtherVersion(t *testing.T) {
	c := newCLI(t)
	dir := warm.Dir(c.home)
	if err := warm.PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	old := exec.Command(self)
	old.Env = append(os.Environ(), oldServerEnv+"="+warm.SocketPath(dir))
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- old.Wait() }()
	defer old.Process.Kill()
	for range 500 {
		if _, err := os.Stat(warm.SocketPath(dir)); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid := fmt.Sprintf("pid %d", old.Process.Pid)
	if r := c.run("server", "status"); r.code == 0 || !strings.Contains(r.stderr, pid) || !strings.Contains(r.stderr, "refused") {
		t.Errorf("status of a server of another version: %+v", r)
	}
	if r, served := c.traced("run", guest(t, "c/hello")); served || r.code != 0 || r.stdout != "hello, world, from C on wasm32-wasi\n" {
		t.Errorf("run beside a server of another version: served %v, %+v", served, r)
	}
	if r := c.run("server", "stop"); r.code != 0 || !strings.Contains(r.stdout, "stopped ("+pid) {
		t.Errorf("stop of a server of another version: %+v", r)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the old server ended with %v, not on SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the old server still runs after wrun server stop")
	}
}

// warmstart's init, which hands a command to the warm server, runs before
// the packages a served command never needs initialize: the registry
// stack's regexps and wazero. Go orders inits by import path among the
// packages whose imports are done, so an import added to internal/warm or
// internal/warmstart (net, runtime/debug: each initializes after these)
// silently moves the hand-over behind them; this catches it.
func TestWarmStartBeforeRegistryInit(t *testing.T) {
	cmd := exec.Command(wrunBin, "--help")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wrun --help: %v\n%s", err, out)
	}
	order := map[string]int{}
	for i, line := range strings.Split(string(out), "\n") {
		// "init PKG @0.1 ms, ..." for each package with init work.
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			if _, seen := order[f[1]]; !seen {
				order[f[1]] = i
			}
		}
	}
	at, ok := order["github.com/wrun-dev/wrun/internal/warmstart"]
	if !ok {
		t.Fatalf("no init of internal/warmstart in the trace:\n%s", out)
	}
	for _, later := range []string{
		"github.com/Masterminds/semver/v3",
		"github.com/opencontainers/go-digest",
		"oras.land/oras-go/v2/registry",
		"github.com/tetratelabs/wazero/internal/engine/wazevo",
		"net/http",
	} {
		if i, ok := order[later]; !ok {
			t.Errorf("no init of %s in the trace (renamed?)", later)
		} else if i < at {
			t.Errorf("%s initializes before internal/warmstart: the warm server's hand-over waits for it", later)
		}
	}
}
