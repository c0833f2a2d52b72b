package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// bundleDir makes a package directory around a built guest.
func bundleDir(t *testing.T, manifest string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pkg")
	wasm, err := os.ReadFile(guest(t, "c/hello"))
	if err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{
		"wrun.toml":         manifest,
		"component.wasm":    string(wasm),
		"static/index.html": "<h1>hi</h1>\n",
		"static/sub/b.txt":  "b\n",
		"scratch.txt":       "not named by the manifest\n",
	} {
		hp := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(hp), 0o755)
		if err := os.WriteFile(hp, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const helloManifest = `[package]
name = "example:hello"
version = "1.0.0"

[run]
wasm = "component.wasm"

[[assets]]
from = "static"
to = "/static"
`

func entries(t *testing.T, dir string) []string {
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

func TestBundleBuildDigestInspect(t *testing.T) {
	c := newCLI(t)
	dir := bundleDir(t, helloManifest)
	out := t.TempDir()
	c.dir = out
	r := c.run("build", dir)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:") || len(strings.TrimSpace(r.stdout)) != 71 {
		t.Fatalf("build: %+v", r)
	}
	digest := strings.TrimSpace(r.stdout)
	bundle := filepath.Join(out, "hello-1.0.0.wrun")
	first, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	// Same tree, same bytes; directory and bundle have one digest.
	if r := c.run("build", dir, "-o", "again.wrun"); r.stdout != digest+"\n" {
		t.Fatalf("second build: %+v", r)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "again.wrun")); !bytes.Equal(first, again) {
		t.Fatal("two builds of one tree differ")
	}
	for _, p := range []string{dir, bundle} {
		if r := c.run("digest", p); r.stdout != digest+"\n" {
			t.Fatalf("digest %s: %+v, want %s", p, r, digest)
		}
	}

	r = c.run("inspect", bundle)
	for _, want := range []string{"example:hello@1.0.0 (component)", digest, "static -> /static", "4 files",
		"static/sub/b.txt", "wasm ", "core module", "imports", "wasi_snapshot_preview1.fd_write", "exports", "_start", "memory 0"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("inspect does not show %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "scratch.txt") {
		t.Fatal("a file the manifest does not name is in the bundle")
	}
	r = c.run("inspect", "--json", bundle)
	var rep struct {
		Digest string
		Files  []struct{ Path string }
		Wasm   struct {
			Sections []struct{ Name string }
			Exports  []struct{ Name, Kind string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Digest != digest || len(rep.Files) != 4 || len(rep.Wasm.Sections) == 0 || len(rep.Wasm.Exports) == 0 {
		t.Fatalf("inspect --json: %+v", rep)
	}
}

func TestBundleBuildErrors(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		setup    func(dir string)
		want     []string
	}{
		{"missing wasm", helloManifest, func(d string) { os.Remove(filepath.Join(d, "component.wasm")) },
			[]string{`run.wasm "component.wasm"`, "file named by the manifest is missing"}},
		{"missing asset dir", helloManifest, func(d string) { os.RemoveAll(filepath.Join(d, "static")) },
			[]string{`assets[0].from "static"`, "missing"}},
		{"bad manifest", strings.Replace(helloManifest, "[[assets]]\nfrom", "[[assets]]\nform", 1), func(string) {},
			[]string{"wrun.toml:9: assets.form", `unknown key "form" (did you mean "from"?)`}},
		{"symlink", helloManifest, func(d string) { os.Symlink("/etc/passwd", filepath.Join(d, "static", "pw")) },
			[]string{`"static/pw" is a symlink`}},
		{"no manifest", helloManifest, func(d string) { os.Remove(filepath.Join(d, "wrun.toml")) },
			[]string{"needs wrun.toml at its root"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			dir := bundleDir(t, tc.manifest)
			tc.setup(dir)
			out := t.TempDir()
			c.dir = out
			before := entries(t, filepath.Dir(dir))
			c.run("build", dir, "-o", "out.wrun").wantError(t, tc.want...)
			if l := entries(t, out); len(l) != 1 {
				t.Fatalf("something was written: %v", l)
			}
			if after := entries(t, filepath.Dir(dir)); !slices.Equal(before, after) {
				t.Fatalf("the package directory changed: %v", after)
			}
		})
	}
}

func TestBundleBadArchive(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wrun")
	os.WriteFile(bad, bytes.Repeat([]byte("garbage!"), 200), 0o644)
	c.run("digest", bad).wantError(t, "bad.wrun", "invalid bundle archive")
	c.run("inspect", bad).wantError(t, "bad.wrun", "invalid bundle archive")
	if l := entries(t, dir); len(l) != 2 {
		t.Fatalf("something was written: %v", l)
	}
}

func TestBundleFillsPackageFromWasm(t *testing.T) {
	c := newCLI(t)
	dir := bundleDir(t, "[run]\nwasm = \"component.wasm\"\n\n[[assets]]\nfrom = \"static\"\nto = \"/static\"\n")
	w := filepath.Join(dir, "component.wasm")
	if r := c.run("wasm", "metadata", "add", w, "-o", w, "--name", "example:meta", "--version", "2.0.0", "--description", "from the wasm"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	c.dir = t.TempDir()
	if r := c.run("build", dir); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	r := c.run("inspect", filepath.Join(c.dir, "meta-2.0.0.wrun"))
	if !strings.Contains(r.stdout, "example:meta@2.0.0") || !strings.Contains(r.stdout, "from the wasm") {
		t.Fatalf("inspect:\n%s%s", r.stdout, r.stderr)
	}
}
