package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	if err := WriteBytes(name, 0o640, []byte("one")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Write(name, 0o640, func(w io.Writer) error { w.Write([]byte("tw")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	b, _ := os.ReadFile(name)
	fi, _ := os.Stat(name)
	ents, _ := os.ReadDir(dir)
	if string(b) != "one" || fi.Mode().Perm() != 0o640 || len(ents) != 1 {
		t.Fatalf("content %q, mode %v, %d entries: a failed write must leave the old file and no temp file", b, fi.Mode(), len(ents))
	}
}
