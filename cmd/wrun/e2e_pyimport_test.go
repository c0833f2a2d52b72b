package main

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/pywheel"
	"github.com/wrun-dev/wrun/internal/pywheel/wheeltest"
)

// `wrun python import` end to end: real wheels (built by wheeltest, some
// from Debian's installed files), the real CPython runtime compiling their
// bytecode, the real local registry resolving a chain of them.

func pyimpDemo() wheeltest.Wheel {
	return wheeltest.Wheel{
		Name: "wrunpyimp_demo", Version: "2.1.post3",
		Files: map[string]string{
			"wrunpyimp_demo/__init__.py": "VALUE = 'from source'\n",
			"wrunpyimp_demo/sub/mod.py":  "X = frozenset({'a', 'b', 'c'})\n",
			"wrunpyimp_single.py":        "S = 1\n",
		},
		Requires:    []string{"six>=1.10", `colorama; sys_platform == "win32"`},
		EntryPoints: "[wrunpyimp.plugins]\ndemo = wrunpyimp_demo:VALUE\n",
	}
}

// A pure wheel becomes a package with the contract's layout, .pyc compiled
// by the runtime, and the same digest on every import.
func TestPythonImportPure(t *testing.T) {
	c := pythonCLI(t)
	runtime := pythonRuntime(t)
	whl := wheeltest.Write(t, t.TempDir(), pyimpDemo())
	var digests []string
	var dir string
	for i := range 2 {
		out := filepath.Join(t.TempDir(), "libs")
		r := c.run("python", "import", "--runtime", runtime, "-o", out, whl)
		if r.code != 0 {
			t.Fatalf("import: %s", r.stderr)
		}
		dir = filepath.Join(out, "pypi-wrunpyimp-demo-2.1.1-0.0.post.3")
		if !strings.Contains(r.stdout, "as pypi:wrunpyimp-demo@2.1.1-0.0.post.3 in "+dir) {
			t.Errorf("stdout %q", r.stdout)
		}
		if i == 0 && !strings.Contains(r.stderr, "warning: wrunpyimp_demo 2.1.post3 is published as the semver pre-release") {
			t.Errorf("no post-release warning: %q", r.stderr)
		}
		d := c.run("digest", dir)
		if d.code != 0 {
			t.Fatal(d.stderr)
		}
		digests = append(digests, d.stdout)
	}
	if digests[0] != digests[1] {
		t.Errorf("two imports of one wheel: digests %q and %q", digests[0], digests[1])
	}
	toml, _ := os.ReadFile(filepath.Join(dir, "wrun.toml"))
	for _, want := range []string{`name = "pypi:wrunpyimp-demo"`, `kind = "assets"`, `from = "site-packages"`, `"pypi:six" = { version = ">=1.10.0", to = "/usr/local/lib/python3.11/site-packages" }`} {
		if !strings.Contains(string(toml), want) {
			t.Errorf("wrun.toml does not say %s:\n%s", want, toml)
		}
	}
	if strings.Contains(string(toml), "colorama") {
		t.Errorf("a win32-only dependency is in wrun.toml:\n%s", toml)
	}
	site := filepath.Join(dir, "site-packages")
	for _, pyc := range []string{"wrunpyimp_demo/__pycache__/__init__.cpython-311.pyc", "wrunpyimp_demo/sub/__pycache__/mod.cpython-311.pyc", "__pycache__/wrunpyimp_single.cpython-311.pyc"} {
		b, err := os.ReadFile(filepath.Join(site, pyc))
		if err != nil {
			t.Fatal(err)
		}
		if flags := binary.LittleEndian.Uint32(b[4:8]); flags != 1 {
			t.Errorf("%s: flags %d, want 1 (unchecked hash)", pyc, flags)
		}
	}
	record, _ := os.ReadFile(filepath.Join(site, "wrunpyimp_demo-2.1.post3.dist-info", "RECORD"))
	if !strings.Contains(string(record), "wrunpyimp_demo/__pycache__/__init__.cpython-311.pyc,sha256=") {
		t.Errorf("RECORD does not list the bytecode:\n%s", record)
	}

	// The .pyc is what Python loads: unchecked-hash bytecode is used as is,
	// so a source changed after the import is not seen.
	run := t.TempDir()
	if err := os.CopyFS(run, os.DirFS(site)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(run, "wrunpyimp_demo", "__init__.py"), []byte("VALUE = 'source changed'\n"), 0o644)
	r := c.run("run", "--asset", run+":"+pywheel.SitePackages, runtime, "--", "-c", `
import importlib.metadata as md, wrunpyimp_demo, wrunpyimp_single
print(wrunpyimp_demo.VALUE, wrunpyimp_demo.__cached__)
print(md.version("wrunpyimp-demo"), [e.value for e in md.entry_points(group="wrunpyimp.plugins")])
`)
	if r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	want := "from source /usr/local/lib/python3.11/site-packages/wrunpyimp_demo/__pycache__/__init__.cpython-311.pyc\n2.1.post3 ['wrunpyimp_demo:VALUE']\n"
	if r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
}

// A wheel with a C extension (Debian's markupsafe, which ships its
// _speedups module) is refused naming the extension and the tags; nothing
// is written.
func TestPythonImportCExtension(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(t.TempDir(), "libs")
	whl := wheeltest.FromDebian(t, "python3-markupsafe")
	r := c.run("python", "import", "-o", out, wheeltest.FromDebian(t, "python3-six"), whl)
	r.wantError(t, filepath.Base(whl), "markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so", "cp311-cp311-linux_x86_64", "pure-Python wheel")
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("-o directory written: %v", err)
	}
}

// A wheel whose file does not match its RECORD is refused (PEP 427), in one
// line naming the wheel and the file; a directory already there is kept.
func TestPythonImportRecordMismatch(t *testing.T) {
	c := newCLI(t)
	w := pyimpDemo()
	entries := w.Entries()
	entries[0].Data = []byte("import os\n")
	whl := filepath.Join(t.TempDir(), w.FileName())
	wheeltest.WriteZip(t, whl, entries)
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "keep"), []byte("x"), 0o644)
	r := c.run("python", "import", "-o", out, whl)
	r.wantError(t, w.FileName(), "wrunpyimp_demo/__init__.py", "does not match its RECORD hash")
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("-o directory holds %d entries, want only the file that was there", len(entries))
	}
}

// Three wheels a → b → c, imported and published; an app depending on
// pypi:wrunpyimp-a runs with all three in one site-packages.
//
// Resolving needs several libraries mounted at the one site-packages
// directory (the union in package.go, issue 13).
func TestPythonImportChain(t *testing.T) {
	c := pythonCLI(t)
	runtime := pythonRuntime(t)
	wheels := t.TempDir()
	lib := func(name, version string, requires ...string) string {
		return wheeltest.Write(t, wheels, wheeltest.Wheel{
			Name: name, Version: version, Requires: requires,
			Files: map[string]string{strings.ReplaceAll(name, "-", "_") + ".py": "NAME = '" + name + "'\n"},
		})
	}
	a := lib("wrunpyimp-a", "1.2", "wrunpyimp-b>=2.0,<3", `wrunpyimp-x; python_version < "3"`)
	b := lib("wrunpyimp-b", "2.5.1", "wrunpyimp-c~=0.3")
	cc := lib("wrunpyimp-c", "0.3.7")
	out := filepath.Join(t.TempDir(), "libs")
	r := c.run("python", "import", "--runtime", runtime, "-o", out, "--publish", a, b, cc)
	if r.code != 0 {
		t.Fatalf("import --publish: %s", r.stderr)
	}
	for _, want := range []string{"published pypi:wrunpyimp-a@1.2.0", "published pypi:wrunpyimp-b@2.5.1", "published pypi:wrunpyimp-c@0.3.7"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout does not say %q: %s", want, r.stdout)
		}
	}
	app := filepath.Join(t.TempDir(), "app")
	os.MkdirAll(filepath.Join(app, "src"), 0o755)
	os.WriteFile(filepath.Join(app, "wrun.toml"), []byte(`[package]
name = "wrunpyimp:app"
version = "1.0.0"
kind = "component"
[run]
runtime = "python:cpython@^3.11"
args = ["/app/main.py"]
[[assets]]
from = "src"
to = "/app"
[dependencies]
"pypi:wrunpyimp-a" = { version = "^1.0", to = "/usr/local/lib/python3.11/site-packages" }
`), 0o644)
	os.WriteFile(filepath.Join(app, "src", "main.py"), []byte(`import importlib.metadata as md
import wrunpyimp_a, wrunpyimp_b, wrunpyimp_c
for m in (wrunpyimp_a, wrunpyimp_b, wrunpyimp_c):
    print(m.NAME, md.version(m.NAME), m.__cached__ is not None)
`), 0o644)
	r = c.run("run", app)
	if r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	if want := "wrunpyimp-a 1.2 True\nwrunpyimp-b 2.5.1 True\nwrunpyimp-c 0.3.7 True\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
}

// Real distributions (Debian's installed six, attrs and jinja2, turned back
// into wheels) import with byte-identical results twice over, and run from
// their bytecode with their metadata.
func TestPythonImportDebian(t *testing.T) {
	c := pythonCLI(t)
	runtime := pythonRuntime(t)
	wheels := []string{wheeltest.FromDebian(t, "python3-six"), wheeltest.FromDebian(t, "python3-attr"), wheeltest.FromDebian(t, "python3-jinja2")}
	dirs := []string{"pypi-six-1.16.0", "pypi-attrs-22.2.0", "pypi-jinja2-3.1.2"}
	var outs []string
	for range 2 {
		out := filepath.Join(t.TempDir(), "libs")
		r := c.run(append([]string{"python", "import", "--runtime", runtime, "-o", out}, wheels...)...)
		if r.code != 0 {
			t.Fatalf("import: %s", r.stderr)
		}
		outs = append(outs, out)
	}
	for _, d := range dirs {
		d0, d1 := c.run("digest", filepath.Join(outs[0], d)), c.run("digest", filepath.Join(outs[1], d))
		if d0.code != 0 || d0.stdout != d1.stdout {
			t.Errorf("%s: digests %q and %q (%s)", d, d0.stdout, d1.stdout, d0.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(outs[0], "pypi-jinja2-3.1.2", "site-packages", "jinja2", "__pycache__", "compiler.cpython-311.pyc")); err != nil {
		t.Error(err)
	}
	for _, c2 := range []struct{ dir, code, want string }{
		{"pypi-six-1.16.0", "import six, importlib.metadata as md; print(six.__cached__, md.version('six'))",
			"/usr/local/lib/python3.11/site-packages/__pycache__/six.cpython-311.pyc 1.16.0\n"},
		{"pypi-attrs-22.2.0", "import attr, attrs, importlib.metadata as md; print(attrs.define is attr.define, attr.__cached__.endswith('.pyc'), md.version('attrs'))",
			"True True 22.2.0\n"},
	} {
		site := filepath.Join(outs[0], c2.dir, "site-packages")
		r := c.run("run", "--asset", site+":"+pywheel.SitePackages, runtime, "--", "-c", c2.code)
		if r.code != 0 || r.stdout != c2.want {
			t.Errorf("%s: stdout %q, want %q (stderr %s)", c2.dir, r.stdout, c2.want, r.stderr)
		}
	}
}
