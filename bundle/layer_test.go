package bundle_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/bundle"
)

// layerFiles is a package whose asset paths ustar cannot hold: a
// non-ASCII name and a 150-byte path whose last component is 143 bytes.
func layerFiles() map[string]string {
	return map[string]string{
		"wrun.toml":                          "[package]\nname = \"example:layer\"\n[[assets]]\nfrom = \"static\"\nto = \"/static\"\n",
		"static/é.txt":                       "accent\n",
		"static/" + strings.Repeat("f", 143): "long\n",
		"static/sub/a.txt":                   "a\n",
	}
}

// staticFiles returns the package's files under static/.
func staticFiles(p *bundle.Package) []bundle.Entry {
	var out []bundle.Entry
	for _, f := range p.Files() {
		if strings.HasPrefix(f.Path, "static/") {
			out = append(out, f)
		}
	}
	return out
}

// TestWriteLayerReproducible: a registry layer is the same bytes whatever
// the package was loaded from (a directory, its bundle), whatever the
// files' modes, times and order, and on any machine (the digest is
// pinned); every header follows the one canonical rule, with a PAX path
// record exactly where ustar cannot hold the name.
func TestWriteLayerReproducible(t *testing.T) {
	layer := func(t *testing.T, p *bundle.Package, files []bundle.Entry) []byte {
		t.Helper()
		var buf bytes.Buffer
		n, err := p.WriteLayer(&buf, "static", files)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(buf.Len()) {
			t.Fatalf("WriteLayer returned %d, wrote %d bytes", n, buf.Len())
		}
		return buf.Bytes()
	}

	dir1, dir2 := t.TempDir(), t.TempDir()
	writeTree(t, dir1, layerFiles())
	writeTree(t, dir2, layerFiles())
	old := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	for rel := range layerFiles() {
		hp := filepath.Join(dir2, filepath.FromSlash(rel))
		if err := os.Chmod(hp, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(hp, old, old); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := bundle.LoadDir(dir1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := bundle.LoadDir(dir2)
	if err != nil {
		t.Fatal(err)
	}
	var arch bytes.Buffer
	if err := p1.WriteArchive(&arch); err != nil {
		t.Fatal(err)
	}
	p3, err := bundle.OpenArchive(bytes.NewReader(arch.Bytes()), int64(arch.Len()), "layer.wrun", bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}

	want := layer(t, p1, staticFiles(p1))
	rev := staticFiles(p2)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if got := layer(t, p2, rev); !bytes.Equal(got, want) {
		t.Error("the same files with other modes, times and order give other bytes")
	}
	if got := layer(t, p3, staticFiles(p3)); !bytes.Equal(got, want) {
		t.Error("the package read from its bundle gives other bytes than from its directory")
	}
	const pinned = "sha256:8e91b4d3e86bb71b49bca0eec9b5ffe625f45c8356738d7311179ca78e41b1a9"
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(want)); got != pinned {
		t.Errorf("layer digest %s, want %s (the canonical tar rule changed?)", got, pinned)
	}

	tr := tar.NewReader(bytes.NewReader(want))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag != tar.TypeReg || h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%q: header %+v is not canonical", h.Name, h)
		}
		needsPAX := len(h.Name) > 100 || strings.ContainsFunc(h.Name, func(r rune) bool { return r >= 0x80 })
		switch {
		case needsPAX && (h.Format != tar.FormatPAX || len(h.PAXRecords) != 1 || h.PAXRecords["path"] != h.Name):
			t.Errorf("%q: format %v, PAX records %v; want exactly one PAX path record", h.Name, h.Format, h.PAXRecords)
		case !needsPAX && (h.Format != tar.FormatUSTAR || len(h.PAXRecords) != 0):
			t.Errorf("%q: format %v, PAX records %v; want plain ustar", h.Name, h.Format, h.PAXRecords)
		}
	}
	wantNames := []string{strings.Repeat("f", 143), "sub/a.txt", "é.txt"}
	if strings.Join(names, "|") != strings.Join(wantNames, "|") {
		t.Errorf("entries %q, want %q (sorted, relative to the layer directory)", names, wantNames)
	}
}

// TestWriteLayerOutsideDir: a file outside the layer's directory is
// refused, not written under a wrong name.
func TestWriteLayerOutsideDir(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, layerFiles())
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.WriteLayer(io.Discard, "static/sub", staticFiles(p))
	if !errors.Is(err, bundle.ErrInvalidPath) {
		t.Fatalf("err = %v, want ErrInvalidPath", err)
	}
}
