package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A package whose wrun.toml has [preinit]: `wrun build` ships the snapshot,
// and running the directory pre-initializes once per machine, then reuses it.
func TestPreinitPackage(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	wasm, err := os.ReadFile(guest(t, "c/prefile"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "config.txt"), []byte("mode=snapshot\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "component.wasm"), wasm, 0o644)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(`[package]
name = "test:prefile"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
[[assets]]
from = "data"
to = "/data"
[preinit]
init = "wizer.initialize"
`), 0o644)

	// First run of the directory: pre-initialized on this machine, cached.
	r := c.run("run", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "mode=snapshot") || !strings.Contains(r.stdout, "snapshot") {
		t.Fatalf("first run: %+v", r)
	}
	snaps := filepath.Join(c.home, "cache", "preinit")
	first, _ := os.ReadDir(snaps)
	if len(first) == 0 {
		t.Fatalf("no snapshot cached under %s", snaps)
	}
	if r2 := c.run("run", dir); r2.stdout != r.stdout {
		t.Fatalf("second run differs: %q vs %q", r2.stdout, r.stdout)
	}
	if again, _ := os.ReadDir(snaps); len(again) != len(first) {
		t.Fatalf("second run made another snapshot: %d entries, then %d", len(first), len(again))
	}

	// wrun build ships the snapshot: the bundle's wasm no longer has the
	// init export, runs without it, and the directory is unchanged.
	out := filepath.Join(t.TempDir(), "p.wrun")
	b := c.run("build", dir, "-o", out)
	if b.code != 0 || !strings.Contains(b.stderr, "pre-initialized component.wasm") {
		t.Fatalf("build: %+v", b)
	}
	if d := c.run("digest", dir); d.stdout == b.stdout {
		t.Fatalf("the bundle of a pre-initialized package has the directory's digest %s", d.stdout)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "component.wasm")); string(after) != string(wasm) {
		t.Fatal("wrun build changed the package directory's wasm")
	}
	in := c.run("inspect", out)
	exports := in.stdout[strings.Index(in.stdout, "exports"):]
	if !strings.Contains(exports, "_start") || strings.Contains(exports, "wizer.initialize") {
		t.Fatalf("the shipped wasm still exports the init function:\n%s", in.stdout)
	}
	fresh := newCLI(t)
	if r3 := fresh.run("run", out); r3.code != 0 || r3.stdout != r.stdout {
		t.Fatalf("bundle run: %+v, want %q", r3, r.stdout)
	}
	if ents, _ := os.ReadDir(filepath.Join(fresh.home, "cache", "preinit")); len(ents) != 0 {
		t.Fatal("running a bundle that ships its snapshot pre-initialized again")
	}
	// --no-preinit ships the wasm as it is: the bundle's digest is the directory's.
	if b2 := c.run("build", dir, "-o", out, "--no-preinit"); b2.stdout != c.run("digest", dir).stdout {
		t.Fatalf("--no-preinit: %+v", b2)
	}
}
