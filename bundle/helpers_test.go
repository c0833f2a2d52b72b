package bundle_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// fixtureWasm compiles testdata/bundle/sections.wat with wat2wasm.
func fixtureWasm(t testing.TB) []byte {
	return testenv.Wat2Wasm(t, "testdata/bundle/sections.wat", "--debug-names")
}

// guests returns every guest `make testdata` built.
func guests(t testing.TB) []string { return testenv.Guests(t) }

// largestGoGuest is the biggest Go guest `make testdata` built.
func largestGoGuest(t testing.TB) string {
	t.Helper()
	best, size := "", int64(-1)
	for _, g := range guests(t) {
		if filepath.Base(filepath.Dir(g)) != "go" {
			continue
		}
		if fi, err := os.Stat(g); err == nil && fi.Size() > size {
			best, size = g, fi.Size()
		}
	}
	if best == "" {
		t.Fatal("no Go guest built: run `make testdata`")
	}
	return best
}

const pkgManifest = `[package]
name = "example:hello"
version = "1.0.0"
kind = "component"

[run]
wasm = "component.wasm"
args = ["/app/main.py"]

[[assets]]
from = "static"
to = "/static"

[[assets]]
from = "app"
to = "/app"
`

// writeTree writes files (path -> content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		hp := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hp, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pkgDir makes a package directory: a manifest, the fixture wasm, two
// asset directories and a file the manifest does not name.
func pkgDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"wrun.toml":         pkgManifest,
		"component.wasm":    string(fixtureWasm(t)),
		"static/index.html": "<h1>hi</h1>\n",
		"static/css/a.css":  "body{}\n",
		"static/empty.txt":  "",
		"app/main.py":       "print('hello')\n",
		"notes.txt":         "not in the package\n",
	})
	return dir
}

// listDir lists every path under dir, for "nothing was written" checks.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	return out
}
