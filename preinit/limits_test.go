package preinit_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/preinit"
	"github.com/wrun-dev/wrun/vfs"
)

// TestTimeoutStopsInit: an init that loops forever is stopped by
// Options.Timeout, and by its context's deadline, with an error wrapping
// context.DeadlineExceeded; nothing is cached.
func TestTimeoutStopsInit(t *testing.T) {
	wasm := testenv.GuestBytes(t, "wat/preloop")
	dir := filepath.Join(t.TempDir(), "snapshots")
	began := time.Now()
	_, _, err := preinit.Cached(context.Background(), dir, wasm, "", preinit.Options{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "time limit of 300ms") {
		t.Fatalf("Timeout: got %v, want an error naming the 300ms limit and wrapping context.DeadlineExceeded", err)
	}
	t.Logf("stopped after %s: %v", time.Since(began).Round(time.Millisecond), err)
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("a stopped init left %d cache entries", len(entries))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := preinit.Preinit(ctx, wasm, preinit.Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context deadline: got %v, want an error wrapping context.DeadlineExceeded", err)
	}
}

// TestMaxMemoryStopsInit: an init that grows its memory to 1 GiB under a
// 64 MiB cap fails with ErrMemoryLimit, naming the limit, and nothing is
// cached; without the cap the same init succeeds.
func TestMaxMemoryStopsInit(t *testing.T) {
	wasm := testenv.GuestBytes(t, "wat/pregrow")
	dir := filepath.Join(t.TempDir(), "snapshots")
	_, _, err := preinit.Cached(context.Background(), dir, wasm, "", preinit.Options{MaxMemoryBytes: 64 << 20})
	if !errors.Is(err, preinit.ErrMemoryLimit) || !strings.Contains(err.Error(), "64 MiB") {
		t.Fatalf("got %v, want ErrMemoryLimit naming 64 MiB", err)
	}
	t.Log(err)
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("a refused init left %d cache entries", len(entries))
	}
	out, rep, err := preinit.Preinit(context.Background(), wasm, preinit.Options{MaxMemoryBytes: 2 << 30})
	if err != nil {
		t.Fatalf("under a 2 GiB cap: %v", err)
	}
	if rep.MemoryBytes != 16385<<16 || len(out) > 64<<10 {
		t.Errorf("snapshot of %d bytes memory, %d bytes output; want 16385 pages (1 GiB + 1 page) in a small module", rep.MemoryBytes, len(out))
	}

	// A module whose initial memory is over the cap is refused up front.
	if _, _, err := preinit.Preinit(context.Background(), wasm, preinit.Options{MaxMemoryBytes: 1}); err == nil || !strings.Contains(err.Error(), "at least one 64 KiB page") {
		t.Errorf("a cap under one page: got %v", err)
	}
}

// TestCachedRefusesLargeSnapshot: an output over MaxCachedBytes is returned
// with a warning but not stored.
func TestCachedRefusesLargeSnapshot(t *testing.T) {
	wasm := testenv.GuestBytes(t, "c/preheap")
	dir := filepath.Join(t.TempDir(), "snapshots")
	out, rep, err := preinit.Cached(context.Background(), dir, wasm, "", preinit.Options{MaxCachedBytes: 64 << 10, AllowRandom: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) <= 64<<10 {
		t.Fatalf("output is %d bytes: the guest no longer makes a snapshot over 64 KiB", len(out))
	}
	if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[len(rep.Warnings)-1], "not cached") {
		t.Errorf("warnings %q: want one saying the snapshot was not cached", rep.Warnings)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("the cache holds %d entries, want none", len(entries))
	}
}

// TestFSLimitsBoundInit: an init that writes 4 MiB into a copy-on-write
// overlay is stopped by Options.FSLimits' overlay budget (the root package
// passes a run's defaults); before FSLimits the init's overlays and open
// files had no cap at all.
func TestFSLimitsBoundInit(t *testing.T) {
	wasm := testenv.GuestBytes(t, "c/preflood")
	base, err := vfs.NewMapLayer(map[string]vfs.MapFile{"readme": {Data: []byte("asset\n"), Mode: 0o644}})
	if err != nil {
		t.Fatal(err)
	}
	mounts := func() []vfs.Mount { return []vfs.Mount{{Guest: "/data", FS: vfs.NewCopyOnWriteFS(base)}} }
	if _, _, err := preinit.Preinit(context.Background(), wasm, preinit.Options{Mounts: mounts()}); err != nil {
		t.Fatalf("without a limit the 4 MiB init should run: %v", err)
	}
	_, _, err = preinit.Preinit(context.Background(), wasm, preinit.Options{
		Mounts: mounts(), FSLimits: vfs.Limits{OverlayBytes: 1 << 20},
	})
	if err == nil {
		t.Fatal("an init writing 4 MiB into a 1 MiB overlay budget was pre-initialized")
	}
	t.Log(err)
}
