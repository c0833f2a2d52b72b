package wrun_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// TestInvalidModuleKeepsCause is issue 16 "errors keep their cause": a
// module refused before wazero decodes it wraps ErrInvalidModule and the
// decoder's error (where and what), so a caller can tell a truncated
// module from one over a limit. Before the fix the cause was flattened
// with %v and only ErrInvalidModule matched.
func TestInvalidModuleKeepsCause(t *testing.T) {
	ctx := context.Background()
	rt, err := wrun.New(ctx, wrun.NewConfig().WithInMemoryCache())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	// A type section announcing 2^32-1 types in 5 bytes.
	wasm := []byte("\x00asm\x01\x00\x00\x00\x01\x05\xff\xff\xff\xff\x0f")
	_, err = rt.Compile(ctx, "huge-count.wasm", wasm)
	var werr *wasmbin.Error
	if !errors.Is(err, wrun.ErrInvalidModule) || !errors.As(err, &werr) {
		t.Fatalf("Compile = %v; want ErrInvalidModule wrapping a *wasmbin.Error", err)
	}
}
