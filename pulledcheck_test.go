package wrun_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// TestPulledAssetCheckedAtOpen: a pulled package's files are served from
// its verified index, not walked on each load; a file of the extracted
// package that no longer has its verified size (damaged in the cache after
// its first load) fails the guest's open with EIO, and its siblings still
// read. The warm load used to stat every file up front, so this pins that
// moving the check to open time kept it.
func TestPulledAssetCheckedAtOpen(t *testing.T) {
	ctx := context.Background()
	home := publishedHome(t, writePkg(t, `[package]
name = "test:catpkg"
version = "1.0.0"
kind = "module"
[run]
wasm = "cat.wasm"
[[assets]]
from = "data"
to = "/data"
`, map[string][]byte{
		"cat.wasm":     testenv.GuestBytes(t, "c/cat"),
		"data/a.txt":   []byte("alpha\n"),
		"data/d/b.txt": []byte("beta\n"),
	}))

	run := func(args ...string) (string, error) {
		rt, err := wrun.New(ctx, wrun.NewConfig().WithHome(home))
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		p, err := rt.Load(ctx, "test:catpkg@1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		var out bytes.Buffer
		err = p.Run(ctx, wrun.NewRunConfig().WithArgs(args...).WithStdout(&out).WithStderr(&out))
		return out.String(), err
	}
	// First load: pulled, hashed, index written. Second: from the index.
	for range 2 {
		if got, err := run("/data/a.txt", "/data/d/b.txt", "/data/", "/data/d/"); err != nil || got != "alpha\nbeta\n/data/a.txt\n/data/d\n/data/d/b.txt\n" {
			t.Fatalf("intact package: %v\n%s", err, got)
		}
	}

	damaged, err := filepath.Glob(filepath.Join(home, "*", "packages", "*", "pkg", "data", "a.txt"))
	if err != nil || len(damaged) != 1 {
		damaged, _ = filepath.Glob(filepath.Join(home, "*", "*", "packages", "*", "pkg", "data", "a.txt"))
	}
	if len(damaged) != 1 {
		t.Fatalf("extracted data/a.txt not found under %s (%v)", home, damaged)
	}
	if err := os.Chmod(damaged[0], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(damaged[0], 2); err != nil {
		t.Fatal(err)
	}
	got, err := run("/data/a.txt")
	if err == nil || !strings.Contains(got, "open /data/a.txt: I/O error") {
		t.Errorf("damaged file: err %v, output %q; want the open to fail with EIO", err, got)
	}
	if got, err := run("/data/d/b.txt"); err != nil || got != "beta\n" {
		t.Errorf("sibling of a damaged file: %v, %q", err, got)
	}
}
