// Package testenv finds what wrun's tests need: the guests `make testdata`
// builds and the pinned baseline tools `make tools` installs. A missing piece
// fails the test with the command that provides it; nothing is skipped.
package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build is the repository's ignored build directory.
func Build() string { return filepath.Join(Root(), ".build") }

// Guest returns the path of a built guest, named as under testdata without
// the extension: "c/echo", "go/echo", "wat/trap".
func Guest(t testing.TB, name string) string {
	t.Helper()
	p := GuestPath(name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("guest %s is not built (%v): run `make testdata`", name, err)
	}
	return p
}

// Testdata is the directory `make testdata` builds the guests into:
// $WRUN_TESTDATA, else .build/testdata under the repository root.
func Testdata() string {
	if dir := os.Getenv("WRUN_TESTDATA"); dir != "" {
		return dir
	}
	return filepath.Join(Build(), "testdata")
}

// GuestPath is Guest for examples, which have no testing.TB: the path of a
// guest named as under testdata without the extension ("c/hello"), whether
// or not it is built. Opening a missing one fails with its path, which an
// example prints (the Output mismatch shows it; run `make testdata`).
func GuestPath(name string) string {
	return filepath.Join(Testdata(), filepath.FromSlash(name)+".wasm")
}

// GuestBytes returns the bytes of a built guest.
func GuestBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(Guest(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Guests returns the path of every guest `make testdata` built.
func Guests(t testing.TB) []string {
	t.Helper()
	dir := Testdata()
	var out []string
	for _, pat := range []string{"go/*.wasm", "c/*.wasm", "wat/*.wasm"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatalf("no guests under %s: run `make testdata`", dir)
	}
	return out
}

// Wat2Wasm compiles a WAT file under the repository root (e.g.
// "testdata/bundle/sections.wat") with wabt's wat2wasm, --enable-all and the
// given extra flags, and returns the module.
func Wat2Wasm(t testing.TB, src string, flags ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(src)+".wasm")
	args := append([]string{"--enable-all"}, flags...)
	args = append(args, "-o", out, filepath.Join(Root(), filepath.FromSlash(src)))
	if b, err := exec.Command(Tool(t, "wat2wasm"), args...).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", src, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Tools is the directory `make tools` installs the pinned tools into:
// $WRUN_TOOLS, else .build/tools under the repository root.
func Tools() string {
	if dir := os.Getenv("WRUN_TOOLS"); dir != "" {
		return dir
	}
	return filepath.Join(Build(), "tools")
}

// NpmTool returns the path of an npm-installed tool `make tools` put under
// Tools()/prefix: bin is relative to that npm prefix
// ("node_modules/.bin/jco"), and the npm package pkg installed there must be
// at version. Tests never install anything: a missing or other version fails
// the test with `make tools`.
func NpmTool(t testing.TB, prefix, pkg, version, bin string) string {
	t.Helper()
	dir := filepath.Join(Tools(), prefix)
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json"))
	if err != nil {
		t.Fatalf("%s %s is not installed (%v): run `make tools`", pkg, version, err)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &meta); err != nil || meta.Version != version {
		t.Fatalf("%s under %s is version %q (%v), the tests pin %s: run `make tools`", pkg, dir, meta.Version, err, version)
	}
	p := filepath.Join(dir, filepath.FromSlash(bin))
	if !fileExists(p) {
		t.Fatalf("%s %s has no %s: run `make tools`", pkg, version, bin)
	}
	return p
}

// Tool returns the path of a pinned tool ("wazero", "oras") installed by
// `make tools`, or of a system tool found on PATH.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p := filepath.Join(Tools(), name); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("tool %s not found: run `make tools` (or `make deps` for system packages)", name)
	return ""
}

// PythonRuntime returns the CPython runtime package directory `make
// python-build` made: $WRUN_PYTHON_RUNTIME, else the path it recorded.
func PythonRuntime(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WRUN_PYTHON_RUNTIME")
	if dir == "" {
		b, err := os.ReadFile(filepath.Join(Build(), "python-runtime.path"))
		if err != nil {
			t.Fatalf("no CPython runtime package (WRUN_PYTHON_RUNTIME is unset and %v): run make python-build", err)
		}
		dir = strings.TrimSpace(string(b))
	}
	if _, err := os.Stat(filepath.Join(dir, "wrun.toml")); err != nil {
		t.Fatalf("CPython runtime package %s: %v: run make python-build", dir, err)
	}
	return dir
}

// WrunBinary builds cmd/wrun once per test binary into dir and returns its path.
func WrunBinary(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "wrun")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/wrun")
	cmd.Dir = Root()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building wrun: %v\n%s", err, b)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
