package registryclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPublishCleansIngest: a publish killed (kill -9) while oras-go wrote
// a blob leaves store/ingest/HEX_RANDOM; the next publish removes it. A
// file written to just now (another tool may be writing it) stays.
func TestPublishCleansIngest(t *testing.T) {
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data})
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	ingest := filepath.Join(h.Store(), "ingest")
	if err := os.MkdirAll(ingest, 0o755); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(ingest, strings.Repeat("ab", 32)+"_1234567")
	fresh := filepath.Join(ingest, strings.Repeat("cd", 32)+"_7654321")
	for _, p := range []string{orphan, fresh} {
		if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	c, _ = newClient(t, Options{Home: h.Data})
	publishDir(t, c, plainPackage(t, "example:hello", "1.1.0"))
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the killed publish's ingest file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh ingest file was removed: %v", err)
	}
}
