package wasi_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/wasi"
)

// confBudget is the size of /tmp and of the overlays' shared budget in the
// conformance run: the guest writes 2 MiB to each and expects ENOSPC.
const confBudget = 1 << 20

// confWorld builds the filesystem wasiconf expects (see
// testdata/c/wasiconf.c and wasi/testdata/wasiconf.md): one mount of each
// kind, /dev, and the routing root, each its own preopen.
func confWorld(t *testing.T) wasi.Config {
	t.Helper()
	base := t.TempDir()
	hostDir := filepath.Join(base, "host")
	ovDir := filepath.Join(base, "overlay")
	for _, d := range []string{hostDir, ovDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	host, err := vfs.Host(hostDir, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.(interface{ Close() error }).Close() })
	ovl, err := vfs.NewDirLayer(ovDir)
	if err != nil {
		t.Fatal(err)
	}
	// A package's [[assets]] from a bundle: the bundle's fs.FS adapted by
	// wazero (registryclient.Package.FS, as the root package's assetLayer
	// does) behind a copy-on-write overlay (as Program mounts it).
	// The asset directory is empty so that every mount starts the same.
	bundle := fstest.MapFS{"assets": {Mode: fs.ModeDir | 0o755}, "other/README": {Data: []byte("not an asset\n")}}
	pkgAssets := &sysfs.AdaptFS{FS: mustSub(t, bundle, "assets")}
	mounts := []vfs.Mount{
		{Guest: "/mnt/host", FS: host},
		{Guest: "/mnt/overlay", FS: vfs.NewCopyOnWriteFS(ovl)},
		{Guest: "/tmp", FS: vfs.NewMemFS(confBudget)},
		{Guest: "/pkg", FS: vfs.NewCopyOnWriteFS(pkgAssets)},
		{Guest: "/dev", FS: vfs.NewDevFS()},
	}
	root, err := vfs.Limits{OverlayBytes: confBudget}.NewMountFS(mounts)
	if err != nil {
		t.Fatal(err)
	}
	stdinPath := filepath.Join(base, "stdin")
	if err := os.WriteFile(stdinPath, []byte("stdin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin, err := os.Open(stdinPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	stdout, err := os.Create(filepath.Join(base, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdout.Close() })
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devNull.Close() })
	return wasi.Config{
		FS:       root,
		Preopens: []string{"/mnt/host", "/mnt/overlay", "/tmp", "/pkg", "/dev", "/"},
		Stdin:    stdin,
		Stdout:   stdout,
		Stderr:   devNull,
	}
}

func mustSub(t *testing.T, fsys fs.FS, dir string) fs.FS {
	t.Helper()
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestConformance runs the wasiconf guest on each mount kind through wrun's
// WASI layer and compares its transcript with the hand-written Linux /
// wasmtime expectation in testdata/wasiconf.golden (sources in
// testdata/wasiconf.md).
func TestConformance(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "wasiconf.golden"))
	if err != nil {
		t.Fatal(err)
	}
	bin := testenv.GuestBytes(t, "c/wasiconf")
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := wasi.Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	compiled, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/mnt/host", "/mnt/overlay", "/tmp", "/pkg"} {
		t.Run(strings.TrimPrefix(strings.ReplaceAll(dir, "/", "_"), "_"), func(t *testing.T) {
			c := confWorld(t)
			mod, err := r.InstantiateModule(wasi.WithConfig(ctx, c), compiled,
				wazero.NewModuleConfig().WithName("").WithArgs("wasiconf", dir))
			if mod != nil {
				_ = mod.Close(ctx)
			}
			out, rerr := os.ReadFile(c.Stdout.(*os.File).Name())
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err != nil {
				t.Errorf("wasiconf %s: %v", dir, err)
			}
			if d := lineDiff(string(golden), string(out)); d != "" {
				t.Errorf("wasiconf %s differs from testdata/wasiconf.golden (- want, + got):\n%s", dir, d)
			}
		})
	}
}

// lineDiff lists the lines of got that differ from want, aligned by a
// longest common subsequence; "" when equal.
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			sb.WriteString("+ " + b[j] + "\n")
			j++
		default:
			sb.WriteString("- " + a[i] + "\n")
			i++
		}
	}
	return sb.String()
}
