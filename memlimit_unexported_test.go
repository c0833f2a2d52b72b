package wrun_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun"
)

// unexportedBigMem is (module (memory 512) (func (export "_start"))): 32 MiB
// of initial memory that the module does not export.
var unexportedBigMem = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
	0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x05, 0x04, 0x01, 0x00, 0x80, 0x04,
	0x07, 0x0a, 0x01, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00,
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
}

// The memory cap holds for a module that does not export its memory: its
// initial size is over the cap, so it does not start.
func TestMemoryLimitUnexportedMemory(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	p, err := rt.Compile(ctx, "unexported.wasm", unexportedBigMem)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	err = p.Run(ctx, wrun.NewRunConfig().WithMemoryLimitPages(256))
	if err == nil || !strings.Contains(err.Error(), "needs 512 pages") {
		t.Fatalf("unexported initial memory of 512 pages under a 256-page cap: got %v, want the run refused", err)
	}
	if err := p.Run(ctx, wrun.NewRunConfig().WithMemoryLimitPages(512)); err != nil {
		t.Fatalf("at the cap: %v", err)
	}
}
