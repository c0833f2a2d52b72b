package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// TestRemoveStale: a temporary file left by a killed writer (unlocked,
// older than StaleAfter) is removed by the next write of the same target;
// a young one, one a live writer holds, and those of other targets stay.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.wrun")
	old := time.Now().Add(-2 * StaleAfter)
	mk := func(n string, age time.Time) string {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, make([]byte, 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, age, age)
		return p
	}
	stale := mk(".out.wrun.tmp-123456", old)
	young := mk(".out.wrun.tmp-234567", time.Now())
	other := mk(".other.wrun.tmp-345678", old)
	held := mk(".out.wrun.tmp-456789", old)
	h, err := os.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lock(h) // a writer still at work

	if err := WriteBytes(name, 0o644, []byte("new")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, young: true, other: true, held: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
