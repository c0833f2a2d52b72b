package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wrun-dev/wrun/internal/registrytest"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

var componentCache sync.Map // guest name → path of its jco-made component

// p1Component wraps the guest module with the WASI preview 1 command
// adapter using the pinned jco (`jco new CORE --wasi-command`), once per
// test binary.
func p1Component(t *testing.T, name string) string {
	t.Helper()
	if p, ok := componentCache.Load(name); ok {
		return p.(string)
	}
	dir, err := os.MkdirTemp("", "wrun-component-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, strings.ReplaceAll(name, "/", "-")+".component.wasm")
	cmd := exec.Command(jco(t), "new", guest(t, name), "--wasi-command", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("jco new %s: %v\n%s", name, err, b)
	}
	componentCache.Store(name, out)
	return out
}

// watComponent assembles a component written in the component text format.
func watComponent(t *testing.T, wat string) string {
	t.Helper()
	dir := t.TempDir()
	src, out := filepath.Join(dir, "c.wat"), filepath.Join(dir, "c.wasm")
	if err := os.WriteFile(src, []byte(wat), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(jco(t), "parse", src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("jco parse: %v\n%s", err, b)
	}
	return out
}

// TestComponentP1RunsLikeModule: a C guest wrapped by the preview 1 adapter
// gives byte-identical stdout, stderr and exit code to the plain module.
func TestComponentP1RunsLikeModule(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "in.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		guest string
		args  []string
		stdin string
	}{
		{"c/hello", nil, ""},
		{"c/exit", []string{"3"}, ""},
		{"c/echo", []string{"a b", "c"}, "stdin line\n"},
		{"c/cat", []string{"/data/in.txt"}, ""},
		{"go/echo", []string{"x", "y z"}, "go stdin\n"},
	} {
		t.Run(tc.guest, func(t *testing.T) {
			comp := p1Component(t, tc.guest)
			run := func(wasm string) result {
				c := newCLI(t)
				c.stdin = tc.stdin
				c.env = []string{"ECHO_ENV=GREETING"}
				return c.run(append([]string{"run", "--mount", data + ":/data", "--env", "GREETING=hi there", "--env", "ECHO_EXIT=5", wasm}, tc.args...)...)
			}
			// The same file name, so that argv[0] is the same.
			same := func(src string) string {
				b, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(t.TempDir(), "prog.wasm")
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			want, got := run(same(guest(t, tc.guest))), run(same(comp))
			if got != want {
				t.Errorf("component: %+v\nmodule:    %+v", got, want)
			}
			if want := map[string]int{"c/exit": 3, "go/echo": 5}[tc.guest]; got.code != want {
				t.Errorf("exit code %d, want %d: %+v", got.code, want, got)
			}
		})
	}
}

// nativeWAT is a hand-written native WASI 0.2 component: it imports WASI
// 0.2 interfaces and exports wasi:cli/run, with no preview 1 module.
const nativeWAT = `(component
  (import "wasi:cli/environment@0.2.0" (instance
    (export "get-arguments" (func (result (list string))))))
  (import "wasi:http/types@0.2.0" (instance (export "fields" (type (sub resource)))))
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (component $shim
    (import "import-func-run" (func $f (result (result))))
    (export "run" (func $f)))
  (instance $r (instantiate $shim (with "import-func-run" (func $run))))
  (export "wasi:cli/run@0.2.0" (instance $r))
)`

// TestComponentNativeRefused: a native WASI 0.2 component is refused
// before running, saying what it is and naming its WASI imports.
func TestComponentNativeRefused(t *testing.T) {
	r := newCLI(t).run("run", watComponent(t, nativeWAT))
	r.wantError(t, "a native WASI 0.2 command component", "wasi:cli/environment@0.2.0", "wasi:http/types@0.2.0", "wasm32-wasip1")
}

// TestComponentHostileRefused: truncated components, huge counts and deep
// nesting are refused with a one-line error, never run or crash.
func TestComponentHostileRefused(t *testing.T) {
	comp, err := os.ReadFile(p1Component(t, "c/hello"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := []byte("\x00asm\x0d\x00\x01\x00")
	nest := func(depth int) []byte {
		b := hdr
		for range depth {
			b = append(wasmbin.AppendU32(append(append([]byte{}, hdr...), 0x04), uint32(len(b))), b...)
		}
		return b
	}
	for name, b := range map[string][]byte{
		"truncated":   comp[:len(comp)/2],
		"huge count":  append(append([]byte{}, hdr...), 0x0a, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"deep nested": nest(20),
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.wasm")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			r := newCLI(t).run("run", p)
			r.wantError(t, "component")
			if name == "deep nested" && !strings.Contains(r.stderr, "deeper than 16") {
				t.Errorf("stderr %q does not name the nesting cap", r.stderr)
			}
		})
	}
}

// TestComponentInspect: wrun inspect on a p1-adapted component shows its
// world, its core modules with roles, and that it runs; on a native one,
// that it does not, and why.
func TestComponentInspect(t *testing.T) {
	c := newCLI(t)
	r := c.run("inspect", "--json", p1Component(t, "c/hello"))
	if r.code != 0 {
		t.Fatalf("inspect: %+v", r)
	}
	var out struct {
		Component *struct {
			Kind    string `json:"kind"`
			Runs    bool   `json:"runs"`
			Imports []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"imports"`
			Exports []struct {
				Name string `json:"name"`
			} `json:"exports"`
			Modules []struct {
				Role string `json:"role"`
				Size int    `json:"size"`
			} `json:"coreModules"`
		} `json:"component"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Component == nil {
		t.Fatalf("inspect --json: %v\n%s", err, r.stdout)
	}
	cm := out.Component
	if !cm.Runs || len(cm.Modules) != 4 || cm.Modules[0].Role != "main" || cm.Modules[1].Role != "adapter" {
		t.Errorf("component: %+v", cm)
	}
	mod, _ := os.ReadFile(guest(t, "c/hello"))
	if cm.Modules[0].Size != len(mod) {
		t.Errorf("main module size %d, want %d", cm.Modules[0].Size, len(mod))
	}
	if len(cm.Exports) != 1 || !strings.HasPrefix(cm.Exports[0].Name, "wasi:cli/run@") {
		t.Errorf("exports %+v", cm.Exports)
	}
	found := false
	for _, im := range cm.Imports {
		found = found || im.Name == "wasi:cli/environment@"+im.Version && im.Version != ""
	}
	if !found {
		t.Errorf("imports %+v lack wasi:cli/environment with a version", cm.Imports)
	}
	r = c.run("inspect", watComponent(t, nativeWAT))
	if r.code != 0 || !strings.Contains(r.stdout, "wasi:http/types@0.2.0") || !strings.Contains(r.stdout, "native WASI 0.2") {
		t.Errorf("inspect native: %+v", r)
	}
}

// TestComponentExplodeRoundTrip: wrun wasm explode/assemble on a real
// component is byte-identical, its core modules become parts of their
// own, and its digest is the digest of the exploded directory.
func TestComponentExplodeRoundTrip(t *testing.T) {
	comp := p1Component(t, "c/hello")
	dir := filepath.Join(t.TempDir(), "x")
	c := newCLI(t)
	if r := c.run("wasm", "explode", comp, "-o", dir); r.code != 0 {
		t.Fatalf("explode: %+v", r)
	}
	mods, _ := filepath.Glob(filepath.Join(dir, "*-core-module", "layout.json"))
	if len(mods) != 4 {
		t.Errorf("%d exploded core modules, want 4", len(mods))
	}
	out := filepath.Join(t.TempDir(), "y.wasm")
	if r := c.run("wasm", "assemble", dir, "-o", out); r.code != 0 {
		t.Fatalf("assemble: %+v", r)
	}
	a, _ := os.ReadFile(comp)
	b, _ := os.ReadFile(out)
	if string(a) != string(b) {
		t.Fatal("assembled component differs from the original")
	}
	d1, d2 := c.run("wasm", "digest", comp), c.run("digest", dir)
	if d1.code != 0 || d1.stdout == "" || d1.stdout != d2.stdout {
		t.Errorf("digest of the component %+v, of its parts %+v", d1, d2)
	}
}

// TestComponentPublishAndRun: publishing a package whose wasm is a
// p1-adapted component fills the CNCF Wasm config's component imports and
// exports (read back from the registry's storage), and the package runs
// by reference.
func TestComponentPublishAndRun(t *testing.T) {
	reg := registrytest.Start(t)
	c := newCLI(t)
	pkg := writeTree(t, map[string]string{
		"component.wasm": readFile(t, p1Component(t, "c/hello")),
		"wrun.toml":      "[package]\nname = \"example:hello-component\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n",
	})
	r := c.run("publish", "--registry", reg.Host, pkg)
	_, manifest, _ := strings.Cut(r.stdout, "\nmanifest ")
	manifest = strings.TrimSpace(manifest)
	if r.code != 0 || !strings.HasPrefix(manifest, "sha256:") {
		t.Fatalf("publish: %+v", r)
	}
	var m struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(readFile(t, reg.Blob(manifest))), &m); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		OS        string `json:"os"`
		Component struct {
			Imports []string `json:"imports"`
			Exports []string `json:"exports"`
		} `json:"component"`
	}
	if err := json.Unmarshal([]byte(readFile(t, reg.Blob(m.Config.Digest))), &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(cfg.Component.Imports, func(s string) bool { return strings.HasPrefix(s, "wasi:cli/environment@0.2.") }) ||
		len(cfg.Component.Exports) != 1 || !strings.HasPrefix(cfg.Component.Exports[0], "wasi:cli/run@0.2.") || cfg.OS != "wasip2" {
		t.Errorf("config: %+v", cfg)
	}
	r = c.run("--registry", reg.Host, "example:hello-component@1.0.0")
	if r.code != 0 || r.stdout != readRun(t, guest(t, "c/hello")) {
		t.Errorf("run by reference: %+v", r)
	}
}

// readRun is the stdout of running a wasm file.
func readRun(t *testing.T, wasm string) string {
	t.Helper()
	return newCLI(t).run("run", wasm).stdout
}

// TestComponentInspectRef: wrun inspect takes a package reference, pulls
// it as wrun run does and shows its wasm, here a component.
func TestComponentInspectRef(t *testing.T) {
	reg := registrytest.Start(t)
	c := newCLI(t)
	pkg := writeTree(t, map[string]string{
		"component.wasm": readFile(t, p1Component(t, "c/hello")),
		"wrun.toml":      "[package]\nname = \"example:inspect-me\"\nversion = \"1.2.0\"\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n",
	})
	if r := c.run("publish", "--registry", reg.Host, pkg); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	r := c.run("--registry", reg.Host, "inspect", "example:inspect-me@1.2.0")
	for _, want := range []string{"example:inspect-me", "1.2.0", "wasi:cli/run@0.2.", "runs with wrun", "yes"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("inspect REF does not show %q: %+v", want, r)
		}
	}
	newCLI(t).run("inspect", "example:nowhere@1.0.0").wantError(t, "example:nowhere")
}

// TestComponentReactorRefused: a preview 1 module wrapped with the reactor
// adapter is recognized as one, and refused before running: it is not a
// command.
func TestComponentReactorRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "reactor.wasm")
	if b, err := exec.Command(jco(t), "new", guest(t, "c/hello"), "--wasi-reactor", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("jco new --wasi-reactor: %v\n%s", err, b)
	}
	newCLI(t).run("run", out).wantError(t, "WASI preview 1 library (reactor)", "not a command", "wasi:cli/environment@0.2.")
}
