package wrun_test

import (
	"context"
	"crypto/rand"
	"io"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// BenchmarkRun measures instantiate+run of a compiled guest in process:
// wrun's Program.Run against the same work done with raw wazero, with the
// same cancellation setting on both sides: "cancel" is wrun's embedding
// default and wazero's WithCloseOnContextDone(true); "fast" is
// RunConfig.WithCancellation(false) and wazero's default.
func BenchmarkRun(b *testing.B) {
	for _, guest := range []string{"c/hello", "go/hello"} {
		wasm := testenv.GuestBytes(b, guest)
		ctx := context.Background()
		for _, cancel := range []bool{true, false} {
			name := guest + "/fast"
			if cancel {
				name = guest + "/cancel"
			}
			b.Run(name+"/wrun", func(b *testing.B) {
				rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache().WithCloseOnContextDone(cancel))
				if err != nil {
					b.Fatal(err)
				}
				defer rt.Close(ctx)
				p, err := rt.Compile(ctx, guest, wasm)
				if err != nil {
					b.Fatal(err)
				}
				cfg := wrun.NewRunConfig().WithStdout(io.Discard).WithCancellation(cancel)
				b.ResetTimer()
				for b.Loop() {
					if err := p.Run(ctx, cfg); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+"/wazero", func(b *testing.B) {
				r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(cancel))
				defer r.Close(ctx)
				wasi_snapshot_preview1.MustInstantiate(ctx, r)
				cm, err := r.CompileModule(ctx, wasm)
				if err != nil {
					b.Fatal(err)
				}
				cfg := wazero.NewModuleConfig().WithName("").WithArgs(guest).WithStdout(io.Discard).
					WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
				b.ResetTimer()
				for b.Loop() {
					m, err := r.InstantiateModule(ctx, cm, cfg)
					if err != nil {
						b.Fatal(err)
					}
					m.Close(ctx)
				}
			})
		}
	}
}
