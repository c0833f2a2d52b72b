package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/pywheel/wheeltest"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// The Python project tests run examples/pytest-app (an app with src/ and a
// pytest tests/ directory, depending on attrs, more-itertools, six and
// pytest) and small apps of their own on the shared Python WRUN_HOME
// (pythonCLI), with the libraries imported from wheels of the
// distributions Debian installed (internal/pywheel/wheeltest) by `wrun
// python import --publish`.

// pyLibs are the Debian packages whose distributions examples/pytest-app
// needs: its three libraries, pytest and pytest's dependencies.
var pyLibs = []string{
	"python3-attr", "python3-more-itertools", "python3-six",
	"python3-pytest", "python3-pluggy", "python3-iniconfig", "python3-packaging",
}

var pyLibsOnce struct {
	sync.Once
	err string
}

// publishPyLibs imports pyLibs into the shared Python home, once.
func publishPyLibs(t *testing.T, c *cli) {
	t.Helper()
	pyLibsOnce.Do(func() {
		var args []string
		dir := t.TempDir()
		for _, p := range pyLibs {
			w := wheeltest.Debian(t, p)
			// Debian's local labels (pluggy 1.0.0+repack) have no semver
			// order: the upstream release is what a developer would have.
			w.Version, _, _ = strings.Cut(w.Version, "+")
			args = append(args, wheeltest.Write(t, dir, w))
		}
		out := filepath.Join(t.TempDir(), "libs")
		r := c.run(append([]string{"python", "import", "-o", out, "--publish"}, args...)...)
		if r.code != 0 {
			pyLibsOnce.err = fmt.Sprintf("wrun python import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	if pyLibsOnce.err != "" {
		t.Fatal(pyLibsOnce.err)
	}
}

// pytestApp copies examples/pytest-app to a fresh directory.
func pytestApp(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "pytest-app")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(testenv.Root(), "examples", "pytest-app"))); err != nil {
		t.Fatal(err)
	}
	return dst
}

var pytestPassed = regexp.MustCompile(`(?m)^=+ (\d+) passed in [0-9.]+s =+$`)

// wrun test runs the example's pytest suite with no extra flag: pytest,
// because the app depends on it, in /app, with the libraries' dist-info
// in the one site-packages; wrun run runs its module with PYTHONPATH
// extended by ${PYTHONPATH}. The app directory is never written to.
func TestPytestApp(t *testing.T) {
	c := pythonCLI(t)
	publishPyLibs(t, c)
	app := pytestApp(t)
	before := pyTree(t, app)

	for _, run := range []string{"first", "second"} {
		start := time.Now()
		r := c.run("test", app)
		if m := pytestPassed.FindStringSubmatch(r.stdout); r.code != 0 || m == nil || m[1] != "7" {
			t.Fatalf("wrun test: exit %d, want 7 tests passed\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		t.Logf("wrun test, %s run: %v", run, time.Since(start).Round(time.Millisecond))
	}
	// pytest's rewritten test module is in the bytecode cache, not in app/.
	findPyc(t, c.home, "app/tests/test_inventory.cpython-311-pytest-7.2.1.pyc")
	// The user's arguments follow pytest's.
	r := c.run("test", app, "--", "-q", "-k", "metadata")
	if r.code != 0 || !strings.Contains(r.stdout, "4 passed, 3 deselected") {
		t.Errorf("wrun test -- -q -k metadata: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c.run("run", app, "--", "pen=1", "book=5", "lamp=3").want(t, 0, "crate 1: book, lamp\ncrate 2: pen\n", "")
	lock := filepath.Join(app, "wrun.lock")
	if _, err := os.Stat(lock); err == nil {
		before["wrun.lock"] = pyTree(t, app)["wrun.lock"]
	}
	pyUnchanged(t, app, before)
}

// A library package at site-packages adds to the runtime's own
// site-packages; two providing the same file there fail the load, before
// anything runs, naming both packages and the file.
func TestPyprojectConflict(t *testing.T) {
	c := pythonCLI(t)
	site := "/usr/local/lib/python3.11/site-packages"
	for _, v := range []string{"1.0.0", "2.0.0"} {
		name := "wrunpy:clash" + v[:1]
		dir := t.TempDir()
		pyWriteFile(t, filepath.Join(dir, "wrun.toml"), fmt.Sprintf("[package]\nname = %q\nversion = %q\nkind = \"assets\"\n[[assets]]\nfrom = \"site-packages\"\nto = \"/\"\n", name, v))
		if err := os.MkdirAll(filepath.Join(dir, "site-packages", "clash"), 0o755); err != nil {
			t.Fatal(err)
		}
		pyWriteFile(t, filepath.Join(dir, "site-packages", "clash", "__init__.py"), "WHO = "+fmt.Sprintf("%q", name)+"\n")
		pyWriteFile(t, filepath.Join(dir, "site-packages", "only"+v[:1]+".py"), "")
		if r := c.run("publish", dir); r.code != 0 {
			t.Fatalf("publish %s: %s", name, r.stderr)
		}
	}
	// app is an app of name whose main.py is main, depending on deps
	// ("NAME RANGE", each mounted at site).
	app := func(name, main string, deps ...string) string {
		dir := t.TempDir()
		m := fmt.Sprintf("[package]\nname = %q\nversion = \"1.0.0\"\n[run]\nruntime = \"python:cpython@^3.11\"\nargs = [\"/app/main.py\"]\n[[assets]]\nfrom = \"app\"\nto = \"/app\"\n[dependencies]\n", name)
		for _, d := range deps {
			name, rng, _ := strings.Cut(d, " ")
			m += fmt.Sprintf("%q = { version = %q, to = %q }\n", name, rng, site)
		}
		pyWriteFile(t, filepath.Join(dir, "wrun.toml"), m)
		if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
			t.Fatal(err)
		}
		pyWriteFile(t, filepath.Join(dir, "app", "main.py"), main)
		return dir
	}
	// One library at site-packages stacks over the runtime's own
	// site-packages (README.txt), which stays visible.
	one := app("wrunpy:oneapp", "import os, clash\nprint(clash.WHO, sorted(os.listdir('"+site+"')))\n", "wrunpy:clash1 ^1")
	c.run("run", one).want(t, 0, "wrunpy:clash1 ['README.txt', 'clash', 'only1.py']\n", "")

	both := app("wrunpy:clashapp", "print('ran')\n", "wrunpy:clash1 ^1", "wrunpy:clash2 ^2")
	c.run("run", both).wantError(t, "wrunpy:clash1@1.0.0 and wrunpy:clash2@2.0.0 both provide "+site+"/clash/__init__.py")
}

// An app run from a directory keeps its bytecode between runs in wrun's
// cache (PYTHONPYCACHEPREFIX on a writable cache mount), never in the
// app's directory; a changed source is recompiled, even one edited within
// the same second at the same size (which CPython's timestamp check alone
// would miss).
func TestPycacheKept(t *testing.T) {
	c := pythonCLI(t)
	app := t.TempDir()
	pyWriteFile(t, filepath.Join(app, "wrun.toml"), `[package]
name = "wrunpy:pycache"
version = "1.0.0"
[run]
runtime = "python:cpython@^3.11"
args = ["/app/main.py"]
[[assets]]
from = "app"
to = "/app"
`)
	if err := os.MkdirAll(filepath.Join(app, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	pyWriteFile(t, filepath.Join(app, "app", "main.py"), `import sys, mod
print(mod.VALUE, sys.pycache_prefix, mod.__cached__)
`)
	mod := filepath.Join(app, "app", "mod.py")
	pyWriteFile(t, mod, "VALUE = 'v1'\n")
	before := pyTree(t, app)

	wantOut := func(v string) string {
		return v + " " + wrun.PycacheGuest + " " + wrun.PycacheGuest + "/app/mod.cpython-311.pyc\n"
	}
	c.run("run", app).want(t, 0, wantOut("v1"), "")
	pyc := findPyc(t, c.home, "app/mod.cpython-311.pyc")
	first, err := os.Stat(pyc)
	if err != nil {
		t.Fatal(err)
	}
	// The second run reads the .pyc the first wrote: it is not written
	// again.
	time.Sleep(10 * time.Millisecond)
	c.run("run", app).want(t, 0, wantOut("v1"), "")
	second, err := os.Stat(pyc)
	if err != nil || !second.ModTime().Equal(first.ModTime()) || !os.SameFile(first, second) {
		t.Errorf("the second run wrote the .pyc again (%v → %v, %v)", first.ModTime(), second.ModTime(), err)
	}

	// Same size, same mtime second: only the source's digest tells.
	fi, _ := os.Stat(mod)
	pyWriteFile(t, mod, "VALUE = 'v2'\n")
	os.Chtimes(mod, fi.ModTime(), fi.ModTime())
	before["app/mod.py"] = "VALUE = 'v2'\n"
	c.run("run", app).want(t, 0, wantOut("v2"), "")
	pyWriteFile(t, mod, "VALUE = 'v3 longer'\n")
	before["app/mod.py"] = "VALUE = 'v3 longer'\n"
	c.run("run", app).want(t, 0, wantOut("v3 longer"), "")

	if _, err := os.Stat(filepath.Join(app, registryLock)); err == nil {
		before[registryLock] = pyTree(t, app)[registryLock]
	}
	pyUnchanged(t, app, before)
}

const registryLock = "wrun.lock"

// findPyc returns the host path of the cached file rel (a guest path
// below the cache's root) under home's bytecode caches.
func findPyc(t *testing.T, home, rel string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(home, "cache", "pycache", "*", filepath.FromSlash(rel)))
	if len(matches) != 1 {
		t.Fatalf("%s in the bytecode cache: %v", rel, matches)
	}
	return matches[0]
}
