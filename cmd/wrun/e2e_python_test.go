package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// The Python tests run real CPython (python:cpython@3.11.x, built by
// `make python-build`) through the wrun binary, on the apps in
// testdata/python. They share one WRUN_HOME with the runtime published in
// it, so CPython's 7 MB module is compiled once rather than once per test;
// every app a test publishes has its own name.

// pythonRuntime returns the directory of the CPython runtime package:
// $WRUN_PYTHON_RUNTIME, else the path `make python-build` wrote to
// .build/python-runtime.path.
func pythonRuntime(t *testing.T) string { return testenv.PythonRuntime(t) }

// pyShared is the WRUN_HOME the Python tests share. It lives beside the
// test binary's wrun, so TestMain removes it at the end.
var pyShared struct {
	once sync.Once
	home string
	err  string
}

// pythonCLI returns a cli whose WRUN_HOME has the CPython runtime published.
func pythonCLI(t *testing.T) *cli {
	t.Helper()
	runtimeDir := pythonRuntime(t)
	pyShared.once.Do(func() {
		home, err := os.MkdirTemp(filepath.Dir(wrunBin), "python-home")
		if err != nil {
			pyShared.err = err.Error()
			return
		}
		c := &cli{t: t, home: home}
		if r := c.run("publish", runtimeDir); r.code != 0 {
			pyShared.err = "wrun publish " + runtimeDir + ": " + r.stderr
			return
		}
		pyShared.home = home
	})
	if pyShared.err != "" {
		t.Fatal(pyShared.err)
	}
	return &cli{t: t, home: pyShared.home}
}

// pyApp copies testdata/python/NAME to a fresh directory (so that wrun.lock
// and any stray write land outside the repository) and returns it.
func pyApp(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(testenv.Root(), "testdata", "python", name)
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// pyTree lists every file under dir with its content, for comparing a
// directory before and after a run.
func pyTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// pyUnchanged checks that dir holds exactly the files of before.
func pyUnchanged(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := pyTree(t, dir)
	for name, content := range after {
		if c, ok := before[name]; !ok {
			t.Errorf("%s appeared in %s on the host", name, dir)
		} else if c != content {
			t.Errorf("%s changed on the host: %q", name, content)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			t.Errorf("%s vanished from %s on the host", name, dir)
		}
	}
}

func pyWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// want checks a whole run: exit code, stdout, and stderr exactly.
func (r result) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Errorf("got exit %d, stdout\n%s\nstderr\n%s\nwant exit %d, stdout\n%s\nstderr\n%s",
			r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

// wantTraceback checks a run that died of an uncaught Python exception:
// exit 1, Python's traceback on stderr ending in last, no wrun message.
func (r result) wantTraceback(t *testing.T, stdout, last string) {
	t.Helper()
	if r.code != 1 || r.stdout != stdout {
		t.Errorf("got exit %d, stdout %q; want exit 1, stdout %q", r.code, r.stdout, stdout)
	}
	if !strings.HasPrefix(r.stderr, "Traceback (most recent call last):\n") || !strings.HasSuffix(r.stderr, "\n"+last+"\n") {
		t.Errorf("stderr is not a Python traceback ending in %q:\n%s", last, r.stderr)
	}
	if strings.Contains(r.stderr, "wrun:") {
		t.Errorf("stderr has a wrun message besides Python's traceback:\n%s", r.stderr)
	}
}

func TestPythonStdlib(t *testing.T) {
	c := pythonCLI(t)
	c.run("run", pyApp(t, "stdlib")).want(t, 0, `json {"a": "\u00e9", "b": [1, 2.5, null]}
re ada example.org a#b#c#
dataclasses [Point(x=1, y=0), Point(x=1, y=5), Point(x=2, y=1)] {'x': 1, 'y': 0}
pathlib report.tar.gz ['.tar', '.gz'] /app/data True
zlib 5000 True True 0x43b66aee
decimal 0.142857142857142857142857142857 0.3
datetime 2024-02-29T00:30:00+00:00 Thursday 060 366 days, 0:00:00
`, "")
}

// filesOut is what testdata/python/files prints on a fresh run.
const filesOut = `v1 3 rows, mean 81.67, best ada
fresh True
scratch written by the app
pycache ['__init__.cpython-311.pyc', 'stats.cpython-311.pyc']
`

func TestPythonAssetDataAndHostMount(t *testing.T) {
	c := pythonCLI(t)
	app := pyApp(t, "files")
	host := t.TempDir()

	c.run("run", "--mount", host+":/data", app, "--", "out.txt").want(t, 0, filesOut, "")
	got, err := os.ReadFile(filepath.Join(host, "out.txt"))
	if err != nil || string(got) != "3 rows, mean 81.67, best ada\n" {
		t.Errorf("host file out.txt: %q, %v", got, err)
	}

	// Without the grant the required [[mounts]] stops the run.
	c.run("run", app).wantError(t, "wrunpy:files requires a host directory at /data", "add --mount HOST_DIR:/data")
}

func TestPythonArgvAndExitCodes(t *testing.T) {
	c := pythonCLI(t)
	app := pyApp(t, "modes")
	c.run("run", app, "--", "argv", "a", "b c", "--flag", "").
		want(t, 0, "['/app/main.py', 'argv', 'a', 'b c', '--flag', '']\n", "")
	c.run("run", app, "--", "exit", "3").want(t, 3, "exiting with 3\n", "")
	c.run("run", app, "--", "exit", "0").want(t, 0, "exiting with 0\n", "")
	c.run("run", app, "--", "nope").want(t, 2, "", "unknown mode nope\n")
}

func TestPythonUncaughtException(t *testing.T) {
	c := pythonCLI(t)
	r := c.run("run", pyApp(t, "modes"), "--", "raise", "x")
	r.wantTraceback(t, "about to fail\n", "ValueError: bad input: x")
	if !strings.Contains(r.stderr, "  File \"/app/main.py\", line 6, in fail\n") {
		t.Errorf("traceback does not name the failing frame:\n%s", r.stderr)
	}
}

func TestPythonKnownLimits(t *testing.T) {
	c := pythonCLI(t)
	app := pyApp(t, "modes")
	c.run("run", app, "--", "thread").wantTraceback(t, "", "RuntimeError: can't start new thread")
	c.run("run", app, "--", "subprocess").wantTraceback(t, "", "OSError: [Errno 58] wasi does not support processes.")
}

// unittestTime is the only variable part of unittest's report.
var unittestTime = regexp.MustCompile(`(?m)^(Ran \d+ tests?) in \d+\.\d+s$`)

func TestPythonTest(t *testing.T) {
	const failing = `import unittest


class Broken(unittest.TestCase):
    def test_broken(self):
        self.assertEqual(1 + 1, 3)
`
	const line = "----------------------------------------------------------------------\n"
	for _, tc := range []struct {
		app, failFile string
		pass, fail    string
	}{
		{
			// No [test] table: python -m unittest discover -s /app.
			app: "unittest", failFile: "test_broken.py",
			pass: "..\n" + line + "Ran 2 tests in T\n\nOK\n",
			fail: "F..\n" +
				"======================================================================\n" +
				"FAIL: test_broken (test_broken.Broken.test_broken)\n" + line +
				"Traceback (most recent call last):\n" +
				"  File \"/app/test_broken.py\", line 6, in test_broken\n" +
				"    self.assertEqual(1 + 1, 3)\n" +
				"AssertionError: 2 != 3\n\n" + line +
				"Ran 3 tests in T\n\nFAILED (failures=1)\n",
		},
		{
			// [test] args (a pattern, verbose) and env.
			app: "tabletest", failFile: "check_broken.py",
			pass: "test_add (check_calc.CalcTest.test_add) ... ok\n" +
				"test_env (check_calc.CalcTest.test_env) ... ok\n\n" + line +
				"Ran 2 tests in T\n\nOK\n",
			fail: "test_broken (check_broken.Broken.test_broken) ... FAIL\n" +
				"test_add (check_calc.CalcTest.test_add) ... ok\n" +
				"test_env (check_calc.CalcTest.test_env) ... ok\n\n" +
				"======================================================================\n" +
				"FAIL: test_broken (check_broken.Broken.test_broken)\n" + line +
				"Traceback (most recent call last):\n" +
				"  File \"/app/check_broken.py\", line 6, in test_broken\n" +
				"    self.assertEqual(1 + 1, 3)\n" +
				"AssertionError: 2 != 3\n\n" + line +
				"Ran 3 tests in T\n\nFAILED (failures=1)\n",
		},
	} {
		t.Run(tc.app, func(t *testing.T) {
			c := pythonCLI(t)
			app := pyApp(t, tc.app)
			before := pyTree(t, filepath.Join(app, "app"))

			r := c.run("test", app)
			r.stderr = unittestTime.ReplaceAllString(r.stderr, "$1 in T")
			r.want(t, 0, "", tc.pass)
			pyUnchanged(t, filepath.Join(app, "app"), before)

			pyWriteFile(t, filepath.Join(app, "app", tc.failFile), failing)
			before[tc.failFile] = failing
			r = c.run("test", app)
			r.stderr = unittestTime.ReplaceAllString(r.stderr, "$1 in T")
			r.want(t, 1, "", tc.fail)
			pyUnchanged(t, filepath.Join(app, "app"), before)

			// The app itself still runs with its [run] args.
			c.run("run", app, "--", "2", "40").want(t, 0, "42\n", "")
		})
	}
}

func TestPythonLocalDev(t *testing.T) {
	c := pythonCLI(t)
	app := pyApp(t, "files")
	before := pyTree(t, filepath.Join(app, "app"))
	host := t.TempDir()

	c.run("run", "--mount", host+":/data", app).want(t, 0, filesOut, "")

	// An edit of an imported module (same size, so only a fresh import or a
	// correct .pyc check sees it) shows on the next run, and the scratch
	// file and __pycache__ of the first run are gone: each run gets a fresh
	// overlay over the app directory.
	stats := filepath.Join(app, "app", "pkg", "stats.py")
	src, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), `"v1"`, `"v2"`, 1)
	pyWriteFile(t, stats, edited)
	before["pkg/stats.py"] = edited
	c.run("run", "--mount", host+":/data", app).want(t, 0, strings.Replace(filesOut, "v1", "v2", 1), "")

	pyUnchanged(t, filepath.Join(app, "app"), before)
	if _, err := os.Stat(filepath.Join(app, "app", "pkg", "__pycache__")); !os.IsNotExist(err) {
		t.Errorf("__pycache__ was written to the app directory (stat: %v)", err)
	}
}

// useLibOut is what testdata/python/uselib prints for "rect 2 3".
const useLibOut = `pylib 1.4.0 /usr/local/lib/python3.11/site-packages/pylib/__init__.py
area 6
json {"site-packages": true, "json": true}
site-packages ['README.txt', 'pylib']
`

func TestPythonLibraryDependency(t *testing.T) {
	app := pyApp(t, "uselib")

	// Not published yet: the resolution names the missing package.
	fresh := newCLI(t)
	if r := fresh.run("publish", pythonRuntime(t)); r.code != 0 {
		t.Fatalf("publish the runtime: %s", r.stderr)
	}
	fresh.run("run", app, "--", "rect", "2", "3").wantError(t, "wrunpy:pylib", "publish it")

	c := pythonCLI(t)
	if r := c.run("publish", pyApp(t, "pylib")); r.code != 0 {
		t.Fatalf("publish pylib: %s", r.stderr)
	}
	c.run("run", app, "--", "rect", "2", "3").want(t, 0, useLibOut, "")
	c.run("run", app, "--", "hexagon", "2").wantTraceback(t, "pylib 1.4.0 /usr/local/lib/python3.11/site-packages/pylib/__init__.py\n",
		"ValueError: unknown shape 'hexagon'")
}

func TestPythonPublishedApp(t *testing.T) {
	c := pythonCLI(t)
	for _, dir := range []string{pyApp(t, "pylib"), pyApp(t, "uselib")} {
		if r := c.run("publish", dir); r.code != 0 {
			t.Fatalf("publish %s: %s", dir, r.stderr)
		}
	}
	c.run("wrunpy:uselib@1.0.0", "--", "rect", "2", "3").want(t, 0, useLibOut, "")
	c.run("run", "wrunpy:uselib@^1", "--", "circle", "1").want(t, 0, strings.Replace(useLibOut, "area 6", "area 3.142", 1), "")

	// The example the demo runs: examples/hello-py with examples/greetlib.
	examples := t.TempDir()
	if err := os.CopyFS(examples, os.DirFS(filepath.Join(testenv.Root(), "examples"))); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"greetlib", "hello-py"} {
		if r := c.run("publish", filepath.Join(examples, name)); r.code != 0 {
			t.Fatalf("publish %s: %s", name, r.stderr)
		}
	}
	c.run("example:hello-py@1.0.0", "--", "Ada").want(t, 0, "hello, Ada, from Python on wasm32-wasi\n", "")
	if r := c.run("test", "example:hello-py@1.0.0"); r.code != 0 || !strings.HasSuffix(r.stderr, "\nOK\n") {
		t.Errorf("wrun test example:hello-py@1.0.0: exit %d, stderr\n%s", r.code, r.stderr)
	}
}
