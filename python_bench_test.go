package wrun_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// pythonScripts are the programs BenchmarkPython runs, with their output.
var pythonScripts = []struct{ name, code, out string }{
	{"print", "print('hi')", "hi\n"},
	{"imports", "import json, re, dataclasses, pathlib, zlib, decimal, datetime, collections, typing; print('ok')", "ok\n"},
}

// pythonRuntimeDir is the CPython runtime package `make python-build` made.
func pythonRuntimeDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("WRUN_PYTHON_RUNTIME")
	if dir == "" {
		b, err := os.ReadFile(filepath.Join(testenv.Build(), "python-runtime.path"))
		if err != nil {
			tb.Fatalf("no CPython runtime package (WRUN_PYTHON_RUNTIME is unset and %v): run make python-build", err)
		}
		dir = strings.TrimSpace(string(b))
	}
	if _, err := os.Stat(filepath.Join(dir, "module.wasm")); err != nil {
		tb.Fatalf("CPython runtime package %s: %v: run make python-build", dir, err)
	}
	return dir
}

// BenchmarkPython measures re-running CPython in process: the runtime
// package loaded once with wrun.Load and run with Package.Run per
// iteration, against raw wazero instantiating the same compiled module per
// iteration with the standard library as a read-only host directory: with
// the same cancellation setting on both sides: "cancel" is wrun's
// embedding default against wazero's WithCloseOnContextDone(true), "fast"
// is RunConfig.WithCancellation(false) (the wrun CLI's default) against
// wazero's default (what `wazero run` does without -timeout).
func BenchmarkPython(b *testing.B) {
	dir := pythonRuntimeDir(b)
	ctx := context.Background()
	b.Setenv("WRUN_HOME", b.TempDir())

	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)

	wasm, err := os.ReadFile(filepath.Join(dir, "module.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	// Raw wazero twice: with its defaults, as `wazero run` without -timeout,
	// and with CloseOnContextDone, which compiles a termination check into
	// every function entry and loop header.
	type rawWazero struct {
		name string
		r    wazero.Runtime
		cm   wazero.CompiledModule
	}
	var raws []rawWazero
	for _, c := range []struct {
		name string
		cfg  wazero.RuntimeConfig
	}{
		{"fast", wazero.NewRuntimeConfig()},
		{"cancel", wazero.NewRuntimeConfig().WithCloseOnContextDone(true)},
	} {
		r := wazero.NewRuntimeWithConfig(ctx, c.cfg)
		defer r.Close(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, r)
		cm, err := r.CompileModule(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, rawWazero{c.name, r, cm})
	}
	fsc := wazero.NewFSConfig().WithReadOnlyDirMount(filepath.Join(dir, "lib"), "/usr/local/lib")

	for _, s := range pythonScripts {
		for _, cancel := range []bool{true, false} {
			setting := "fast"
			if cancel {
				setting = "cancel"
			}
			b.Run(s.name+"/"+setting+"/wrun", func(b *testing.B) {
				var out bytes.Buffer
				cfg := wrun.NewRunConfig().WithArgs("-c", s.code).WithStdout(&out).WithStderr(&out).WithCancellation(cancel)
				// The first run of a variant compiles it (the raw wazero side
				// compiled both above): outside the timed loop.
				if err := p.Run(ctx, cfg); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					out.Reset()
					if err := p.Run(ctx, cfg); err != nil || out.String() != s.out {
						b.Fatalf("run: %v, output %q", err, out.String())
					}
				}
			})
		}
		for _, raw := range raws {
			b.Run(s.name+"/"+raw.name+"/wazero", func(b *testing.B) {
				var out bytes.Buffer
				cfg := wazero.NewModuleConfig().WithName("").WithArgs("python", "-c", s.code).
					WithEnv("PYTHONHOME", "/usr/local").WithFSConfig(fsc).
					WithStdout(&out).WithStderr(&out).
					WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
				for b.Loop() {
					out.Reset()
					m, err := raw.r.InstantiateModule(ctx, raw.cm, cfg)
					if err != nil || out.String() != s.out {
						b.Fatalf("run: %v, output %q", err, out.String())
					}
					m.Close(ctx)
				}
			})
		}
	}
}
