// Package wasibench measures wrun's WASI preview 1 layer (package wasi)
// against wazero's own WASI host functions on the same vfs mounts, in the
// same process: `make bench BENCH=wasi`.
package wasibench_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/vfs"
	"github.com/wrun-dev/wrun/wasi"
)

// fixture writes the files the guests read: one 64 MiB file and 1,000
// small ones, the vfs benchmark's two cases.
func fixture(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		b.Fatal(err)
	}
	small := filepath.Join(dir, "small")
	if err := os.Mkdir(small, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if err := os.WriteFile(filepath.Join(small, fmt.Sprintf("%05d", i)), []byte("small file\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkWASI runs each guest once per iteration with the fixture
// mounted read-write at /data, through wrun's layer ("wrun") and through
// wazero's wasi_snapshot_preview1 ("wazero") over the same vfs mount table.
func BenchmarkWASI(b *testing.B) {
	ctx := context.Background()
	dir := fixture(b)
	cases := []struct {
		name, guest string
		args        []string
	}{
		{"rwloop-100k", "c/rwloop", []string{"/data/rw", "100000"}},
		{"big-64MiB", "c/fsbench", []string{"big", "/data/big"}},
		{"small-1000", "c/fsbench", []string{"small", "/data/small", "1000"}},
	}
	mounts := func(b *testing.B) []vfs.Mount {
		host, err := vfs.Host(dir, false)
		if err != nil {
			b.Fatal(err)
		}
		return []vfs.Mount{{Guest: "/data", FS: host}}
	}
	for _, c := range cases {
		wasm := testenv.GuestBytes(b, c.guest)
		b.Run(c.name+"/wrun", func(b *testing.B) {
			r := wazero.NewRuntime(ctx)
			defer r.Close(ctx)
			if _, err := wasi.Instantiate(ctx, r); err != nil {
				b.Fatal(err)
			}
			cm, err := r.CompileModule(ctx, wasm)
			if err != nil {
				b.Fatal(err)
			}
			mc := wazero.NewModuleConfig().WithName("").WithArgs(append([]string{c.guest}, c.args...)...)
			for b.Loop() {
				root, err := vfs.NewMountFS(mounts(b))
				if err != nil {
					b.Fatal(err)
				}
				run := wasi.WithConfig(ctx, wasi.Config{FS: root, Preopens: []string{"/data", "/"}, Stdout: io.Discard, Stderr: os.Stderr})
				m, err := r.InstantiateModule(run, cm, mc)
				if err != nil {
					b.Fatal(err)
				}
				m.Close(ctx)
			}
		})
		b.Run(c.name+"/wazero", func(b *testing.B) {
			r := wazero.NewRuntime(ctx)
			defer r.Close(ctx)
			wasi_snapshot_preview1.MustInstantiate(ctx, r)
			cm, err := r.CompileModule(ctx, wasm)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				fsc, err := vfs.FSConfig(mounts(b))
				if err != nil {
					b.Fatal(err)
				}
				mc := wazero.NewModuleConfig().WithName("").WithArgs(append([]string{c.guest}, c.args...)...).
					WithFSConfig(fsc).WithStdout(io.Discard).WithStderr(os.Stderr)
				m, err := r.InstantiateModule(ctx, cm, mc)
				if err != nil {
					b.Fatal(err)
				}
				m.Close(ctx)
			}
		})
	}
}
