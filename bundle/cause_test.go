package bundle_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
)

var errDisk = errors.New("simulated I/O error")

// failingReaderAt fails every read that reaches byte from.
type failingReaderAt struct {
	b    []byte
	from int64
}

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.from {
		return 0, errDisk
	}
	return bytes.NewReader(f.b).ReadAt(p, off)
}

// TestOpenArchiveKeepsCause: an I/O error while reading a bundle comes out
// as ErrInvalidArchive and as itself, so a caller can tell a full or
// failing disk from a malformed bundle.
func TestOpenArchiveKeepsCause(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"wrun.toml":    "[[assets]]\nfrom = \"static\"\nto = \"/static\"\n",
		"static/a.txt": strings.Repeat("a", 4096),
	})
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	for _, from := range []int64{0, 1500, int64(buf.Len()) - 600} {
		ra := failingReaderAt{b: buf.Bytes(), from: from}
		_, err := bundle.OpenArchive(ra, int64(buf.Len()), "x.wrun", bundle.Options{})
		if !errors.Is(err, errDisk) {
			t.Errorf("read failing at byte %d: err = %v, want it to wrap the I/O error", from, err)
		}
		if err != nil && !errors.Is(err, bundle.ErrInvalidArchive) && !strings.Contains(err.Error(), "x.wrun") {
			t.Errorf("read failing at byte %d: err = %v does not name the bundle", from, err)
		}
	}
}

// TestVerifyKeepsCause: a release manifest that is not JSON is
// ErrSignatureInvalid and keeps the JSON error.
func TestVerifyKeepsCause(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"wrun.toml":    "[package]\nname = \"example:x\"\n[[assets]]\nfrom = \"static\"\nto = \"/static\"\n",
		"static/a.txt": "a",
	})
	p, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Signature = &bundle.Signature{Release: []byte("{not json"), Sig: make([]byte, 64)}
	_, err = bundle.Verify(p, bundle.TrustStore{Dir: t.TempDir()})
	var se *json.SyntaxError
	if !errors.Is(err, bundle.ErrSignatureInvalid) || !errors.As(err, &se) {
		t.Fatalf("err = %v, want ErrSignatureInvalid wrapping the *json.SyntaxError", err)
	}
}

var _ io.ReaderAt = failingReaderAt{}
