package registryclient

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FuzzExtract feeds arbitrary layer paths and tar bytes to the extraction
// of a wrun artifact (checkLayerPath, linkBlob, untarTo) and checks what
// any input may do: write only inside the package directory, never under
// .wrun/, never anything but regular files and directories, and never
// change a blob in the cache it links from.
//
//	go test ./registryclient -run XXX -fuzz FuzzExtract -fuzztime 2m
func FuzzExtract(f *testing.F) {
	f.Add("component.wasm", "", tarOf(f, map[string][]byte{"data/a.txt": []byte("a")}))
	f.Add(".wrun/pull.json", "data", tarOf(f, map[string][]byte{"a.txt": []byte("a")}))
	f.Add("x", ".wrun", tarOf(f, map[string][]byte{"verified.json": []byte("[]")}))
	f.Add("x", "", tarOf(f, map[string][]byte{".wrun/verified.json": []byte("[]"), "../up": nil}))
	f.Add("data", "", tarOf(f, map[string][]byte{"data/a": nil, "data/a/b": nil}))
	f.Add(".WRUN/x", "", tarOf(f, map[string][]byte{"component.wasm": []byte("dup")}))
	f.Add("a/b", "a", tarOf(f, map[string][]byte{"b/c": nil}))
	f.Add("component.wasm", "data", sparseTar(1<<20))

	home := testHome(f)
	c, err := New(Options{Home: home.Data})
	if err != nil {
		f.Fatal(err)
	}
	blob := []byte("\x00asm\x01\x00\x00\x00 a blob another package uses")
	desc := ocispec.Descriptor{MediaType: MediaTypeWasm, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	if err := c.cache.Push(context.Background(), desc, bytes.NewReader(blob)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, linkPath, sub string, tarBytes []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, pkgSubdir)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		l := desc
		l.Annotations = map[string]string{AnnotationPath: linkPath}
		if checkLayerPath(l) == nil {
			_ = c.linkBlob(context.Background(), l, filepath.Join(dir, filepath.FromSlash(linkPath)))
		}
		tl := ocispec.Descriptor{MediaType: MediaTypeFilesTar, Annotations: map[string]string{AnnotationPath: sub}}
		if checkLayerPath(tl) == nil {
			_ = untarTo(bytes.NewReader(tarBytes), dir, sub, "layer", int64(len(tarBytes)))
		}
		// The state files beside dir are written as extract writes them.
		if err := createFile(filepath.Join(root, pullRecordName), []byte("{}")); err != nil {
			t.Fatalf("pull record: %v", err)
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			switch {
			case rel == "." || rel == pkgSubdir || rel == pullRecordName:
				return nil
			case !strings.HasPrefix(rel, pkgSubdir+"/"):
				t.Errorf("extraction wrote %q outside the package directory", rel)
			case reservedPath(strings.TrimPrefix(rel, pkgSubdir+"/")):
				t.Errorf("extraction wrote %q under .wrun/", rel)
			case !d.IsDir() && !d.Type().IsRegular():
				t.Errorf("extraction made %q, a %v", rel, d.Type())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil && fi.Sys() != nil {
					size += fi.Size()
				}
			}
			return nil
		})
		if size > int64(len(tarBytes)+len(blob)) {
			t.Errorf("extraction wrote %d bytes from a %d-byte tar", size, len(tarBytes))
		}
		if got, err := os.ReadFile(c.cache.path(desc.Digest)); err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("the cached blob changed: %q, %v", got, err)
		}
	})
}

// ustarBlock is a hand-made ustar header block (archive/tar's Writer will
// not write the sparse PAX records a hostile tar carries).
func ustarBlock(name string, typ byte, size int) []byte {
	b := make([]byte, 512)
	copy(b[0:], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	for i := 148; i < 156; i++ {
		b[i] = ' '
	}
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func padBlock(b []byte) []byte {
	return append(b, make([]byte, (512-len(b)%512)%512)...)
}

// sparseTar is a 2 KiB tar whose one regular entry expands to realsize
// bytes (PAX GNU sparse 1.0: all holes but the last byte).
func sparseTar(realsize int64) []byte {
	rec := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		n := len(s) + 1
		for len(strconv.Itoa(n))+len(s) != n {
			n++
		}
		return strconv.Itoa(n) + s
	}
	pax := rec("GNU.sparse.major", "1") + rec("GNU.sparse.minor", "0") + rec("GNU.sparse.name", "big.bin") + rec("GNU.sparse.realsize", strconv.FormatInt(realsize, 10))
	data := append(padBlock([]byte(fmt.Sprintf("1\n%d\n1\n", realsize-1))), 'x')
	var out []byte
	out = append(out, ustarBlock("PaxHeaders/big.bin", 'x', len(pax))...)
	out = append(out, padBlock([]byte(pax))...)
	out = append(out, ustarBlock("GNUSparseFile.0/big.bin", '0', len(data))...)
	out = append(out, padBlock(data)...)
	return append(out, make([]byte, 1024)...)
}

// TestUntarSparseBomb: found while fuzzing extraction. A 3 KiB layer
// whose tar entry is a regular file with sparse PAX records expands to
// 1 GiB on disk; it is refused, and nothing is written.
func TestUntarSparseBomb(t *testing.T) {
	bomb := sparseTar(1 << 30)
	tr := tar.NewReader(bytes.NewReader(bomb))
	h, err := tr.Next()
	if err != nil || h.Typeflag != tar.TypeReg || h.Size != 1<<30 {
		t.Fatalf("the bomb is not a 1 GiB regular entry to archive/tar: %+v %v", h, err)
	}
	dir := t.TempDir()
	err = untarTo(bytes.NewReader(bomb), dir, "data", "layer", int64(len(bomb)))
	if err == nil || !strings.Contains(err.Error(), "sparse") {
		t.Fatalf("untar of a sparse bomb = %v, want a refusal", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "data")); len(ents) != 0 {
		t.Fatalf("wrote %v", ents)
	}
	// Without the sparse records, a size past the layer's is refused too.
	big := tarOf(t, map[string][]byte{"a": make([]byte, 4096)})
	if err := untarTo(bytes.NewReader(big), t.TempDir(), "", "layer", 1000); err == nil {
		t.Fatal("an entry larger than the layer was written")
	}
}
