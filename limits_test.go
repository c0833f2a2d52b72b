package wrun_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/preinit"
)

// preinitDir writes a package directory whose wasm is the guest name and
// whose wrun.toml has [preinit].
func preinitDir(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "component.wasm"), testenv.GuestBytes(t, name), 0o644)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(`[package]
name = "test:limits"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
[preinit]
init = "wizer.initialize"
`), 0o644)
	return dir
}

// Config.WithPreinitLimits bounds the pre-initialization Load runs: an init
// that loops is stopped (even with CloseOnContextDone off for runs), an init
// that grows past the cap is refused, and neither leaves a snapshot.
func TestLoadPreinitLimits(t *testing.T) {
	home := t.TempDir()
	t.Setenv("WRUN_HOME", home)
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithPreinitLimits(500*time.Millisecond, 1024))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)

	if _, err := rt.Load(ctx, preinitDir(t, "wat/preloop")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("looping init: got %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if _, err := rt.Load(ctx, preinitDir(t, "wat/pregrow")); !errors.Is(err, preinit.ErrMemoryLimit) {
		t.Fatalf("init growing to 1 GiB under a 64 MiB cap: got %v, want preinit.ErrMemoryLimit", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(home, "cache", "preinit")); len(ents) > 0 {
		t.Errorf("failed inits left %d snapshots", len(ents))
	}
}
