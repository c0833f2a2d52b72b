package wrun

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wrun-dev/wrun/internal/linearmem"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// withImages compiles wasm with memory images on or off (Compile decides)
// and runs it twice.
func withImages(t testing.TB, rt *Runtime, name string, wasm []byte, on bool, cfg RunConfig) *Program {
	t.Helper()
	noCOWImage.Store(!on)
	defer noCOWImage.Store(false)
	defer imageMinBytes.Store(imageMinBytes.Swap(0))
	ctx := context.Background()
	p, err := rt.Compile(ctx, name, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	for range 2 {
		if err := p.Run(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.image != nil; got != on {
		t.Fatalf("%s: memory image %v, want %v", name, got, on)
	}
	return p
}

func newTestRuntime(t testing.TB) *Runtime {
	t.Helper()
	ctx := context.Background()
	rt, err := New(ctx, NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	return rt
}

func runOut(t testing.TB, p *Program, cfg RunConfig) string {
	t.Helper()
	var out bytes.Buffer
	if err := p.Run(context.Background(), cfg.WithStdout(&out)); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	return out.String()
}

// TestMemoryImageSameResults: cowdata (data segments, overlapping and
// across pages) prints the same with its memory mapped from an image as
// with its segments copied, run after run (a run's writes do not reach the
// next), with memory.grow refused by the cap and allowed.
func TestMemoryImageSameResults(t *testing.T) {
	rt := newTestRuntime(t)
	wasm := testenv.GuestBytes(t, "wat/cowdata")
	fast := withImages(t, rt, "cowdata.wasm", wasm, true, NewRunConfig())
	slow := withImages(t, rt, "cowdata.wasm", wasm, false, NewRunConfig())
	start := "HEllo\npage1\ncross\nbye!o\nPage1\ncross\n"
	for _, c := range []struct {
		pages uint32
		want  string
	}{{0, start + "C\nN\n"}, {3, start + "?\n"}, {4, start + "C\nN\n"}, {5, start + "C\nN\n"}} {
		cfg := NewRunConfig().WithMemoryLimitPages(c.pages)
		for range 2 {
			if got := runOut(t, fast, cfg); got != c.want {
				t.Errorf("cap %d, with an image: got %q, want %q", c.pages, got, c.want)
			}
			if got := runOut(t, slow, cfg); got != c.want {
				t.Errorf("cap %d, segments copied: got %q, want %q", c.pages, got, c.want)
			}
		}
	}
	// The cap is checked against the module's starting memory either way.
	for _, p := range []*Program{fast, slow} {
		err := p.Run(context.Background(), NewRunConfig().WithMemoryLimitPages(2))
		if err == nil || !strings.Contains(err.Error(), "needs 3 pages") {
			t.Errorf("3 initial pages under a 2-page cap: got %v, want the run refused", err)
		}
	}
}

// TestMemoryImageConcurrentRuns: runs of one Program at the same time, all
// writing the same pages of the image, each see only their own writes.
func TestMemoryImageConcurrentRuns(t *testing.T) {
	defer imageMinBytes.Store(imageMinBytes.Swap(0))
	rt := newTestRuntime(t)
	p, err := rt.Compile(context.Background(), "cowdata.wasm", testenv.GuestBytes(t, "wat/cowdata"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	want := "HEllo\npage1\ncross\nbye!o\nPage1\ncross\nC\nN\n"
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				var out bytes.Buffer
				if err := p.Run(context.Background(), NewRunConfig().WithStdout(&out)); err != nil {
					t.Errorf("run %d: %v", i, err)
					return
				}
				if out.String() != want {
					t.Errorf("run %d: got %q, want %q", i, out.String(), want)
					return
				}
			}
		})
	}
	wg.Wait()
	if p.image == nil {
		t.Errorf("the program has no memory image")
	}
}

// TestMemoryImageClosesFile: the image's memfd closes with the Program (and
// with the Runtime when the Program is not closed).
func TestMemoryImageClosesFile(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	ctx := context.Background()
	wasm := testenv.GuestBytes(t, "wat/cowdata")
	rt := newTestRuntime(t)
	withImages(t, rt, "warm.wasm", wasm, true, NewRunConfig()).Close(ctx) // lazily opened state
	before := fds()
	p := withImages(t, rt, "cowdata.wasm", wasm, true, NewRunConfig())
	if n := fds() - before; n != 1 {
		t.Errorf("a Program with a memory image holds %d more files, want 1 (the image)", n)
	}
	p.Close(ctx)
	if n := fds() - before; n != 0 {
		t.Errorf("%d files left open after Program.Close", n)
	}
}

// TestMemoryImageSlowPath: modules whose segments could be read again, or
// whose memory is not their own, keep the ordinary path.
func TestMemoryImageSlowPath(t *testing.T) {
	defer imageMinBytes.Store(imageMinBytes.Swap(0))
	for _, c := range []struct{ name, wat, why string }{
		{"passive", `(module (memory 1) (data "x") (data (i32.const 0) "y"))`, "passive"},
		{"memory.init", `(module (memory 1) (data $d (i32.const 8) "x")
			(func (export "f") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))))`, "memory.init"},
		{"data.drop", `(module (memory 1) (data $d (i32.const 8) "x") (func (export "f") (data.drop $d)))`, "memory.init or data.drop"},
		{"imported memory", `(module (import "env" "mem" (memory 1)) (data (i32.const 0) "x"))`, "imported memory"},
		{"global offset", `(module (import "env" "g" (global i32)) (memory 1) (data (global.get 0) "x"))`, "non-constant offset"},
		{"out of bounds", `(module (memory 1) (data (i32.const 65535) "xy"))`, "outside the initial memory"},
		{"shared", `(module (memory 1 1 shared) (data (i32.const 0) "x"))`, "shared"},
		{"no data", `(module (memory 1))`, "no data segments"},
	} {
		_, _, _, why := plan(t, watBytes(t, c.wat))
		if !strings.Contains(why, c.why) {
			t.Errorf("%s: imagePlan says %q, want the ordinary path because of %q", c.name, why, c.why)
		}
	}
	// A module with a data count section and no memory.init/data.drop
	// qualifies.
	wasm := watBytes(t, `(module (memory 1) (data (i32.const 8) "x") (data (i32.const 9) "y")
		(func (export "f") (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))`)
	stripped, size, segs, why := plan(t, wasm)
	if why != "" || size != 65536 || len(segs) != 2 || len(stripped) >= len(wasm) {
		t.Errorf("module with a data count section: why %q, size %d, %d segments", why, size, len(segs))
	}
	// A few bytes of data are copied faster than mapped.
	imageMinBytes.Store(256 << 10)
	if _, _, _, why := plan(t, testenv.GuestBytes(t, "wat/cowdata")); !strings.Contains(why, "too little data") {
		t.Errorf("cowdata with the default threshold: imagePlan says %q, want too little data", why)
	}
	// Every Compile asks: a module with little data is told no before
	// anything is decoded (here: its data, memory and imports).
	small, err := wasmbin.Parse(watBytes(t, `(module (import "env" "f" (func)) (memory 1)
		(data (i32.const 0) "a") (data (i32.const 9) "b") (data (i32.const 99) "c"))`))
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { imagePlan(small) }); n != 0 {
		t.Errorf("imagePlan of a module with 3 bytes of data allocates %v times, want 0", n)
	}
	imageMinBytes.Store(0)
	// An out-of-bounds segment still fails the instantiation.
	rt := newTestRuntime(t)
	p, err := rt.Compile(context.Background(), "oob.wasm", watBytes(t, `(module (memory 1) (data (i32.const 65535) "xy") (func (export "_start")))`))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for range 2 {
		if err := p.Run(context.Background(), NewRunConfig()); err == nil {
			t.Errorf("a segment past the initial memory: the run succeeded")
		}
	}
	if p.image != nil {
		t.Errorf("a segment past the initial memory: the program has an image")
	}
}

// plan parses wasm and asks imagePlan.
func plan(t testing.TB, wasm []byte) ([]byte, uint64, []linearmem.Segment, string) {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return imagePlan(m)
}

// watBytes compiles WAT source text with wabt's wat2wasm --enable-all.
func watBytes(t testing.TB, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(testenv.Tool(t, "wat2wasm"), "--enable-all", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", src, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pythonPreinitDir is the python:cpython-preinit package (make python-build).
func pythonPreinitDir(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Build(), "python-runtime.path"))
	if err != nil {
		t.Fatalf("no CPython runtime package (%v): run make python-build", err)
	}
	return strings.TrimSpace(string(b)) + "-preinit"
}

// loadPython loads the pre-initialized CPython in a Runtime of its own
// (Programs are shared within one) with memory images on or off.
func loadPython(t testing.TB, on bool, cache string) *Package {
	t.Helper()
	ctx := context.Background()
	rt, err := New(ctx, NewConfig().WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	noCOWImage.Store(!on) // before Load, which compiles
	defer noCOWImage.Store(false)
	pkg, err := rt.Load(ctx, pythonPreinitDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pkg.Close(ctx) })
	for range 2 {
		if err := pkg.Run(ctx, NewRunConfig().WithArgs("-c", "pass")); err != nil {
			t.Fatal(err)
		}
	}
	if got := pkg.Program().image != nil; got != on {
		t.Fatalf("CPython snapshot: memory image %v, want %v", got, on)
	}
	if on {
		lo, hi := pkg.Program().image.Bounds()
		t.Logf("CPython snapshot memory image: [%d, %d) of %d pages", lo, hi, pkg.Program().minPages)
	}
	return pkg
}

// TestMemoryImagePython: the pre-initialized CPython snapshot takes the
// image path and prints byte for byte what it prints with its segments
// copied.
func TestMemoryImagePython(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	cache := t.TempDir()
	fast, slow := loadPython(t, true, cache), loadPython(t, false, cache)
	code := `import sys, json, re, decimal
print(sys.version, sys.flags, sys.path)
print(sorted(sys.modules))
print(json.dumps({"a": [1, 2.5, None]}), re.sub("b+", "x", "abbbc"), decimal.Decimal(1) / 7)
x = [i * i for i in range(100000)]
print(sum(x), hash("abc"), id(None) % 4096)
`
	for i := range 3 {
		var outs [2]string
		for j, pkg := range []*Package{fast, slow} {
			var out, errb bytes.Buffer
			err := pkg.Run(context.Background(), NewRunConfig().WithArgs("-c", code).WithStdout(&out).WithStderr(&errb))
			if err != nil {
				t.Fatalf("run %d: %v: %s", i, err, errb.String())
			}
			outs[j] = out.String() + errb.String()
		}
		if outs[0] != outs[1] {
			t.Fatalf("run %d: with an image:\n%s\nsegments copied:\n%s", i, outs[0], outs[1])
		}
		if i == 0 {
			t.Logf("output (%d bytes): %.200s", len(outs[0]), outs[0])
		}
	}
}

// mayUseSegments finds memory.init (0xfc 8) and data.drop (0xfc 9), LEB128
// padding included, wherever they are, and only those.
func TestMayUseSegments(t *testing.T) {
	for _, c := range []struct {
		code []byte
		want bool
	}{
		{nil, false},
		{[]byte{0x41, 0x00, 0x0b}, false},
		{[]byte{0xfc, 0x08, 0x00}, true},
		{[]byte{0x01, 0xfc, 0x09}, true},
		{[]byte{0xfc, 0x0a, 0xfc, 0x0b}, false},
		{[]byte{0x00, 0xfc}, false},
		{[]byte{0xfc, 0x88, 0x80, 0x00}, true},
		{append(bytes.Repeat([]byte{0xfc, 0x0a}, 1000), 0xfc, 0x09), true},
	} {
		if got := mayUseSegments(c.code); got != c.want {
			t.Errorf("mayUseSegments(% x): %v, want %v", c.code, got, c.want)
		}
	}
}
