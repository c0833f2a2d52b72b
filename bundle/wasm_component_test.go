package bundle_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// TestExplodeJcoComponent: a real component (a C guest wrapped by jco with the
// preview 1 adapter) explodes into its four core modules, each exploded
// with its data segments, assembles back byte for byte, and its digest is
// that of the exploded directory.
func TestExplodeJcoComponent(t *testing.T) {
	j := testenv.NpmTool(t, "jco", "@bytecodealliance/jco", "1.35.0", "node_modules/.bin/jco")
	src := filepath.Join(t.TempDir(), "hello.wasm")
	if b, err := exec.Command(j, "new", testenv.GuestPath("c/hello"), "--wasi-command", "-o", src).CombinedOutput(); err != nil {
		t.Fatalf("jco new: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	files, err := bundle.Explode(wasm)
	if err != nil {
		t.Fatal(err)
	}
	modules, components, segments := 0, 0, 0
	for _, f := range files {
		dir, base := filepath.Split(f.Path)
		switch {
		case base == bundle.LayoutName && strings.HasSuffix(dir, "-core-module/"):
			modules++
		case base == bundle.LayoutName && strings.HasSuffix(dir, "-component/"):
			components++
		case strings.Contains(dir, "-core-module/") && strings.HasSuffix(dir, "-data/"):
			segments++
		}
	}
	if modules != 4 || components != 1 || segments == 0 {
		t.Errorf("exploded into %d core modules, %d nested components, %d data segments; want 4, 1, some", modules, components, segments)
	}
	dir := filepath.Join(t.TempDir(), "x")
	if err := bundle.WriteExploded(dir, files); err != nil {
		t.Fatal(err)
	}
	back, err := bundle.Assemble(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, wasm) {
		t.Fatal("assembled component differs from the original")
	}
	d1, err := bundle.WasmDigest(wasm)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := bundle.DigestPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("WasmDigest %s, digest of the exploded directory %s", d1, d2)
	}
}
