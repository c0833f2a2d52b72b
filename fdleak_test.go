package wrun_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err) // not Linux
	}
	return len(ents)
}

// TestFailedLoadClosesFiles: a Load that fails on a bundle file (damaged,
// or a package that fails later) leaves no file open; an embedding service
// retrying it leaked a descriptor per try.
func TestFailedLoadClosesFiles(t *testing.T) {
	ctx := context.Background()
	src, err := bundle.LoadDir(helloPkg(t, "test:hello"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.wrun")
	if err := src.WriteArchiveFile(good); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "damaged.wrun")
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(damaged, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(filepath.Join(dir, "state")))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	// One good Load first, so lazily opened state (caches) is not counted.
	p, err := rt.Load(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	// Bundles that open and verify but fail later: a runtime that does not
	// resolve, and a wasm that does not compile.
	failing := map[string]string{"damaged": damaged}
	for name, manifest := range map[string]string{
		"runtime": "[package]\nname = \"test:app\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nruntime = \"test:missing@^1\"\n",
		"wasm":    "[package]\nname = \"test:bad\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n",
	} {
		files := map[string][]byte{}
		if name == "wasm" {
			files["component.wasm"] = testenv.GuestBytes(t, "wat/needs_env") // imports what WASI lacks
		}
		src, err := bundle.LoadDir(writePkg(t, manifest, files))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".wrun")
		if err := src.WriteArchiveFile(f); err != nil {
			t.Fatal(err)
		}
		failing[name] = f
	}
	for name, f := range failing {
		before := openFDs(t)
		for range 5 {
			if _, err := rt.Load(ctx, f); err == nil {
				t.Fatalf("%s: the bundle loaded", name)
			}
		}
		if after := openFDs(t); after > before {
			t.Errorf("%s: 5 failed Loads left %d more files open", name, after-before)
		}
	}
}

// TestPrunedLayerClosed: a cached asset layer whose directory is removed
// (wrun cache prune) while a Package still uses it is dropped from the
// Runtime's load cache, and closed when that Package closes; it used to
// stay open for the life of the Runtime.
func TestPrunedLayerClosed(t *testing.T) {
	ctx := context.Background()
	home := filepath.Join(t.TempDir(), "state")
	c, err := registryclient.New(registryclient.Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, c, writePkg(t, "[package]\nname = \"test:assets\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n[[assets]]\nfrom = \"data\"\nto = \"/data\"\n",
		map[string][]byte{"component.wasm": testenv.GuestBytes(t, "c/hello"), "data/a.txt": []byte("a\n")}))
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithHome(home))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	// A first Load fills the caches; what it leaves open is the baseline.
	warm, err := rt.Load(ctx, "test:assets@1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	warm.Close(ctx)
	before := openFDs(t)
	first, err := rt.Load(ctx, "test:assets@1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	// The prune: the extracted package goes while first still holds it.
	if err := os.RemoveAll(filepath.Join(home, "cache", "packages")); err != nil {
		t.Fatal(err)
	}
	second, err := rt.Load(ctx, "test:assets@1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	first.Close(ctx)
	second.Close(ctx)
	// second's layer stays cached in place of the pruned one, which must
	// be closed: no more files open than after the first Load.
	if leaked := openFDs(t) - before; leaked > 0 {
		t.Errorf("%d more files open after both Packages closed: the pruned layer was never closed", leaked)
	}
}
