package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// The python:cpython-preinit variant (runtimes/python/preinit) is checked
// against the plain python:cpython runtime: same program, same output and
// exit code; and its first run pre-initializes once into the snapshot cache.

// pythonPreinitRuntime returns the variant's package directory, the one
// `runtimes/python/build.sh --print-preinit-dir` names.
func pythonPreinitRuntime(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(testenv.Root(), "runtimes", "python", "build.sh"), "--print-preinit-dir")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("runtimes/python/build.sh --print-preinit-dir: %v: run make python-build", err)
	}
	dir := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(dir, "wrun.toml")); err != nil {
		t.Fatalf("python:cpython-preinit package %s: %v: run make python-build", dir, err)
	}
	return dir
}

// snapshotEntries lists the preinit cache: name and modification time.
func snapshotEntries(t *testing.T, home string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(home, "cache", "preinit"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = info.ModTime().String()
	}
	return got
}

func TestPythonPreinitMatchesPlainRuntime(t *testing.T) {
	plain, pre := pythonRuntime(t), pythonPreinitRuntime(t)
	c := newCLI(t)
	for _, dir := range []string{plain, pre} {
		if r := c.run("publish", dir); r.code != 0 {
			t.Fatalf("wrun publish %s: %s", dir, r.stderr)
		}
	}
	if n := len(snapshotEntries(t, c.home)); n != 0 {
		t.Fatalf("%d preinit cache entries before any run", n)
	}

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"print", []string{"-c", "print('hi')"}, 0},
		{"nine imports", []string{"-c", "import json, re, dataclasses, pathlib, zlib, decimal, datetime, collections, typing; " +
			"print(json.dumps({'d': str(decimal.Decimal('1.10') * 3)}), re.sub('a+', '-', 'baaad'), zlib.crc32(b'wrun'), " +
			"datetime.date(2026, 1, 2).isoformat(), collections.Counter('abca').most_common(1), pathlib.PurePosixPath('/a/b.py').suffix)"}, 0},
		{"argv", []string{"-c", "import sys; print(sys.argv)", "a", "b c", "--flag", ""}, 0},
		{"environment and path", []string{"-c", "import os, sys; print(sorted(os.environ.items()), sys.path, sys.stdout.line_buffering)"}, 0},
		{"exit code", []string{"-c", "import sys; print('bye'); sys.exit(3)"}, 3},
		{"exit message", []string{"-c", "import sys; sys.exit('fatal: no input')"}, 1},
		{"uncaught exception", []string{"-c", "def f():\n    raise ValueError('bad input')\nprint('about to fail')\nf()"}, 1},
		{"runpy", []string{"-m", "json.tool", "--compact", "/usr/local/lib/python3.11/json/__init__.py"}, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := c.run(append([]string{"python:cpython@3.11.2", "--"}, tc.args...)...)
			got := c.run(append([]string{"python:cpython-preinit@3.11.2", "--"}, tc.args...)...)
			if want.code != tc.code {
				t.Fatalf("plain runtime: exit %d, want %d (stderr %q)", want.code, tc.code, want.stderr)
			}
			got.want(t, want.code, want.stdout, want.stderr)
			if i == 0 {
				if n := len(snapshotEntries(t, c.home)); n != 1 {
					t.Errorf("%d preinit cache entries after the first run, want 1", n)
				}
			}
		})
	}

	// Every run after the first used the one cached snapshot.
	before := snapshotEntries(t, c.home)
	if len(before) != 1 {
		t.Fatalf("preinit cache %v, want one entry", before)
	}
	c.run("python:cpython-preinit@3.11.2", "--", "-c", "print('again')").want(t, 0, "again\n", "")
	after := snapshotEntries(t, c.home)
	if len(after) != 1 || after[firstKey(before)] != before[firstKey(before)] {
		t.Errorf("preinit cache changed on a second run: before %v, after %v", before, after)
	}
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// preinitApp copies testdata/python/NAME with its runtime line changed to
// the variant: the one-line opt-in.
func preinitApp(t *testing.T, name string) string {
	t.Helper()
	app := pyApp(t, name)
	manifest := filepath.Join(app, "wrun.toml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	opted := strings.Replace(string(b), `runtime = "python:cpython@^3.11"`, `runtime = "python:cpython-preinit@^3.11"`, 1)
	if opted == string(b) {
		t.Fatalf("%s has no runtime = \"python:cpython@^3.11\" line to change", manifest)
	}
	pyWriteFile(t, manifest, opted)
	return app
}

// An app opts in with one line: runtime = "python:cpython-preinit@^3.11".
func TestPythonPreinitApp(t *testing.T) {
	pre := pythonPreinitRuntime(t)
	c := newCLI(t)
	if r := c.run("publish", pre); r.code != 0 {
		t.Fatalf("wrun publish %s: %s", pre, r.stderr)
	}
	app := preinitApp(t, "modes")

	c.run("run", app, "--", "argv", "a", "b c", "--flag", "").
		want(t, 0, "['/app/main.py', 'argv', 'a', 'b c', '--flag', '']\n", "")
	c.run("run", app, "--", "exit", "3").want(t, 3, "exiting with 3\n", "")
	c.run("run", app, "--", "nope").want(t, 2, "", "unknown mode nope\n")
	r := c.run("run", app, "--", "raise", "x")
	r.wantTraceback(t, "about to fail\n", "ValueError: bad input: x")
	if !strings.Contains(r.stderr, "  File \"/app/main.py\", line 6, in fail\n") {
		t.Errorf("traceback does not name the failing frame:\n%s", r.stderr)
	}
	if n := len(snapshotEntries(t, c.home)); n != 1 {
		t.Errorf("%d preinit cache entries after four runs, want 1", n)
	}
}

// A library mounted in site-packages, which the snapshot saw empty, is found.
func TestPythonPreinitLibraryDependency(t *testing.T) {
	pre := pythonPreinitRuntime(t)
	c := newCLI(t)
	for _, dir := range []string{pre, pyApp(t, "pylib")} {
		if r := c.run("publish", dir); r.code != 0 {
			t.Fatalf("wrun publish %s: %s", dir, r.stderr)
		}
	}
	app := preinitApp(t, "uselib")
	c.run("run", app, "--", "rect", "2", "3").want(t, 0, useLibOut, "")
	c.run("run", app, "--", "hexagon", "2").wantTraceback(t, "pylib 1.4.0 /usr/local/lib/python3.11/site-packages/pylib/__init__.py\n",
		"ValueError: unknown shape 'hexagon'")
}
