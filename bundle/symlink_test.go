package bundle_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
)

// symlinks makes each link (path → target) under dir.
func symlinks(t *testing.T, dir string, links map[string]string) {
	t.Helper()
	for p, target := range links {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadDirAssetSymlinks: relative symlinks that stay inside their asset
// directory are packaged as copies of what they point at, so the package
// and its digest equal those of the same tree with each link replaced by
// a copy of its target.
func TestLoadDirAssetSymlinks(t *testing.T) {
	linked := pkgDir(t)
	symlinks(t, linked, map[string]string{
		"static/home.html":     "index.html",     // a file beside it
		"static/css/b.css":     "../css/a.css",   // climbing out of a subdirectory and back
		"static/style":         "css",            // a directory: its files under the link's path
		"static/deep/main.css": "../style/a.css", // through another link
		"static/chain/1.html":  "2.html",         // a chain
		"static/chain/2.html":  "../home.html",   // ... of links
	})
	copied := pkgDir(t)
	writeTree(t, copied, map[string]string{
		"static/home.html":     "<h1>hi</h1>\n",
		"static/css/b.css":     "body{}\n",
		"static/style/a.css":   "body{}\n",
		"static/style/b.css":   "body{}\n",
		"static/deep/main.css": "body{}\n",
		"static/chain/1.html":  "<h1>hi</h1>\n",
		"static/chain/2.html":  "<h1>hi</h1>\n",
	})
	pl, err := bundle.LoadDir(linked)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := bundle.LoadDir(copied)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Digest() != pc.Digest() || !slices.Equal(pl.Files(), pc.Files()) {
		t.Errorf("linked tree: %v %v\ncopied tree: %v %v", pl.Digest(), pl.Files(), pc.Digest(), pc.Files())
	}
	if b, err := pl.ReadFile("static/style/b.css"); err != nil || string(b) != "body{}\n" {
		t.Errorf("reading through two links: %q, %v", b, err)
	}
	// The bundle holds regular files: it loads back with the same digest.
	var buf strings.Builder
	if err := pl.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	pa, err := bundle.OpenArchive(strings.NewReader(buf.String()), int64(buf.Len()), "linked.wrun", bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pa.Digest() != pl.Digest() {
		t.Errorf("bundle digest %v, directory digest %v", pa.Digest(), pl.Digest())
	}
}

// TestLoadDirAssetSymlinksEscaping: a symlink under an asset directory
// that is absolute, leads out of it (directly, through a chain or through
// a directory link), dangles or loops is refused, naming the entry and its
// target; nothing is written.
func TestLoadDirAssetSymlinksEscaping(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret\n"), 0o644)
	cases := []struct {
		name  string
		links map[string]string
		want  []string
	}{
		{"absolute", map[string]string{"static/pw": outside + "/secret"}, []string{`"static/pw" is a symlink to "` + outside + `/secret"`, "absolute"}},
		{"dot-dot out of the package", map[string]string{"static/x": "../../secret"}, []string{`"static/x" is a symlink to "../../secret"`, `leads out of the asset directory "static"`}},
		{"dot-dot into another asset dir", map[string]string{"static/x": "../app/main.py"}, []string{`"static/x" is a symlink to "../app/main.py"`, "leads out"}},
		{"to the manifest", map[string]string{"static/m": "../wrun.toml"}, []string{`"static/m"`, "leads out"}},
		{"chain that escapes", map[string]string{"static/a": "b", "static/b": "css/../../notes.txt"}, []string{`"static/a" is a symlink to "b"`, "leads out"}},
		{"through an absolute link", map[string]string{"static/a": "sub/x", "static/sub": outside}, []string{`"static/a"`, `goes through "static/sub"`}},
		{"dangling", map[string]string{"static/gone": "nothing-here"}, []string{`"static/gone" is a symlink to "nothing-here"`, "does not exist"}},
		{"loop", map[string]string{"static/l1": "l2", "static/l2": "l1"}, []string{`"static/l1"`, "more than 40 links"}},
		{"directory loop", map[string]string{"static/css/up": ".."}, []string{`"static/css/up" is a symlink to ".."`, "a loop"}},
		{"mutual directory loop", map[string]string{"static/p/to-q": "../q", "static/q/to-p": "../p"}, []string{"a loop"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := pkgDir(t)
			symlinks(t, dir, c.links)
			before := listDir(t, dir)
			_, err := bundle.LoadDir(dir)
			if err == nil || !errors.Is(err, bundle.ErrInvalidPath) {
				t.Fatalf("err = %v, want ErrInvalidPath", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret\n") {
				t.Errorf("the error shows the target's content: %v", err)
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Errorf("LoadDir wrote into the directory: %v", after)
			}
		})
	}
}

// TestLoadDirEmptyDirs: empty directories under an asset tree are left out
// of the package (the content digest has entries for files only) and
// listed, deepest only, by EmptyDirs.
func TestLoadDirEmptyDirs(t *testing.T) {
	dir := pkgDir(t)
	for _, d := range []string{"static/empty", "static/css/none/deeper", "app/cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app/cache", "static/css/none/deeper", "static/empty"}
	if got := p.EmptyDirs(); !slices.Equal(got, want) {
		t.Errorf("EmptyDirs = %q, want %q", got, want)
	}
	plain, err := bundle.LoadDir(pkgDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Digest() != p.Digest() || len(plain.EmptyDirs()) != 0 {
		t.Errorf("empty directories changed the digest (%v, %v) or were listed for a tree without any: %q", p.Digest(), plain.Digest(), plain.EmptyDirs())
	}
}

// Directory links that fan out (four per level, twelve levels, empty at
// the bottom) would walk 4^11 directories without packaging one file: the
// entries walked through directory links are bounded, not only the files.
func TestLoadDirAssetSymlinksFanOut(t *testing.T) {
	defer bundle.SetMaxLinkedEntries(10000)()
	dir := pkgDir(t)
	links := map[string]string{}
	for i := 0; i < 11; i++ {
		for j := 0; j < 4; j++ {
			links[fmt.Sprintf("static/fan/d%d/l%d", i, j)] = fmt.Sprintf("../d%d", i+1)
		}
	}
	symlinks(t, dir, links)
	if err := os.MkdirAll(filepath.Join(dir, "static", "fan", "d11"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := bundle.LoadDir(dir)
	if !errors.Is(err, bundle.ErrTooLarge) || !strings.Contains(err.Error(), "more than 10000 entries") {
		t.Fatalf("err = %v, want ErrTooLarge: directory links expand to more than 10000 entries", err)
	}
}
