package bundle_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wrun-dev/wrun/bundle"
)

// The content digest of two files, the SIG-Registries rule.
func ExampleContentDigest() {
	d, err := bundle.ContentDigest([]bundle.Entry{
		{Path: "b.txt", Sum: sha256.Sum256([]byte("top"))},
		{Path: "a.txt", Sum: sha256.Sum256([]byte("hello\n"))},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(d)
	// Output: sha256:ffb7deb6f7980a1f1154b041b53507e85061c598328bc81f5d03613ff2dbf401
}

// Build a bundle from a package directory and open it again: the digest
// is the same.
func ExampleLoadDir() {
	dir, _ := os.MkdirTemp("", "pkg")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte("[package]\nname = \"example:site\"\nversion = \"1.0.0\"\n\n[[assets]]\nfrom = \"static\"\nto = \"/static\"\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "static"), 0o755)
	os.WriteFile(filepath.Join(dir, "static", "index.html"), []byte("<h1>hi</h1>\n"), 0o644)

	p, err := bundle.LoadDir(dir)
	if err != nil {
		panic(err)
	}
	out := filepath.Join(dir, "site.wrun")
	if err := p.WriteArchiveFile(out); err != nil {
		panic(err)
	}
	b, err := bundle.OpenFile(out)
	if err != nil {
		panic(err)
	}
	defer b.Close()
	fmt.Println(b.Manifest.Package.Kind, b.Digest() == p.Digest())
	for _, e := range b.Files() {
		fmt.Println(e.Path, e.Size)
	}
	// Output:
	// assets true
	// static/index.html 12
	// wrun.toml 93
}
