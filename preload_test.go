package wrun_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
)

// An app on python:cpython-preinit names its own module and a library in
// WRUN_PYTHON_PRELOAD ([run] env): the runtime's init imports them into the
// snapshot, with the app's env, cwd and files, and a run finds them
// imported. It must print exactly what the plain python:cpython prints.

// preloadModule is the app's module: it says on stderr that it runs, and
// records what it saw when imported.
const preloadModule = `import os, random, sys
print("counted: module executed", file=sys.stderr)
VERSION = %q
IMPORT_CWD = os.getcwd()
IMPORT_GREETING = os.environ.get("GREETING")
`

// preloadMain reports on stdout what must not differ between the runtimes,
// and on stderr whether counted was in sys.modules before the run imported
// it, and a random number (the init imported random: each run must still
// get its own sequence).
const preloadMain = `import sys
print("preloaded=%s" % ("counted" in sys.modules), file=sys.stderr)
import os, random, colorsys, counted
print("version", counted.VERSION)
print("file", counted.__file__, counted.__name__, colorsys.__file__)
print("import cwd", counted.IMPORT_CWD, "cwd", os.getcwd())
print("import greeting", counted.IMPORT_GREETING, "run greeting", os.environ.get("GREETING"))
print("path", sys.path)
print("bytecode", sys.dont_write_bytecode, sys.pycache_prefix)
print("random=%r" % random.random(), file=sys.stderr)
`

type preloadApp struct {
	dir string
}

func writePreloadApp(t *testing.T, runtime, env, version string) preloadApp {
	t.Helper()
	return preloadApp{writePkg(t, `[package]
name = "test:preloadapp"
version = "1.0.0"
kind = "component"
[run]
runtime = "`+runtime+`"
args = ["/app/main.py"]
cwd = "/app"
env = { `+env+` }
[[assets]]
from = "app"
to = "/app"
`, map[string][]byte{
		"app/main.py":    []byte(preloadMain),
		"app/counted.py": []byte(strings.Replace(preloadModule, "%q", `"`+version+`"`, 1)),
	})}
}

func (a preloadApp) setRuntime(t *testing.T, runtime string) {
	t.Helper()
	p := filepath.Join(a.dir, "wrun.toml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`runtime = "`))
	j := i + bytes.IndexByte(b[i+len(`runtime = "`):], '"') + len(`runtime = "`)
	b = append(append(append([]byte(nil), b[:i]...), `runtime = "`+runtime...), b[j:]...)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(a.dir, registryclient.LockName))
}

func (a preloadApp) setEnv(t *testing.T, env string) {
	t.Helper()
	p := filepath.Join(a.dir, "wrun.toml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("env = { "))
	j := i + bytes.IndexByte(b[i:], '\n')
	b = append(append(append([]byte(nil), b[:i]...), "env = { "+env+" }"...), b[j:]...)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func runBoth(t *testing.T, rt *wrun.Runtime, dir string) (stdout, stderr string) {
	t.Helper()
	ctx := context.Background()
	p, err := rt.Load(ctx, dir)
	if err != nil {
		t.Fatalf("loading the app: %v", err)
	}
	defer p.Close(ctx)
	var out, errOut bytes.Buffer
	if err := p.Run(ctx, wrun.NewRunConfig().WithStdout(&out).WithStderr(&errOut)); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func snapshotCount(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(home.At(dir).Snapshots())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".wasm") {
			n++
		}
	}
	return n
}

func preloadRuntime(t *testing.T) (*wrun.Runtime, string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	c, err := registryclient.New(registryclient.Options{Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	plain := testenv.PythonRuntime(t)
	publish(t, c, plain)
	publish(t, c, plain+"-preinit")
	rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	return rt, dir
}

func TestPythonPreloadMatchesPlainRuntime(t *testing.T) {
	rt, state := preloadRuntime(t)
	env := `PYTHONPATH = "/app", WRUN_PYTHON_PRELOAD = "counted, colorsys"`
	app := writePreloadApp(t, "python:cpython@^3.11", env, "1")

	plainOut, plainErr := runBoth(t, rt, app.dir)
	if !strings.Contains(plainErr, "counted: module executed") || !strings.Contains(plainErr, "preloaded=False") {
		t.Fatalf("plain runtime's stderr:\n%s", plainErr)
	}
	app.setRuntime(t, "python:cpython-preinit@^3.11")
	out, errOut := runBoth(t, rt, app.dir)
	if out != plainOut {
		t.Errorf("stdout differs from the plain runtime's:\n%s\nwant:\n%s", out, plainOut)
	}
	// The module ran once, in the init (whose output is not the run's).
	if strings.Contains(errOut, "counted: module executed") || !strings.Contains(errOut, "preloaded=True") {
		t.Errorf("pre-initialized runtime's stderr (want counted imported by the init, not by the run):\n%s", errOut)
	}
	if !strings.Contains(out, "import cwd /app cwd /app") || !strings.Contains(out, "bytecode False /var/cache/pycache") {
		t.Errorf("stdout:\n%s", out)
	}
	if n := snapshotCount(t, state); n != 1 {
		t.Fatalf("%d snapshots, want 1", n)
	}
	if files := filesUnder(app.dir); len(files) != 4 { // wrun.toml, wrun.lock, the two sources
		t.Errorf("the app's directory holds %v after the init and the runs", files)
	}
	// The same app again: the snapshot is reused; random is reseeded per run.
	_, errAgain := runBoth(t, rt, app.dir)
	if n := snapshotCount(t, state); n != 1 {
		t.Errorf("%d snapshots after a second load of the same app, want 1", n)
	}
	randomLine := func(s string) string { return s[strings.Index(s, "random="):] }
	if randomLine(errAgain) == randomLine(errOut) {
		t.Errorf("two runs drew the same random number: %s", randomLine(errOut))
	}

	// The app's env changes: a new snapshot, whose import saw the new env.
	app.setEnv(t, env+`, GREETING = "hej"`)
	out, _ = runBoth(t, rt, app.dir)
	if n := snapshotCount(t, state); n != 2 {
		t.Errorf("%d snapshots after the app's env changed, want 2", n)
	}
	if !strings.Contains(out, "import greeting hej run greeting hej") {
		t.Errorf("after an env change:\n%s", out)
	}

	// The app's source changes: a new snapshot, never the stale one.
	if err := os.WriteFile(filepath.Join(app.dir, "app", "counted.py"), []byte(strings.Replace(preloadModule, "%q", `"2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut = runBoth(t, rt, app.dir)
	if !strings.Contains(out, "version 2\n") || !strings.Contains(errOut, "preloaded=True") {
		t.Errorf("after editing counted.py:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if n := snapshotCount(t, state); n != 3 {
		t.Errorf("%d snapshots after the app's source changed, want 3", n)
	}
	app.setRuntime(t, "python:cpython@^3.11")
	if plainOut, _ = runBoth(t, rt, app.dir); out != plainOut {
		t.Errorf("after the edits, stdout differs from the plain runtime's:\n%s\nwant:\n%s", out, plainOut)
	}
}

// A preload naming a module that does not import fails the Load with an
// error naming it, and caches nothing.
func TestPythonPreloadMissingModule(t *testing.T) {
	rt, state := preloadRuntime(t)
	app := writePreloadApp(t, "python:cpython-preinit@^3.11", `PYTHONPATH = "/app", WRUN_PYTHON_PRELOAD = "counted,nosuchmod"`, "1")
	p, err := rt.Load(context.Background(), app.dir)
	if err == nil {
		p.Close(context.Background())
		t.Fatal("Load succeeded")
	}
	for _, want := range []string{"pre-initializing", "cannot import nosuchmod, named in WRUN_PYTHON_PRELOAD", "ModuleNotFoundError: No module named 'nosuchmod'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	if n := snapshotCount(t, state); n != 0 {
		t.Errorf("%d snapshots cached after a failed init", n)
	}
}

// TestPycacheForgetStaysInside: a Load that forgets the bytecode of a
// changed app source removes it inside the app's bytecode cache only, even
// when a guest (through a directory renamed with a link inside) left a
// link there that leads out of it.
func TestPycacheForgetStaysInside(t *testing.T) {
	ctx := context.Background()
	rt, home := preloadRuntime(t)
	app := writePkg(t, `[package]
name = "test:pycacheapp"
version = "1.0.0"
kind = "component"
[run]
runtime = "python:cpython"
args = ["/app/mod.py"]
[[assets]]
from = "app"
to = "/app"
`, map[string][]byte{"app/mod.py": []byte("VALUE = 1\n")})
	load := func() {
		t.Helper()
		p, err := rt.Load(ctx, app)
		if err != nil {
			t.Fatalf("loading the app: %v", err)
		}
		p.Close(ctx)
	}
	load()
	caches, _ := filepath.Glob(filepath.Join(home, "cache", "pycache", "*.sources"))
	if len(caches) != 1 {
		t.Fatalf("bytecode caches: %v", caches)
	}
	cache := strings.TrimSuffix(caches[0], ".sources")
	victim := t.TempDir()
	pyc := filepath.Join(victim, "mod.cpython-311.pyc")
	if err := os.WriteFile(pyc, []byte("not the cache's"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(cache, "app"))
	if err := os.Symlink(victim, filepath.Join(cache, "app")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "app", "mod.py"), []byte("VALUE = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	load()
	if _, err := os.Stat(pyc); err != nil {
		t.Errorf("the Load removed a file outside the bytecode cache: %v", err)
	}
}

// TestPycacheAppsBounded: every directory a Python app is loaded from gets
// its own bytecode cache; a Load keeps at most wrun.MaxPycacheApps of them,
// removing the least recently used.
func TestPycacheAppsBounded(t *testing.T) {
	ctx := context.Background()
	rt, home := preloadRuntime(t)
	base := filepath.Join(home, "cache", "pycache")
	old := time.Now().Add(-time.Hour)
	for i := range wrun.MaxPycacheApps + 3 {
		d := filepath.Join(base, fmt.Sprintf("%016x-0000000000000000", i))
		if err := os.MkdirAll(filepath.Join(d, "app"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(d+".sources", nil, 0o644)
		os.Chtimes(d, old.Add(time.Duration(i)*time.Second), old.Add(time.Duration(i)*time.Second))
	}
	app := writePkg(t, `[package]
name = "test:pycacheapp"
version = "1.0.0"
kind = "component"
[run]
runtime = "python:cpython"
args = ["/app/mod.py"]
[[assets]]
from = "app"
to = "/app"
`, map[string][]byte{"app/mod.py": []byte("VALUE = 1\n")})
	p, err := rt.Load(ctx, app)
	if err != nil {
		t.Fatalf("loading the app: %v", err)
	}
	p.Close(ctx)
	ents, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var dirs, records []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sources") {
			records = append(records, e.Name())
		} else {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != wrun.MaxPycacheApps || len(records) != wrun.MaxPycacheApps {
		t.Fatalf("%d caches and %d records kept, want %d: %v", len(dirs), len(records), wrun.MaxPycacheApps, dirs)
	}
	// The oldest went: the first kept is the fourth made.
	if !strings.HasPrefix(dirs[0], fmt.Sprintf("%016x-", 4)) {
		t.Errorf("kept %v: the least recently used should have gone", dirs)
	}
}
