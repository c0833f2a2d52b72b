package bundle_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// outside makes a directory outside any package holding a "secret" in
// sub/key and x.wasm, the target of the symlinks below.
func outside(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"sub/key": "SECRET\n", "x.wasm": "\x00asm\x01\x00\x00\x00"})
	return dir
}

// TestLoadDirSymlinkedFolder: a symlink anywhere on a manifest path, not
// only its last component, is refused, naming the path and the link.
func TestLoadDirSymlinkedFolder(t *testing.T) {
	elsewhere := outside(t)
	cases := map[string]struct{ manifest, link string }{
		"assets under a link": {`[package]
name = "example:leak"
version = "1.0.0"
[run]
wasm = "component.wasm"
[[assets]]
from = "lnk/sub"
to = "/keys"
`, `assets[0].from "lnk/sub"`},
		"wasm under a link": {`[package]
name = "example:leak"
version = "1.0.0"
[run]
wasm = "lnk/x.wasm"
`, `run.wasm "lnk/x.wasm"`},
		"assets are the link": {`[package]
name = "example:leak"
version = "1.0.0"
[run]
wasm = "component.wasm"
[[assets]]
from = "lnk"
to = "/keys"
`, `assets[0].from "lnk"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"wrun.toml": c.manifest, "component.wasm": string(fixtureWasm(t))})
			if err := os.Symlink(elsewhere, filepath.Join(dir, "lnk")); err != nil {
				t.Fatal(err)
			}
			p, err := bundle.LoadDir(dir)
			if err == nil {
				t.Fatalf("LoadDir followed the link: files %v", p.Files())
			}
			if !errors.Is(err, bundle.ErrInvalidPath) || !strings.Contains(err.Error(), c.link) || !strings.Contains(err.Error(), `"lnk" is a symlink`) {
				t.Fatalf("err = %v, want ErrInvalidPath naming %s and the link", err, c.link)
			}
		})
	}
	// A symlinked wrun.toml is refused as well.
	dir := t.TempDir()
	writeTree(t, elsewhere, map[string]string{"wrun.toml": "[package]\nname = \"example:a\"\n"})
	if err := os.Symlink(filepath.Join(elsewhere, "wrun.toml"), filepath.Join(dir, "wrun.toml")); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.LoadDir(dir); !errors.Is(err, bundle.ErrInvalidPath) {
		t.Fatalf("symlinked wrun.toml: err = %v, want ErrInvalidPath", err)
	}
}

// TestAssembleRefusesSymlinks: an exploded directory whose section file or
// nested directory is a symlink is refused, not followed.
func TestAssembleRefusesSymlinks(t *testing.T) {
	files, err := bundle.Explode(fixtureWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "x")
	if err := bundle.WriteExploded(dir, files); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := bundle.Assemble(root.FS()); err != nil {
		t.Fatalf("intact: %v", err)
	}
	// Replace one section file by a link to a file outside.
	var victim string
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".bin") && !strings.Contains(f.Path, "/") {
			victim = f.Path
			break
		}
	}
	secret := filepath.Join(outside(t), "sub", "key")
	os.Remove(filepath.Join(dir, victim))
	if err := os.Symlink(secret, filepath.Join(dir, victim)); err != nil {
		t.Fatal(err)
	}
	_, err = bundle.Assemble(root.FS())
	if !errors.Is(err, bundle.ErrInvalidPath) || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("err = %v, want ErrInvalidPath: symlink", err)
	}
}

// TestNULInArgsEnv: NUL bytes in [run]/[test] args and env values are
// refused at parse with file:line:key.
func TestNULInArgsEnv(t *testing.T) {
	base := "[package]\nname = \"example:nul\"\nversion = \"1.0.0\"\n[run]\nwasm = \"component.wasm\"\n"
	for name, c := range map[string]struct{ extra, want string }{
		"run.args":  {`args = ["ok", "bad\u0000arg"]`, `wrun.toml:6: run.args[1]: "bad\x00arg" contains a NUL byte`},
		"run.env":   {`env = { GOOD = "x", BAD = "a\u0000b" }`, `wrun.toml:6: run.env.BAD: the value "a\x00b" contains a NUL byte`},
		"test.args": {"[test]\nargs = [\"\\u0000\"]", `wrun.toml:7: test.args[0]: "\x00" contains a NUL byte`},
	} {
		_, err := bundle.ParseManifest("wrun.toml", []byte(base+c.extra+"\n"))
		if !errors.Is(err, bundle.ErrInvalidManifest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %s", name, err, c.want)
		}
	}
}

func TestManifestLabel(t *testing.T) {
	m := &bundle.Manifest{}
	if got := m.Label("./dir"); got != "./dir" {
		t.Errorf("no name: %q", got)
	}
	m.Package.Name = "example:a"
	if got := m.Label("./dir"); got != "example:a" {
		t.Errorf("no version: %q", got)
	}
	m.Package.Version = "1.0.0"
	if got := m.Label("./dir"); got != "example:a@1.0.0" {
		t.Errorf("%q", got)
	}
}

// tarOf writes a bundle holding files (in the order given) by hand.
func tarOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f[0], Size: int64(len(f[1])), Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	return buf.Bytes()
}

// TestFileAndDirectory: a bundle holding static/a and static/a/b is
// refused: it could never be extracted.
func TestFileAndDirectory(t *testing.T) {
	b := tarOf(t,
		[2]string{"wrun.toml", "[package]\nname = \"example:fd\"\nversion = \"1.0.0\"\n[[assets]]\nfrom = \"static\"\nto = \"/static\"\n"},
		[2]string{"static/a", "file\n"},
		[2]string{"static/a/b", "file under the file\n"},
	)
	_, err := bundle.OpenArchive(bytes.NewReader(b), int64(len(b)), "fd.wrun", bundle.Options{})
	if !errors.Is(err, bundle.ErrInvalidPath) || !strings.Contains(err.Error(), `"static/a" is a file and also a directory`) {
		t.Fatalf("err = %v, want a file-and-directory refusal", err)
	}
}

// TestEmptyBundle: an empty .wrun says what a bundle is and what is wrong.
func TestEmptyBundle(t *testing.T) {
	name := filepath.Join(t.TempDir(), "empty.wrun")
	os.WriteFile(name, nil, 0o644)
	_, err := bundle.OpenFile(name)
	if !errors.Is(err, bundle.ErrInvalidArchive) || !strings.Contains(err.Error(), "is empty") || !strings.Contains(err.Error(), "is a tar archive of a package's files") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(name, []byte("hello, not a tar"), 0o644)
	_, err = bundle.OpenFile(name)
	if !errors.Is(err, bundle.ErrInvalidArchive) || !strings.Contains(err.Error(), "is a tar archive of a package's files") {
		t.Fatalf("err = %v", err)
	}
}

// TestHostileWasmInPackage: a package whose wasm declares more than its
// bytes hold is refused when loaded (so at build, publish, pull and run),
// naming the wasm.
func TestHostileWasmInPackage(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"wrun.toml":      "[package]\nname = \"example:oom\"\nversion = \"1.0.0\"\n[run]\nwasm = \"component.wasm\"\n",
		"component.wasm": "\x00asm\x01\x00\x00\x00\x0b\x05\xff\xff\xff\xff\x0f",
	})
	_, err := bundle.LoadDir(dir)
	if !errors.Is(err, wasmbin.ErrTruncated) || !strings.Contains(err.Error(), `run.wasm "component.wasm"`) {
		t.Fatalf("err = %v", err)
	}
}

// manySections is a 2 MB-class module: n empty custom sections.
func manySections(n int) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for i := 0; i < n; i++ {
		b = append(b, 0, 1, 0)
	}
	return b
}

// TestSectionBound: inspect and explode refuse more than MaxSections
// sections, and assemble a layout of more.
func TestSectionBound(t *testing.T) {
	b := manySections(500000)
	if _, err := bundle.InspectWasm(b); !errors.Is(err, wasmbin.ErrLimit) {
		t.Fatalf("InspectWasm: %v", err)
	}
	if _, err := bundle.Explode(b); !errors.Is(err, wasmbin.ErrLimit) {
		t.Fatalf("Explode: %v", err)
	}
	if _, err := bundle.InspectWasm(manySections(wasmbin.MaxSections)); err != nil {
		t.Fatalf("%d sections: %v", wasmbin.MaxSections, err)
	}
	var lay strings.Builder
	lay.WriteString(`{"format":"wrun-wasm-explode/1","version":"01000000","sections":[`)
	for i := 0; i <= wasmbin.MaxSections; i++ {
		if i > 0 {
			lay.WriteString(",")
		}
		lay.WriteString(`{"id":0,"kind":"custom","name":"","file":"s.bin"}`)
	}
	lay.WriteString("]}")
	fsys := fstest.MapFS{"layout.json": {Data: []byte(lay.String())}, "s.bin": {Data: nil}}
	if _, err := bundle.Assemble(fsys); !errors.Is(err, wasmbin.ErrLimit) {
		t.Fatalf("Assemble: %v", err)
	}
}
