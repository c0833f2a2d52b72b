package registryclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// pulledIndexPackage publishes and pulls a package of n asset files (and
// its wrun.toml and wasm) and returns the client, the pulled package and
// its cache entry (packages/HEX).
func pulledIndexPackage(t testing.TB, n int) (*Client, *Package, string) {
	files := map[string][]byte{"bin/app.wasm": testenv.GuestBytes(t, "c/hello")}
	for i := range n {
		p := fmt.Sprintf("lib/python3.11/pkg%02d/module_%03d.py", i%40, i)
		files[p] = []byte(p)
	}
	dir := writePackage(t, `
[package]
name = "example:idx"
version = "1.0.0"
kind = "component"
[run]
wasm = "bin/app.wasm"
[[assets]]
from = "lib"
to = "/usr/local/lib"
`, files)
	c, _ := newClient(t, Options{})
	publishDir(t, c, dir)
	r := mustPull(t, c, "example:idx@1.0.0")
	entry := filepath.Join(c.packagesDir(), r.Root.Descriptor.Digest.Encoded())
	return c, r.Root, entry
}

func hexSum(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }

// TestVerifiedIndexHostile: a verified index that is corrupt, hostile or
// lies is never trusted: the package is hashed again, the load gives what
// LoadDir gives, and a good index replaces the bad one. None panics.
func TestVerifiedIndexHostile(t *testing.T) {
	c, first, entry := pulledIndexPackage(t, 30)
	dir := filepath.Join(entry, pkgSubdir)
	idx := filepath.Join(entry, verifiedIndexName)
	full, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.Indexed() {
		t.Error("the first load (the extraction's) is indexed; it must hash every file")
	}
	good, err := os.ReadFile(idx)
	if err != nil {
		t.Fatalf("no verified index after the first pull: %v", err)
	}
	want, _ := formatVerifiedIndex(full.Files())
	if !bytes.Equal(good, want) {
		t.Fatalf("the index written is not the package's:\n%s", good)
	}
	lines := strings.SplitAfter(string(good), "\n")
	header, body := lines[0], lines[1:len(lines)-1]
	join := func(ls ...string) string { return strings.Join(ls, "") }
	line := func(sum string, size, path string) string {
		return fmt.Sprintf("%s %s %d %s\n", sum, size, len(path), path)
	}
	ok := body[0] // a well-formed line of the package
	tenMillion := header + strings.Repeat("0\n", 10_000_000)
	// These are well-formed; bundle.LoadDirIndexed or the digest refuse them.
	parses := map[string]bool{"header only": true, "a sum that lies": true, "a file left out": true,
		"dotdot": true, "absolute": true, "nul": true}
	for _, tc := range []struct{ name, index string }{
		{"empty", ""},
		{"header only", header},
		{"old json", func() string { b, _ := json.Marshal(full.Files()); return string(b) }()},
		{"other version", strings.Replace(string(good), " 1\n", " 2\n", 1)},
		{"bad hex", join(header, "zz"+body[0][2:])},
		{"uppercase hex", join(header, strings.ToUpper(body[0][:64])+body[0][64:])},
		{"short digest", join(header, body[0][2:])},
		{"negative size", join(header, line(hexSum(1), "-1", "x"))},
		{"huge size", join(header, line(hexSum(1), "99999999999999999999", "x"))},
		{"leading zero", join(header, line(hexSum(1), "01", "x"))},
		{"no size", join(header, line(hexSum(1), "", "x"))},
		{"unsorted", join(slices.Concat([]string{header, body[1], body[0]}, body[2:])...)},
		{"duplicate", join(slices.Concat([]string{header, ok}, body)...)},
		{"dotdot", join(header, line(hexSum(1), "1", "../x"), join(body...))},
		{"absolute", join(header, line(hexSum(1), "1", "/etc/passwd"), join(body...))},
		{"reserved", join(slices.Concat([]string{header}, body, []string{line(hexSum(1), "1", ".wrun/x")})...)},
		{"nul", join(header, line(hexSum(1), "1", "a\x00b"), join(body...))},
		{"path length past the end", join(header, hexSum(1)+" 1 99 abc\n")},
		{"path length short", join(header, hexSum(1)+" 1 2 abc\n")},
		{"truncated last line", strings.TrimSuffix(string(good), "\n")},
		{"truncated mid-line", string(good[:len(good)-10])},
		{"trailing garbage", string(good) + "x"},
		{"ten million short lines", tenMillion},
		{"a sum that lies", strings.Replace(string(good), body[len(body)-1][:64], hexSum(7), 1)},
		{"a file left out", strings.Replace(string(good), body[len(body)-1], "", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseVerifiedIndex(tc.index, maxVerifiedEntries); (err == nil) != parses[tc.name] {
				t.Errorf("parse: %v", err)
			}
			if err := os.WriteFile(idx, []byte(tc.index), 0o644); err != nil {
				t.Fatal(err)
			}
			r := mustPull(t, c, "example:idx@1.0.0")
			p := r.Root
			if p.Indexed() {
				t.Error("the bad index was used")
			}
			if p.Digest() != full.Digest() || len(p.Files()) != len(full.Files()) {
				t.Errorf("loaded %s (%d files), LoadDir gives %s (%d files)", p.Digest(), len(p.Files()), full.Digest(), len(full.Files()))
			}
			if got, _ := os.ReadFile(idx); !bytes.Equal(got, good) {
				t.Errorf("the bad index was not replaced:\n%.300s", got)
			}
		})
	}
	// The content digest does not cover sizes, so an index whose only lie
	// is a size is used; the file it lies about is then refused where it
	// is read (its size is checked there), never served.
	t.Run("a size that lies", func(t *testing.T) {
		l := body[1] // a file under lib/
		f := strings.SplitN(l, " ", 4)
		name := strings.TrimSuffix(f[3], "\n")
		lie := strings.Replace(string(good), l, f[0]+" 1"+f[1]+" "+f[2]+" "+f[3], 1)
		if err := os.WriteFile(idx, []byte(lie), 0o644); err != nil {
			t.Fatal(err)
		}
		r := mustPull(t, c, "example:idx@1.0.0")
		if b, err := r.Root.ReadFile(name); !errors.Is(err, bundle.ErrDigestMismatch) {
			t.Errorf("read of %s: %q, %v; want ErrDigestMismatch", name, b, err)
		}
	})
	t.Run("sparse 1 GiB index", func(t *testing.T) {
		if err := os.WriteFile(idx, good, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(idx, 1<<30); err != nil {
			t.Fatal(err)
		}
		if _, err := readVerifiedIndex(idx); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("entry bound", func(t *testing.T) {
		if _, err := parseVerifiedIndex(string(good), len(body)-1); err == nil {
			t.Fatal("an index past its bound accepted")
		}
		if _, err := parseVerifiedIndex(string(good), len(body)); err != nil {
			t.Fatal(err)
		}
	})
	if err := os.WriteFile(idx, good, 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustPull(t, c, "example:idx@1.0.0")
	if !r.Root.Indexed() || r.Root.Digest() != full.Digest() {
		t.Errorf("a good index: indexed %v, digest %s; want indexed, %s", r.Root.Indexed(), r.Root.Digest(), full.Digest())
	}
	// An old verified.json beside it is ignored.
	if b, err := json.Marshal(full.Files()); err == nil {
		os.WriteFile(filepath.Join(entry, "verified.json"), b, 0o644)
	}
	os.Remove(idx)
	if r := mustPull(t, c, "example:idx@1.0.0"); r.Root.Indexed() {
		t.Error("verified.json was used")
	}
	if got, _ := os.ReadFile(idx); !bytes.Equal(got, good) {
		t.Error("no verified.idx written beside an old verified.json")
	}
}

// TestVerifiedIndexLoadLooksAtNoFile: a load through the index looks at
// wrun.toml only, so a deleted or truncated asset file no longer fails the
// load (it fails where it is read: bundle's reads check sizes, the asset
// layer checks at open), while an edited wrun.toml still does.
func TestVerifiedIndexLoadLooksAtNoFile(t *testing.T) {
	c, _, entry := pulledIndexPackage(t, 5)
	dir := filepath.Join(entry, pkgSubdir)
	victim := "lib/python3.11/pkg01/module_001.py"
	host := filepath.Join(dir, filepath.FromSlash(victim))
	if err := os.Truncate(host, 2); err != nil {
		t.Fatal(err)
	}
	r := mustPull(t, c, "example:idx@1.0.0")
	if !r.Root.Indexed() {
		t.Fatal("the index was not used")
	}
	if _, err := r.Root.ReadFile(victim); err == nil || !strings.Contains(err.Error(), "2 bytes") {
		t.Errorf("reading the truncated file: %v, want a size mismatch", err)
	}
}

func benchFiles(n int) []bundle.Entry {
	var out []bundle.Entry
	for i := range n {
		var e bundle.Entry
		e.Path = fmt.Sprintf("lib/python3.11/pkg%02d/module_%04d.py", i%40, i)
		e.Size = int64(1000 + i)
		e.Sum[0], e.Sum[1] = byte(i), byte(i>>8)
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// BenchmarkVerifiedIndexJSON and BenchmarkVerifiedIndexParse decode the
// index of 1,900 files, as verified.json (before) and verified.idx.
func BenchmarkVerifiedIndexJSON(b *testing.B) {
	data, _ := json.Marshal(benchFiles(1900))
	for b.Loop() {
		var es []bundle.Entry
		if err := json.Unmarshal(data, &es); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifiedIndexParse(b *testing.B) {
	data, _ := formatVerifiedIndex(benchFiles(1900))
	s := string(data)
	for b.Loop() {
		if _, err := parseVerifiedIndex(s, maxVerifiedEntries); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadVerified is the warm load of a pulled 1,900-file package:
// read the index, load the package through it.
func BenchmarkLoadVerified(b *testing.B) {
	c, p, entry := pulledIndexPackage(b, 1900)
	ann := map[string]string{AnnotationContentDigest: p.Digest().String()}
	dir, idx := filepath.Join(entry, pkgSubdir), filepath.Join(entry, verifiedIndexName)
	b.ResetTimer()
	for b.Loop() {
		q, err := c.loadVerified(dir, idx, "ref", ann)
		if err != nil || !q.Indexed() {
			b.Fatal(err)
		}
	}
}
