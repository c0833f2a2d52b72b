package preinit_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/preinit"
)

func TestCached(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "snapshots")
	wasm := testenv.GuestBytes(t, "wat/preglobal")

	first, rep, err := preinit.Cached(ctx, dir, wasm, "sha256:aa", preinit.Options{})
	if err != nil || rep.Cached {
		t.Fatalf("first call: cached %v, err %v", rep != nil && rep.Cached, err)
	}
	second, rep, err := preinit.Cached(ctx, dir, wasm, "sha256:aa", preinit.Options{})
	if err != nil || !rep.Cached || !bytes.Equal(first, second) {
		t.Fatalf("second call: cached %v, equal %v, err %v", rep != nil && rep.Cached, bytes.Equal(first, second), err)
	}
	if got := runGuest(t, second, nil); got != "calls=1 started=1 ok s\n" {
		t.Errorf("cached module: got %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != preinit.CacheKey(wasm, "sha256:aa", preinit.Options{})+".wasm" {
		t.Fatalf("cache holds %v, want the one keyed entry", entries)
	}

	// Other inputs or options are other entries.
	if preinit.CacheKey(wasm, "sha256:bb", preinit.Options{}) == preinit.CacheKey(wasm, "sha256:aa", preinit.Options{}) ||
		preinit.CacheKey(wasm, "sha256:aa", preinit.Options{Env: []string{"A=1"}}) == preinit.CacheKey(wasm, "sha256:aa", preinit.Options{}) {
		t.Error("CacheKey ignores inputs or environment")
	}
	if preinit.CacheKey(wasm, "x", preinit.Options{}) != preinit.CacheKey(wasm, "x", preinit.Options{InitFunc: preinit.DefaultInitFunc}) {
		t.Error("CacheKey differs between the default and the explicit default init function")
	}

	// A damaged entry is replaced.
	path := filepath.Join(dir, entries[0].Name())
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	third, rep, err := preinit.Cached(ctx, dir, wasm, "sha256:aa", preinit.Options{})
	if err != nil || rep.Cached || !bytes.Equal(third, first) {
		t.Fatalf("damaged entry: cached %v, err %v", rep != nil && rep.Cached, err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, first) {
		t.Error("the damaged entry was not rewritten")
	}

	// A refusal stores nothing.
	if _, _, err := preinit.Cached(ctx, dir, testenv.GuestBytes(t, "wat/pretrap"), "", preinit.Options{}); err == nil {
		t.Fatal("trapping init: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("cache holds %d entries after a refusal, want 1", len(entries))
	}
}
