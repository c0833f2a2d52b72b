package wrun_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// BenchmarkCancellation measures what wazero's termination checks cost a
// run (RunConfig.WithCancellation): on (the embedding API's default) and
// off, for CPU-bound C (c/spin, 20 rounds of a sieve and a recursive
// Fibonacci), for the start of a C and a Go guest, and for CPython's start
// (`print('hi')` and nine imports; needs WRUN_PYTHON_RUNTIME or make
// python-build).
func BenchmarkCancellation(b *testing.B) {
	ctx := context.Background()
	modes := []struct {
		name string
		on   bool
	}{{"cancel", true}, {"nocancel", false}}
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	for _, g := range []struct{ guest, args string }{{"c/spin", "20"}, {"c/hello", ""}, {"go/hello", ""}} {
		p, err := rt.CompileFile(ctx, testenv.Guest(b, g.guest))
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range modes {
			cfg := wrun.NewRunConfig().WithCancellation(m.on).WithStdout(io.Discard)
			if g.args != "" {
				cfg = cfg.WithArgs(g.args)
			}
			if err := p.Run(ctx, cfg); err != nil { // compiles the variant
				b.Fatal(err)
			}
			b.Run(g.guest+"/"+m.name, func(b *testing.B) {
				for b.Loop() {
					if err := p.Run(ctx, cfg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("python", func(b *testing.B) {
		dir := pythonRuntimeDir(b)
		b.Setenv("WRUN_HOME", b.TempDir())
		pkg, err := rt.Load(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		defer pkg.Close(ctx)
		for _, s := range pythonScripts {
			for _, m := range modes {
				var out bytes.Buffer
				cfg := wrun.NewRunConfig().WithCancellation(m.on).WithArgs("-c", s.code).WithStdout(&out).WithStderr(&out)
				if err := pkg.Run(ctx, cfg); err != nil { // compiles the variant
					b.Fatal(err)
				}
				b.Run(s.name+"/"+m.name, func(b *testing.B) {
					for b.Loop() {
						out.Reset()
						if err := pkg.Run(ctx, cfg); err != nil || out.String() != s.out {
							b.Fatalf("run: %v, output %q", err, out.String())
						}
					}
				})
			}
		}
	})
}
