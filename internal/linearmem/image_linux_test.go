package linearmem_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/wrun-dev/wrun/internal/linearmem"
)

// newImage returns an image of growmem's one page with two segments, closed
// at the end of the test.
func newImage(t *testing.T) (*linearmem.Image, []byte) {
	t.Helper()
	segs := []linearmem.Segment{{Offset: 16, Data: []byte("hello")}, {Offset: 3 * 4096, Data: []byte("world")}, {Offset: 16, Data: []byte("HE")}}
	img, err := linearmem.NewImage(linearmem.PageSize, segs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { img.Close() })
	want := make([]byte, linearmem.PageSize)
	copy(want[16:], "HEllo")
	copy(want[3*4096:], "world")
	return img, want
}

// writer is a module and the value it writes.
type writer struct {
	m api.Module
	v int32
}

func i32(s string) int32 { return int32(binary.LittleEndian.Uint32([]byte(s))) }

// TestImageCopyOnWrite: memories made from one image start with its bytes;
// two of them writing the same pages at the same time each see only their
// own writes, and neither the image nor a later memory sees any.
func TestImageCopyOnWrite(t *testing.T) {
	img, want := newImage(t)
	if !img.Acquire() {
		t.Fatal("a fresh image is closed")
	}
	defer img.Release()
	a := instantiate(t, linearmem.NewWithImage(0, img))
	b := instantiate(t, linearmem.NewWithImage(0, img))
	for _, mod := range []struct {
		name string
		got  int32
	}{{"a", call(t, a, "load", 16)}, {"b", call(t, b, "load", 16)}} {
		if mod.got != i32("HEll") {
			t.Fatalf("memory %s starts with %#x at 16, want %q", mod.name, mod.got, "HEll")
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	for i, mod := range []writer{{a, 0x2aaaaaaa}, {b, 0x3bbbbbbb}} {
		go func() {
			defer wg.Done()
			store := mod.m.ExportedFunction("store")
			for k := range 2000 {
				for _, at := range []uint64{16, 3 * 4096, uint64(8 + 4*(k%100))} {
					if _, err := store.Call(context.Background(), at, uint64(mod.v)+uint64(i)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for i, mod := range []writer{{a, 0x2aaaaaaa}, {b, 0x3bbbbbbb}} {
		for _, at := range []uint64{16, 3 * 4096, 8} {
			if got := call(t, mod.m, "load", at); got != mod.v+int32(i) {
				t.Errorf("memory %d reads %#x at %d after writing %#x there", i, got, at, mod.v+int32(i))
			}
		}
	}
	got, err := linearmem.ImageBytes(img, linearmem.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the memories' writes reached the image")
	}
	c := instantiate(t, linearmem.NewWithImage(0, img))
	mem, _ := c.Memory().Read(0, linearmem.PageSize)
	if !bytes.Equal(mem, want) {
		t.Errorf("a memory made after the writes does not start as the image")
	}
}

// TestImageGrowCapFree: a memory made from an image grows in place past it,
// up to the cap and no further, and its close unmaps it all.
func TestImageGrowCapFree(t *testing.T) {
	img, _ := newImage(t)
	img.Acquire()
	defer img.Release()
	mod := instantiate(t, linearmem.NewWithImage(3*linearmem.PageSize, img))
	at := base(t, mod)
	if got := call(t, mod, "grow", 2); got != 1 {
		t.Fatalf("grow(2) = %d, want 1", got)
	}
	call(t, mod, "store", 2*linearmem.PageSize+8, 7)
	if got := call(t, mod, "load", 2*linearmem.PageSize+8); got != 7 {
		t.Errorf("the grown page reads %d, want 7", got)
	}
	if got := call(t, mod, "load", 16); got != i32("HEll") {
		t.Errorf("the image's bytes changed on growth: %#x", got)
	}
	if base(t, mod) != at {
		t.Errorf("the memory moved on growth")
	}
	if got := call(t, mod, "grow", 1); got != -1 {
		t.Errorf("grow past the 3-page cap = %d, want -1", got)
	}
	if err := mod.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if mapped(t, at) {
		t.Errorf("memory at %#x is still mapped after the module closed", at)
	}
}

// TestImageCloseFile: the image's file closes at Close, or at the last
// Release after it; Acquire then fails.
func TestImageCloseFile(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	before := fds()
	img, _ := newImage(t)
	if fds() != before+1 {
		t.Fatalf("NewImage opened %d files, want 1", fds()-before)
	}
	img.Acquire()
	img.Close()
	if fds() != before+1 {
		t.Errorf("Close closed the file while acquired")
	}
	mod := instantiate(t, linearmem.NewWithImage(0, img))
	img.Release()
	if fds() != before {
		t.Errorf("the last Release after Close left the file open")
	}
	if img.Acquire() {
		t.Errorf("Acquire of a closed image succeeded")
	}
	if got := call(t, mod, "load", 3*4096); got != i32("worl") {
		t.Errorf("a memory mapped before the file closed reads %#x", got)
	}
}
