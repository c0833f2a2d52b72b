package bundle_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// TestDigestVectors checks the content digest against vectors computed
// with coreutils alone by testdata/bundle/vectors.sh.
func TestDigestVectors(t *testing.T) {
	root := filepath.Join(testenv.Root(), "testdata", "bundle", "digest")
	f, err := os.Open(filepath.Join(root, "VECTORS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		name, want, _ := strings.Cut(sc.Text(), " ")
		got, err := bundle.DigestDir(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Errorf("%s: digest %s, vector %s", name, got, want)
		}
	}
	if n < 4 {
		t.Fatalf("only %d vectors", n)
	}
	// The same rule over explicit entries.
	d, err := bundle.ContentDigest([]bundle.Entry{{Path: "a.txt", Sum: sha256.Sum256([]byte("hello\n"))}})
	if err != nil || d.String() != "sha256:5c5d96f26c9acaa3c9880c08786eef7eeebe3cd37f3b7759940868c7062466d3" {
		t.Fatalf("single: %s, %v", d, err)
	}
	// The empty package: SHA-256 of the empty index.
	if d, _ := bundle.ContentDigest(nil); d.String() != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty: %s", d)
	}
}

func TestDigestText(t *testing.T) {
	d := bundle.SumBytes([]byte("x"))
	b, err := json.Marshal(struct{ D bundle.Digest }{d})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ D bundle.Digest }
	if err := json.Unmarshal(b, &back); err != nil || back.D != d {
		t.Fatalf("%s: %v", b, err)
	}
	for _, bad := range []string{"", "sha256:", "sha512:" + d.Hex(), "sha256:" + strings.ToUpper(d.Hex()), "sha256:" + d.Hex()[1:], "sha256:" + d.Hex() + "0", "sha256:zz" + d.Hex()[2:]} {
		if _, err := bundle.ParseDigest(bad); err == nil {
			t.Errorf("ParseDigest(%q) succeeded", bad)
		}
	}
}

func TestValidatePath(t *testing.T) {
	for _, ok := range []string{"a", "a/b", "dé.txt", ".hidden", "a..b", "..a"} {
		if err := bundle.ValidatePath(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/../b", "a/./b", "/abs", "a/", "a//b", "\xff", strings.Repeat("a", 65536)} {
		if err := bundle.ValidatePath(bad); !errors.Is(err, bundle.ErrInvalidPath) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := bundle.ValidatePath(strings.Repeat("a", 65535)); err != nil {
		t.Error(err)
	}
}

func TestBuildAndOpen(t *testing.T) {
	dir := pkgDir(t)
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range p.Files() {
		paths = append(paths, e.Path)
	}
	want := []string{"app/main.py", "component.wasm", "static/css/a.css", "static/empty.txt", "static/index.html", "wrun.toml"}
	if !slices.Equal(paths, want) {
		t.Fatalf("files %v, want %v", paths, want)
	}
	// The digest is the rule applied to exactly those files.
	if d, _ := bundle.ContentDigest(p.Files()); d != p.Digest() {
		t.Fatal("digest differs from ContentDigest(Files())")
	}
	out := filepath.Join(t.TempDir(), "hello.wrun")
	if err := p.WriteArchiveFile(out); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(out)

	// Reproducible: another copy of the tree, other mtimes and modes.
	dir2 := t.TempDir()
	for _, e := range p.Files() {
		c, _ := os.ReadFile(filepath.Join(dir, e.Path))
		writeTree(t, dir2, map[string]string{e.Path: string(c)})
		os.Chtimes(filepath.Join(dir2, e.Path), time.Unix(1e9, 0), time.Unix(1e9, 0))
		os.Chmod(filepath.Join(dir2, e.Path), 0o600)
	}
	p2, err := bundle.LoadDir(dir2)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p2.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b1) {
		t.Fatal("the same tree gave different bundle bytes")
	}

	// Canonical headers.
	tr := tar.NewReader(bytes.NewReader(b1))
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
		if h.Typeflag != tar.TypeReg || h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
			!h.ModTime.Equal(time.Unix(0, 0)) || h.Format != tar.FormatUSTAR || len(h.PAXRecords) != 0 {
			t.Fatalf("non-canonical header %+v", h)
		}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("archive entries %v", names)
	}

	b, err := bundle.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Digest() != p.Digest() {
		t.Fatalf("bundle digest %s, directory digest %s", b.Digest(), p.Digest())
	}
	if b.Manifest.Package.Name != "example:hello" || len(b.Manifest.Assets) != 2 {
		t.Fatalf("manifest %+v", b.Manifest)
	}
	got, err := b.ReadFile("static/index.html")
	if err != nil || string(got) != "<h1>hi</h1>\n" {
		t.Fatalf("%q, %v", got, err)
	}
	ra, off, size, ok, err := b.FileRange("app/main.py")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	raw := make([]byte, size)
	if _, err := ra.ReadAt(raw, off); err != nil || string(raw) != "print('hello')\n" {
		t.Fatalf("FileRange: %q, %v", raw, err)
	}
	if ra, size, ok := b.Archive(); !ok || size != int64(len(b1)) || ra == nil {
		t.Fatal("Archive of a bundle")
	}
	if d, ok := p.Dir(); !ok || d != dir {
		t.Fatal("Dir of a directory package")
	}
	if _, err := b.Open("notes.txt"); !errors.Is(err, bundle.ErrNotExist) {
		t.Fatalf("Open(notes.txt): %v", err)
	}
	// fs.FS conformance, for the bundle and for the directory package.
	for _, pk := range []*bundle.Package{b, p} {
		if err := fstest.TestFS(pk.FS(), want...); err != nil {
			t.Fatal(err)
		}
	}
	// Seek and ReadAt on an opened bundle file.
	f, err := b.FS().Open("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ra2 := f.(io.ReaderAt)
	two := make([]byte, 2)
	if _, err := ra2.ReadAt(two, 1); err != nil || string(two) != "h1" {
		t.Fatalf("ReadAt: %q %v", two, err)
	}
}

// TestOpenDetectsChange shows that a file changed after loading fails
// verification when read.
func TestOpenDetectsChange(t *testing.T) {
	dir := pkgDir(t)
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "app", "main.py"), []byte("print('HELLO')\n"), 0o644)
	if _, err := p.ReadFile("app/main.py"); !errors.Is(err, bundle.ErrDigestMismatch) {
		t.Fatalf("ReadFile after change: %v", err)
	}
	out := filepath.Join(t.TempDir(), "x.wrun")
	if err := p.WriteArchiveFile(out); !errors.Is(err, bundle.ErrDigestMismatch) {
		t.Fatalf("WriteArchiveFile after change: %v", err)
	}
	if l := listDir(t, filepath.Dir(out)); len(l) != 1 {
		t.Fatalf("left behind: %v", l)
	}
}

func TestLoadDirErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(dir string)
		want  string
		is    error
	}{
		{"missing wasm", func(d string) { os.Remove(filepath.Join(d, "component.wasm")) }, `run.wasm "component.wasm": file named by the manifest is missing`, bundle.ErrMissingFile},
		{"missing asset dir", func(d string) { os.RemoveAll(filepath.Join(d, "app")) }, `assets[1].from "app": file named by the manifest is missing`, bundle.ErrMissingFile},
		{"empty asset dir", func(d string) { os.RemoveAll(filepath.Join(d, "app")); os.Mkdir(filepath.Join(d, "app"), 0o755) }, "the directory is empty", bundle.ErrMissingFile},
		{"no manifest", func(d string) { os.Remove(filepath.Join(d, "wrun.toml")) }, "needs wrun.toml at its root", bundle.ErrMissingFile},
		{"bad manifest", func(d string) { os.WriteFile(filepath.Join(d, "wrun.toml"), []byte("[package]\nkind = 1\n"), 0o644) }, "wrun.toml:2: package.kind", bundle.ErrInvalidManifest},
		{"asset is a file", func(d string) {
			os.RemoveAll(filepath.Join(d, "app"))
			os.WriteFile(filepath.Join(d, "app"), nil, 0o644)
		}, `assets[1].from "app" is a regular file; give a directory`, nil},
		{"symlink asset", func(d string) { os.Symlink("/etc/passwd", filepath.Join(d, "static", "passwd")) }, `"static/passwd" is a symlink`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := pkgDir(t)
			c.setup(dir)
			before := listDir(t, dir)
			_, err := bundle.LoadDir(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Fatalf("LoadDir wrote into the directory: %v", after)
			}
			t.Log(err)
		})
	}
}

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	hdr  tar.Header
	data string
}

func reg(name, data string) tarEntry {
	return tarEntry{tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o644, ModTime: time.Unix(0, 0)}, data}
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, e.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const tinyManifest = "[package]\nname = \"example:tiny\"\nversion = \"1.0.0\"\n\n[run]\nwasm = \"component.wasm\"\n\n[[assets]]\nfrom = \"static\"\nto = \"/static\"\n"

func TestOpenArchiveErrors(t *testing.T) {
	wasm := "\x00asm\x01\x00\x00\x00"
	good := []tarEntry{reg("component.wasm", wasm), reg("static/a.txt", "aaaa"), reg("wrun.toml", tinyManifest)}
	if _, err := bundle.OpenArchive(bytes.NewReader(makeTar(t, good...)), int64(len(makeTar(t, good...))), "good.wrun", bundle.Options{}); err != nil {
		t.Fatalf("good archive: %v", err)
	}
	with := func(extra ...tarEntry) []byte { return makeTar(t, append(append([]tarEntry{}, good...), extra...)...) }
	link := reg("static/link", "")
	link.hdr.Typeflag, link.hdr.Linkname = tar.TypeSymlink, "/etc/passwd"
	dirEnt := reg("static/", "")
	dirEnt.hdr.Typeflag = tar.TypeDir
	full := makeTar(t, good...)

	// A file larger than its header says: write 4 bytes of content but
	// patch the header to say 2.
	larger := makeTar(t, reg("static/a.txt", "aaaa"), reg("component.wasm", wasm), reg("wrun.toml", tinyManifest))
	patchSize(larger, 0, 2)
	// …and by more than the padding: 600 bytes declared as 2.
	largerBlock := makeTar(t, reg("static/a.txt", strings.Repeat("a", 600)), reg("component.wasm", wasm), reg("wrun.toml", tinyManifest))
	patchSize(largerBlock, 0, 2)

	cases := []struct {
		name string
		data []byte
		want string
		is   []error
	}{
		{"dotdot", with(reg("../evil", "x")), `"../evil": ".." segment`, []error{bundle.ErrInvalidArchive, bundle.ErrInvalidPath}},
		{"nested dotdot", with(reg("static/../../evil", "x")), `".." segment`, []error{bundle.ErrInvalidArchive, bundle.ErrInvalidPath}},
		{"absolute", with(reg("/etc/passwd", "x")), "absolute", []error{bundle.ErrInvalidArchive, bundle.ErrInvalidPath}},
		{"symlink", with(link), `entry "static/link" is a link (to "/etc/passwd")`, []error{bundle.ErrInvalidArchive}},
		{"directory", with(dirEnt), "is a directory", []error{bundle.ErrInvalidArchive}},
		{"duplicate", with(reg("static/a.txt", "bbbb")), `entry "static/a.txt" appears twice`, []error{bundle.ErrInvalidArchive}},
		{"invalid utf8", with(reg("static/\xff.txt", "x")), "not valid UTF-8", []error{bundle.ErrInvalidArchive, bundle.ErrInvalidPath}},
		{"truncated inside", full[:512+300], "truncated", []error{bundle.ErrInvalidArchive}},
		{"truncated header", full[:700], "truncated", []error{bundle.ErrInvalidArchive}},
		{"truncated at boundary", full[:len(full)-1024], "without its end-of-archive marker", []error{bundle.ErrInvalidArchive}},
		{"empty", nil, "the file is empty (0 bytes); a bundle (.wrun) is a tar archive", []error{bundle.ErrInvalidArchive}},
		{"larger than header", larger, `entry "static/a.txt": non-zero byte 0x61 at byte 514 after its 2 declared bytes (a file larger than its header says)`, []error{bundle.ErrInvalidArchive}},
		{"larger than header by a block", largerBlock, "a file larger than its header says", []error{bundle.ErrInvalidArchive}},
		{"declared past end", patchSize(bytes.Clone(full), 0, 1<<30), "declares 1073741824 bytes but", []error{bundle.ErrInvalidArchive}},
		{"missing wasm", makeTar(t, reg("static/a.txt", "a"), reg("wrun.toml", tinyManifest)), `run.wasm "component.wasm" is not in the bundle`, []error{bundle.ErrMissingFile}},
		{"missing asset", makeTar(t, reg("component.wasm", wasm), reg("wrun.toml", tinyManifest)), `assets[0].from "static" has no files`, []error{bundle.ErrMissingFile}},
		{"no manifest", makeTar(t, reg("component.wasm", wasm)), "no wrun.toml", []error{bundle.ErrMissingFile}},
		{"unnamed file", with(reg("extra.txt", "x")), `entry "extra.txt" is not named by wrun.toml`, []error{bundle.ErrInvalidArchive}},
		{"unknown reserved", with(reg(".wrun/other", "x")), "unknown entry", []error{bundle.ErrInvalidArchive}},
		{"half signature", with(reg(".wrun/release.sig", "x")), "needs both", []error{bundle.ErrInvalidArchive}},
		{"bad manifest", makeTar(t, reg("wrun.toml", "[run]\nwasm = 1\n")), "wrun.toml:2: run.wasm", []error{bundle.ErrInvalidManifest}},
		{"trailing garbage", append(bytes.Clone(full), "garbage"...), "data after the end-of-archive marker", []error{bundle.ErrInvalidArchive}},
		{"not a tar", bytes.Repeat([]byte("not a tar "), 200), "not a tar archive", []error{bundle.ErrInvalidArchive}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bad.wrun")
			os.WriteFile(path, c.data, 0o644)
			_, err := bundle.OpenFile(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			for _, is := range c.is {
				if !errors.Is(err, is) {
					t.Fatalf("err = %v, not %v", err, is)
				}
			}
			if l := listDir(t, dir); len(l) != 2 {
				t.Fatalf("something was written: %v", l)
			}
			t.Log(err)
		})
	}

	// The size limit.
	_, err := bundle.OpenArchive(bytes.NewReader(full), int64(len(full)), "big.wrun", bundle.Options{MaxSize: 10})
	if !errors.Is(err, bundle.ErrTooLarge) {
		t.Fatalf("MaxSize: %v", err)
	}
}

// patchSize rewrites the size field of the header at byte off (and its
// checksum).
func patchSize(b []byte, off int, size int64) []byte {
	h := b[off : off+512]
	copy(h[124:136], []byte(strings.Repeat("0", 0)+octal(size, 11)+"\x00"))
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], []byte(octal(sum, 6)+"\x00 "))
	return b
}

func octal(v int64, width int) string {
	s := []byte(strings.Repeat("0", width))
	for i := width - 1; i >= 0 && v > 0; i-- {
		s[i] = byte('0' + v%8)
		v /= 8
	}
	return string(s)
}

func TestSignVerify(t *testing.T) {
	dir := pkgDir(t)
	priv, pub, err := bundle.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := bundle.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	unsignedDigest := p.Digest()
	if err := bundle.Sign(p, key); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "signed.wrun")
	if err := p.WriteArchiveFile(out); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Signature == nil || b.Digest() != unsignedDigest {
		t.Fatalf("signature %v, digest %s (unsigned %s)", b.Signature, b.Digest(), unsignedDigest)
	}
	if !strings.Contains(string(b.Signature.Release), `"contentDigest":"`+unsignedDigest.String()+`"`) {
		t.Fatalf("release manifest %s", b.Signature.Release)
	}

	trust := bundle.TrustStore{Dir: t.TempDir()}
	// No trusted keys: signed and unsigned both pass, unverified.
	if v, err := bundle.Verify(b, trust); err != nil || v.Verified || !v.Signed {
		t.Fatalf("no keys: %+v %v", v, err)
	}
	if _, err := trust.Trust("example", pub); err != nil {
		t.Fatal(err)
	}
	if v, err := bundle.Verify(b, trust); err != nil || !v.Verified {
		t.Fatalf("trusted: %+v %v", v, err)
	}
	// Unsigned, with trusted keys: refused.
	if _, err := bundle.Verify(p2(t, dir), trust); !errors.Is(err, bundle.ErrUnsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	// Another key: refused.
	_, otherPub, _ := bundle.GenerateKey()
	other := bundle.TrustStore{Dir: t.TempDir()}
	other.Trust("example", otherPub)
	if _, err := bundle.Verify(b, other); !errors.Is(err, bundle.ErrSignatureInvalid) {
		t.Fatalf("wrong key: %v", err)
	}
	// Content changed after signing: the digest no longer matches.
	writeTree(t, dir, map[string]string{"app/main.py": "print('changed')\n"})
	changed, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	changed.Signature = b.Signature
	if _, err := bundle.Verify(changed, trust); !errors.Is(err, bundle.ErrDigestMismatch) {
		t.Fatalf("changed content: %v", err)
	}
	// A corrupted signature.
	bad := *b.Signature
	bad.Sig = bytes.Clone(bad.Sig)
	bad.Sig[0] ^= 1
	b.Signature = &bad
	if _, err := bundle.Verify(b, trust); !errors.Is(err, bundle.ErrSignatureInvalid) {
		t.Fatalf("corrupted signature: %v", err)
	} else {
		t.Log(err)
	}
}

func p2(t *testing.T, dir string) *bundle.Package {
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzOpenArchive checks that the archive reader never panics, never reads
// past its limit and either fails with ErrInvalidArchive-family errors or
// yields a package whose files verify.
func FuzzOpenArchive(f *testing.F) {
	wasm := "\x00asm\x01\x00\x00\x00"
	good := makeTar(f, reg("component.wasm", wasm), reg("static/a.txt", "aaaa"), reg("wrun.toml", tinyManifest))
	f.Add(good)
	f.Add(good[:700])
	f.Add(makeTar(f, reg("wrun.toml", "[package]\nkind = \"assets\"\n")))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := bundle.OpenArchive(bytes.NewReader(b), int64(len(b)), "fuzz.wrun", bundle.Options{MaxSize: 1 << 20})
		if err != nil {
			return
		}
		for _, e := range p.Files() {
			if _, err := p.ReadFile(e.Path); err != nil {
				t.Fatalf("%s: %v", e.Path, err)
			}
		}
		var buf bytes.Buffer
		if err := p.WriteArchive(&buf); err != nil {
			t.Fatal(err)
		}
		q, err := bundle.OpenArchive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "again.wrun", bundle.Options{})
		if err != nil || q.Digest() != p.Digest() {
			t.Fatalf("rewritten archive: %v", err)
		}
	})
}

// TestArchivePAXPaths: a path ustar cannot hold (non-ASCII, or longer than
// its name and prefix fields) gets one PAX path record and nothing else,
// and reads back.
func TestArchivePAXPaths(t *testing.T) {
	dir := t.TempDir()
	long := "static/" + strings.Repeat("d/", 150) + "long.txt"
	writeTree(t, dir, map[string]string{
		"wrun.toml":     "[[assets]]\nfrom = \"static\"\nto = \"/static\"\n",
		"static/dé.txt": "café\n",
		long:            "long\n",
	})
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for k := range h.PAXRecords {
			if k != "path" {
				t.Fatalf("%s: PAX record %q", h.Name, k)
			}
		}
		if h.Name != "wrun.toml" && len(h.PAXRecords) != 1 {
			t.Fatalf("%s: PAX records %v", h.Name, h.PAXRecords)
		}
	}
	b, err := bundle.OpenArchive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "pax.wrun", bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Digest() != p.Digest() {
		t.Fatal("digest changed")
	}
	if c, err := b.ReadFile("static/dé.txt"); err != nil || string(c) != "café\n" {
		t.Fatalf("%q %v", c, err)
	}
	var again bytes.Buffer
	b.WriteArchive(&again)
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Fatal("not reproducible")
	}
}

// A valid path is checked without allocating: LoadDirIndexed checks every
// path of an index (1,300 for CPython's runtime) on each warm load, and
// used to carry its own copy of the rules for that.
func TestValidatePathNoAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { bundle.ValidatePath("lib/python3.11/json/decoder.py") }); n != 0 {
		t.Errorf("ValidatePath of a valid path: %v allocations", n)
	}
}
