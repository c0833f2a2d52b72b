package wrun_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
)

// With the default Config, a guest that loops without calling the host is
// stopped by its context, and the process does not freeze meanwhile: a
// heartbeat goroutine keeps ticking and a forced garbage collection
// completes while the guest loops (without wazero's termination checks the
// collector's stop-the-world would wait for the guest forever).
func TestCancelByDefault(t *testing.T) {
	p := compile(t, newRuntime(t), "wat/loop")

	var ticks atomic.Int64
	stopBeat := make(chan struct{})
	defer close(stopBeat)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				ticks.Add(1)
			case <-stopBeat:
				return
			}
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, wrun.NewRunConfig()) }()
	time.Sleep(100 * time.Millisecond) // the guest is looping by now

	gcDone := make(chan struct{})
	go func() {
		goruntime.GC()
		goruntime.GC()
		close(gcDone)
	}()
	select {
	case <-gcDone:
	case <-time.After(10 * time.Second):
		t.Fatal("a garbage collection did not complete within 10 s while the guest looped")
	}
	before := ticks.Load()
	time.Sleep(50 * time.Millisecond)
	if ticks.Load() == before {
		t.Error("the heartbeat stopped ticking while the guest looped")
	}
	select {
	case err := <-done:
		t.Fatalf("the looping guest returned before it was cancelled: %v", err)
	default:
	}

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want an error wrapping context.Canceled", err)
		}
		t.Logf("the run returned %v after its context was cancelled", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not return within 10 s of its context being cancelled")
	}
}

// A run that opts out of cancellation runs to completion: its context is
// noticed only when it returns.
func TestOptOutRunsToCompletion(t *testing.T) {
	p := compile(t, newRuntime(t), "c/spin")
	fast := wrun.NewRunConfig().WithCancellation(false)
	if err := p.Run(context.Background(), fast); err != nil { // compiles the variant
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(time.Millisecond, cancel)
	var out bytes.Buffer
	err := p.Run(ctx, fast.WithArgs("40").WithStdout(&out))
	if err != nil || out.String() != "rounds=40 primes=383680 fib=270600\n" {
		t.Fatalf("got %v, output %q; want the run to complete", err, out.String())
	}
	// The same program with cancellation stops.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	out.Reset()
	if err := p.Run(ctx, wrun.NewRunConfig().WithArgs("1000000").WithStdout(&out)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancellable run with a cancelled context: got %v, output %q", err, out.String())
	}
	// A Runtime whose default is off runs cancellable when a run asks.
	rt, err := wrun.New(context.Background(), wrun.NewConfig().WithInMemoryCache().WithCloseOnContextDone(false))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	loop := compile(t, rt, "wat/loop")
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := loop.Run(ctx, wrun.NewRunConfig().WithCancellation(true)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WithCancellation(true) on a runtime without: got %v", err)
	}
}

// Both variants of a program live in one compilation cache: a second
// Runtime on the same directory compiles neither again.
func TestVariantsShareCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	count := func() int {
		n := 0
		filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
			if d != nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	runBoth := func() {
		rt, err := wrun.New(ctx, wrun.NewConfig().WithCacheDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		p := compile(t, rt, "c/spin")
		for _, on := range []bool{true, false} {
			var out bytes.Buffer
			if err := p.Run(ctx, wrun.NewRunConfig().WithCancellation(on).WithArgs("1").WithStdout(&out)); err != nil || out.String() != "rounds=1 primes=9592 fib=6765\n" {
				t.Fatalf("cancellation %v: %v %q", on, err, out.String())
			}
		}
	}
	runBoth()
	if n := count(); n != 2 {
		t.Fatalf("the cache holds %d files after running both variants, want 2 (one per variant)", n)
	}
	runBoth()
	if n := count(); n != 2 {
		t.Fatalf("the cache holds %d files after a second Runtime ran both variants, want still 2", n)
	}
}
