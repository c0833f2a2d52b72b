package wasi_test

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	wsys "github.com/tetratelabs/wazero/sys"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/wasi"
)

// BenchmarkRWLoop: 100,000 rounds of fd_write + fd_read on a file of a
// host mount, through wrun's layer and through wazero's own WASI, both
// over the same vfs mount table.
func BenchmarkRWLoop(b *testing.B) {
	ctx := context.Background()
	wasm := testenv.GuestBytes(b, "c/rwloop")
	for _, own := range []bool{false, true} {
		name := "wazero"
		if own {
			name = "wrun"
		}
		b.Run(name, func(b *testing.B) {
			rt := newRuntime(b, own)
			cm, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			h, err := vfs.Host(dir, false)
			if err != nil {
				b.Fatal(err)
			}
			fsys, err := vfs.NewMountFS([]vfs.Mount{{Guest: "/m", FS: h}})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				mc := wazero.NewModuleConfig().WithName("").WithArgs("rwloop", "/m/f", "100000")
				c := ctx
				if own {
					c = wasi.WithConfig(ctx, wasi.Config{FS: fsys, Preopens: []string{"/m"}})
				} else {
					mc = mc.WithFSConfig(wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(fsys, "/"))
				}
				mod, err := rt.InstantiateModule(c, cm, mc)
				if mod != nil {
					mod.Close(ctx)
				}
				if ee, ok := err.(*wsys.ExitError); err != nil && !(ok && ee.ExitCode() == 0) {
					b.Fatal(err)
				}
			}
		})
	}
}
