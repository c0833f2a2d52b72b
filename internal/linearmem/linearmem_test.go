package linearmem_test

import (
	"context"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wrun-dev/wrun/internal/linearmem"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// instantiate runs the growmem guest with a (nil: wazero's default
// allocator).
func instantiate(t testing.TB, a experimental.MemoryAllocator) api.Module {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	if a != nil {
		ctx = experimental.WithMemoryAllocator(ctx, a)
	}
	mod, err := r.Instantiate(ctx, testenv.GuestBytes(t, "wat/growmem"))
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

func call(t testing.TB, mod api.Module, name string, args ...uint64) int32 {
	t.Helper()
	res, err := mod.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	if len(res) == 0 {
		return 0
	}
	return int32(res[0])
}

func base(t testing.TB, mod api.Module) uintptr {
	t.Helper()
	b, ok := mod.Memory().Read(0, 1)
	if !ok {
		t.Fatal("memory has no byte 0")
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}

// TestGrowKeepsContents grows a memory many times: what the guest wrote
// stays, new pages read as zero, and the memory never moves.
func TestGrowKeepsContents(t *testing.T) {
	mod := instantiate(t, linearmem.New(0))
	at := base(t, mod)
	call(t, mod, "store", 0, 0x11223344)
	call(t, mod, "store", 65532, 0x55667788)
	for i := range 20 {
		prev := call(t, mod, "grow", 100)
		if want := int32(1 + 100*i); prev != want {
			t.Fatalf("grow %d returned %d, want %d", i, prev, want)
		}
		addr := uint64(prev)*linearmem.PageSize + 12345
		if v := call(t, mod, "load", addr); v != 0 {
			t.Fatalf("new page %d reads %#x, want 0", prev, v)
		}
		call(t, mod, "store", addr, uint64(i+1))
	}
	if got := base(t, mod); got != at {
		t.Errorf("memory moved from %#x to %#x: it must grow in place", at, got)
	}
	if v := call(t, mod, "load", 0); v != 0x11223344 {
		t.Errorf("byte 0 reads %#x after growth, want 0x11223344", v)
	}
	if v := call(t, mod, "load", 65532); v != 0x55667788 {
		t.Errorf("the end of page 0 reads %#x after growth, want 0x55667788", v)
	}
	for i := range 20 {
		addr := uint64(1+100*i)*linearmem.PageSize + 12345
		if v := call(t, mod, "load", addr); v != int32(i+1) {
			t.Errorf("page %d reads %d, want %d", 1+100*i, v, i+1)
		}
	}
}

// TestCapRefusesGrowth: at the cap memory.grow returns -1, the memory keeps
// its size and contents, and the allocator says it refused.
func TestCapRefusesGrowth(t *testing.T) {
	a := linearmem.New(4 << 20) // 64 pages
	mod := instantiate(t, a)
	call(t, mod, "store", 100, 42)
	if prev := call(t, mod, "grow", 63); prev != 1 {
		t.Fatalf("grow to the cap returned %d, want 1", prev)
	}
	if a.Refused() {
		t.Fatal("Refused is true before any growth past the cap")
	}
	if prev := call(t, mod, "grow", 1); prev != -1 {
		t.Fatalf("grow past the cap returned %d, want -1", prev)
	}
	if !a.Refused() {
		t.Error("Refused is false after a growth past the cap")
	}
	if n := mod.Memory().Size(); n != 4<<20 {
		t.Errorf("memory is %d bytes after a refused growth, want %d", n, 4<<20)
	}
	if v := call(t, mod, "load", 100); v != 42 {
		t.Errorf("byte 100 reads %d after a refused growth, want 42", v)
	}
	if v := call(t, mod, "load", 4<<20-4); v != 0 {
		t.Errorf("the last word reads %d, want 0", v)
	}
}

// TestCapBelowInitial: a memory whose initial size is over the cap still
// gets its initial size (the caller refuses such modules before), and
// cannot grow.
func TestCapBelowInitial(t *testing.T) {
	a := linearmem.New(1) // rounds down to 0 pages: no cap
	if a.Limit() != 0 {
		t.Fatalf("Limit() = %d, want 0", a.Limit())
	}
	a = linearmem.New(linearmem.PageSize)
	mod := instantiate(t, a)
	if prev := call(t, mod, "grow", 1); prev != -1 {
		t.Fatalf("grow past a 1-page cap returned %d, want -1", prev)
	}
}
