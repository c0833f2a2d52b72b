package linearmem_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/linearmem"
)

// mapped reports whether addr lies in a mapping of this process.
func mapped(t *testing.T, addr uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		rng, _, _ := strings.Cut(s.Text(), " ")
		lo, hi, _ := strings.Cut(rng, "-")
		l, _ := strconv.ParseUint(lo, 16, 64)
		h, _ := strconv.ParseUint(hi, 16, 64)
		if uint64(addr) >= l && uint64(addr) < h {
			return true
		}
	}
	return false
}

// TestFreeUnmaps: closing the module unmaps its memory's reservation.
func TestFreeUnmaps(t *testing.T) {
	mod := instantiate(t, linearmem.New(0))
	call(t, mod, "grow", 10)
	at := base(t, mod)
	if !mapped(t, at) {
		t.Fatalf("memory at %#x is not in /proc/self/maps", at)
	}
	if err := mod.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if mapped(t, at) {
		t.Errorf("memory at %#x is still mapped after the module closed", at)
	}
}

// peakRSS resets the process's peak RSS (VmHWM) and returns a function that
// reads how far it rose since.
func peakRSS(t *testing.T) func() uint64 {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS: %v", err)
	}
	before := status(t, "VmRSS")
	return func() uint64 { return status(t, "VmHWM") - before }
}

// status returns a /proc/self/status field in bytes.
func status(t *testing.T, field string) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestRSSTracksGuestMemory grows a guest to 512 MiB in 1 MiB steps,
// touching every page: the process's peak RSS rises by at most the guest's
// memory plus 10% (wazero's default allocator, which copies on growth,
// peaks at about twice that).
func TestRSSTracksGuestMemory(t *testing.T) {
	const pages = 8192 // 512 MiB
	mod := instantiate(t, linearmem.New(0))
	rise := peakRSS(t)
	if got := call(t, mod, "fill", pages-1); got != pages {
		t.Fatalf("fill returned %d pages, want %d", got, pages)
	}
	guest := uint64(mod.Memory().Size())
	peak := rise()
	t.Logf("guest memory %d MiB, host peak RSS rose %d MiB (%.3fx)", guest>>20, peak>>20, float64(peak)/float64(guest))
	if limit := guest + guest/10; peak > limit {
		t.Errorf("host peak RSS rose %d MiB for %d MiB of guest memory: over %d MiB (guest + 10%%)", peak>>20, guest>>20, limit>>20)
	}
}

// TestHoldKeepsMemoryMapped: a module closed while its guest may still run
// (Runtime.Close from another goroutine) keeps its memory mapped and usable
// until the hold is released; before Hold, the write below faulted the
// whole test process.
func TestHoldKeepsMemoryMapped(t *testing.T) {
	a := linearmem.New(0)
	release := a.Hold()
	mod := instantiate(t, a)
	call(t, mod, "grow", 10)
	at := base(t, mod)
	buf, ok := mod.Memory().Read(0, mod.Memory().Size())
	if !ok {
		t.Fatal("memory not readable")
	}
	if err := mod.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !mapped(t, at) {
		t.Fatalf("memory at %#x was unmapped while held", at)
	}
	buf[len(buf)-1] = 1 // the running guest's store: must not fault
	release()
	release() // idempotent
	if mapped(t, at) {
		t.Errorf("memory at %#x is still mapped after the hold was released", at)
	}
}
