//go:build unix

package wrun

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// interleave runs fast and slow alternately b.N times each and reports
// each one's mean time per run (the machine may be busy: alternating keeps
// both sides under the same load).
func interleave(b *testing.B, fast, slow func() error) {
	fns := [2]func() error{fast, slow}
	var took, cpu [2]time.Duration
	for _, f := range fns { // compiles the variant the runs use
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range 2 {
			k := (i + j) % 2 // alternate which goes first
			t0, c0 := time.Now(), cpuTime()
			if err := fns[k](); err != nil {
				b.Fatal(err)
			}
			took[k] += time.Since(t0)
			cpu[k] += cpuTime() - c0
		}
	}
	b.ReportMetric(float64(took[0].Microseconds())/float64(b.N), "µs/image-run")
	b.ReportMetric(float64(took[1].Microseconds())/float64(b.N), "µs/copy-run")
	b.ReportMetric(float64(cpu[0].Microseconds())/float64(b.N), "cpu-µs/image-run")
	b.ReportMetric(float64(cpu[1].Microseconds())/float64(b.N), "cpu-µs/copy-run")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's CPU time, user and system (page faults count).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInstantiateSnapshot: a run of cowdata (3 pages, four segments)
// from a memory image against one copying its segments.
func BenchmarkInstantiateSnapshot(b *testing.B) {
	rt := newTestRuntime(b)
	wasm := testenv.GuestBytes(b, "wat/cowdata")
	cfg := NewRunConfig().WithStdout(io.Discard)
	fast := withImages(b, rt, "cowdata.wasm", wasm, true, cfg)
	slow := withImages(b, rt, "cowdata.wasm", wasm, false, cfg)
	ctx := context.Background()
	interleave(b, func() error { return fast.Run(ctx, cfg) }, func() error { return slow.Run(ctx, cfg) })
}

// BenchmarkPythonPreinitImage: the pre-initialized CPython running
// `-c pass` in process (Package.Run), memory image against segments copied.
func BenchmarkPythonPreinitImage(b *testing.B) {
	b.Setenv("WRUN_HOME", b.TempDir())
	cache := b.TempDir()
	fast, slow := loadPython(b, true, cache), loadPython(b, false, cache)
	ctx := context.Background()
	cfg := NewRunConfig().WithArgs("-c", "pass").WithCancellation(false)
	interleave(b, func() error { return fast.Run(ctx, cfg) }, func() error { return slow.Run(ctx, cfg) })
}
