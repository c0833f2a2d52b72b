//go:build unix

package linearmem

import (
	"math"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mappedMemory is a linear memory in a reserved range of address space: the
// first committed bytes are readable and writable, the rest inaccessible.
type mappedMemory struct {
	a         *Allocator
	mem       []byte // the whole reservation; nil once freed
	committed uint64
}

// newMapped reserves limit bytes of address space, with img (when not nil)
// mapped copy-on-write at its offsets, or returns nil when it cannot (the
// caller then falls back to a slice).
func newMapped(a *Allocator, limit uint64, img *Image) *mappedMemory {
	if limit == 0 || limit > math.MaxInt {
		return nil
	}
	mem, err := unix.Mmap(-1, 0, int(limit), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	if img != nil && img.hi > img.lo {
		// MAP_PRIVATE: the memory's writes go to its own copies of the
		// pages, never to the file (which is sealed against writes anyway).
		// MAP_FIXED replaces that part of the reservation atomically.
		_, err := unix.MmapPtr(img.file(), int64(img.lo), unsafe.Pointer(&mem[img.lo]), uintptr(img.hi-img.lo),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
		if err != nil {
			_ = unix.Munmap(mem)
			return nil
		}
	}
	return &mappedMemory{a: a, mem: mem}
}

// Reallocate makes the first size bytes accessible and returns them; the
// address never changes, and new bytes read as zero. It returns nil past the
// reservation (the cap) or when the host cannot commit the memory.
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if m.mem == nil {
		return nil
	}
	if size > uint64(len(m.mem)) {
		m.a.refused.Store(true)
		return nil
	}
	if size > m.committed {
		if err := unix.Mprotect(m.mem[m.committed:size], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			m.a.refused.Store(true)
			return nil
		}
		m.committed = size
	}
	return m.mem[:size:size]
}

// Free unmaps the whole reservation, at once or when the Allocator's holds
// are released (see Allocator.Hold).
func (m *mappedMemory) Free() { m.a.free(m) }

// mapped is the platform's mapped memory, for Allocator.free.
type mapped = mappedMemory

func (m *mappedMemory) unmap() {
	if m.mem != nil {
		_ = unix.Munmap(m.mem)
		m.mem, m.committed = nil, 0
	}
}
