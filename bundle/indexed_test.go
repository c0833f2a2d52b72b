package bundle_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
)

func TestLoadDirIndexed(t *testing.T) {
	dir := pkgDir(t)
	full, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bundle.LoadDirIndexed(dir, full.Files())
	if err != nil {
		t.Fatal(err)
	}
	if p.Digest() != full.Digest() {
		t.Fatalf("indexed digest %s, full %s", p.Digest(), full.Digest())
	}
	// Reads check sizes: a file truncated behind the index is caught.
	wasm := p.Manifest.Run.Wasm
	target := filepath.Join(dir, filepath.FromSlash(wasm))
	os.Chmod(target, 0o644)
	if err := os.WriteFile(target, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFile(wasm); !errors.Is(err, bundle.ErrDigestMismatch) {
		t.Fatalf("reading a changed file: %v, want ErrDigestMismatch", err)
	}
	// A fully loaded package hashes what it reads.
	if _, err := full.ReadFile(wasm); !errors.Is(err, bundle.ErrDigestMismatch) {
		t.Fatalf("reading a changed file through LoadDir's package: %v, want ErrDigestMismatch", err)
	}
	// wrun.toml is always checked against its entry.
	mf := filepath.Join(dir, bundle.ManifestName)
	b, _ := os.ReadFile(mf)
	os.Chmod(mf, 0o644)
	os.WriteFile(mf, append(b, "\n# edited\n"...), 0o644)
	if _, err := bundle.LoadDirIndexed(dir, full.Files()); !errors.Is(err, bundle.ErrDigestMismatch) {
		t.Fatalf("edited manifest: %v, want ErrDigestMismatch", err)
	}
	// An index that is not sorted is refused.
	files := full.Files()
	files[0], files[1] = files[1], files[0]
	os.WriteFile(mf, b, 0o644)
	if _, err := bundle.LoadDirIndexed(dir, files); err == nil {
		t.Fatal("an unsorted index was accepted")
	}
}
