package wrun_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// runUntilClosed starts a looping guest, closes something under it and
// returns the run's error.
func runUntilClosed(t *testing.T, p *wrun.Program, cfg wrun.RunConfig, closeIt func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), cfg) }()
	time.Sleep(50 * time.Millisecond)
	closeIt()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not return within 10 s of the Close")
		return nil
	}
}

// A run stopped by Program.Close or Runtime.Close reports ErrClosed, not
// success.
func TestCloseStopsRun(t *testing.T) {
	ctx := context.Background()
	t.Run("Program.Close", func(t *testing.T) {
		p := compile(t, newRuntime(t), "wat/loop")
		err := runUntilClosed(t, p, wrun.NewRunConfig(), func() { p.Close(ctx) })
		if !errors.Is(err, wrun.ErrClosed) {
			t.Fatalf("got %v, want an error wrapping wrun.ErrClosed", err)
		}
	})
	t.Run("Runtime.Close", func(t *testing.T) {
		rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
		if err != nil {
			t.Fatal(err)
		}
		p := compile(t, rt, "wat/loop")
		err = runUntilClosed(t, p, wrun.NewRunConfig(), func() { rt.Close(ctx) })
		if !errors.Is(err, wrun.ErrClosed) {
			t.Fatalf("got %v, want an error wrapping wrun.ErrClosed", err)
		}
	})
	// Without cancellation the guest runs on to its end, and the run still
	// reports that it was closed under.
	t.Run("Runtime.Close/no cancellation", func(t *testing.T) {
		rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
		if err != nil {
			t.Fatal(err)
		}
		p := compile(t, rt, "c/spin")
		cfg := wrun.NewRunConfig().WithCancellation(false)
		if err := p.Run(ctx, cfg.WithArgs("1")); err != nil { // compiles the variant
			t.Fatal(err)
		}
		err = runUntilClosed(t, p, cfg.WithArgs("100"), func() { rt.Close(ctx) })
		if !errors.Is(err, wrun.ErrClosed) {
			t.Fatalf("got %v, want an error wrapping wrun.ErrClosed", err)
		}
	})
}

// Every use of a closed Runtime, Program or Package fails with ErrClosed,
// in wrun's words rather than wazero's.
func TestUseAfterClose(t *testing.T) {
	ctx := context.Background()
	t.Setenv("WRUN_HOME", t.TempDir())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "component.wasm"), testenv.GuestBytes(t, "c/hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(`[package]
name = "test:closed"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
`), 0o644)
	want := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, wrun.ErrClosed) {
			t.Errorf("%s: got %v, want an error wrapping wrun.ErrClosed", what, err)
		} else if strings.Contains(err.Error(), "exit_code") || strings.Contains(err.Error(), "must be compiled") {
			t.Errorf("%s: wazero's words leak: %v", what, err)
		}
	}

	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	p := compile(t, rt, "c/hello")
	p.Close(ctx)
	want("Program.Run after Program.Close", p.Run(ctx, wrun.NewRunConfig()))
	want("Program.Run (other variant) after Program.Close", p.Run(ctx, wrun.NewRunConfig().WithCancellation(false)))
	if err := p.Close(ctx); err != nil {
		t.Errorf("closing a program twice: %v", err)
	}

	pkg, err := rt.Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := pkg.Run(ctx, wrun.NewRunConfig().WithStdout(&out)); err != nil || !strings.HasPrefix(out.String(), "hello") {
		t.Fatalf("package run: %v %q", err, out.String())
	}
	pkg.Close(ctx)
	want("Package.Run after Package.Close", pkg.Run(ctx, wrun.NewRunConfig()))

	p2 := compile(t, rt, "c/hello")
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want("Program.Run after Runtime.Close", p2.Run(ctx, wrun.NewRunConfig()))
	want("Program.Run (other variant) after Runtime.Close", p2.Run(ctx, wrun.NewRunConfig().WithCancellation(false)))
	_, err = rt.Compile(ctx, "hello.wasm", testenv.GuestBytes(t, "c/hello"))
	want("Compile after Runtime.Close", err)
	if errors.Is(err, wrun.ErrInvalidModule) {
		t.Errorf("Compile after Runtime.Close: %v is not an invalid module", err)
	}
	_, err = rt.Load(ctx, dir)
	want("Load after Runtime.Close", err)
	if err := rt.Close(ctx); err != nil {
		t.Errorf("closing a runtime twice: %v", err)
	}
}

// A compile that its context stops is not an invalid module.
func TestCompileCancelled(t *testing.T) {
	rt := newRuntime(t)
	wasm := testenv.GuestBytes(t, "go/hello")
	for _, c := range []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		target error
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"expired", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}, context.DeadlineExceeded},
	} {
		ctx, cancel := c.ctx()
		_, err := rt.Compile(ctx, "hello.wasm", wasm)
		cancel()
		if !errors.Is(err, c.target) || errors.Is(err, wrun.ErrInvalidModule) {
			t.Errorf("%s: got %v, want an error wrapping %v and not ErrInvalidModule", c.name, err, c.target)
		}
	}
	// Cancelled while wazero compiles (a cold compile of a Go guest takes
	// long enough): either it finished first, or it reports the context.
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(2*time.Millisecond, cancel)
		fresh := newRuntime(t)
		p, err := fresh.Compile(ctx, "hello.wasm", wasm)
		cancel()
		switch {
		case err == nil:
			p.Close(context.Background())
		case !errors.Is(err, context.Canceled) || errors.Is(err, wrun.ErrInvalidModule):
			t.Errorf("cancelled during the compile: got %v, want an error wrapping context.Canceled and not ErrInvalidModule", err)
		}
	}
}
