package linearmem

import (
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// PageSize is the size of a Wasm page, the unit of memory.grow.
const PageSize = 64 << 10

// Allocator creates the linear memories of the modules instantiated with it
// (experimental.WithMemoryAllocator). It is safe for concurrent use.
type Allocator struct {
	limit   uint64 // bytes; 0: no cap
	refused atomic.Bool
	image   *Image      // the first memory's initial contents, or nil
	imaged  atomic.Bool // the image went to a memory

	mu      sync.Mutex
	holds   int       // Hold calls not yet released
	pending []*mapped // memories freed during a hold, unmapped at release
}

var _ experimental.MemoryAllocator = (*Allocator)(nil)

// New returns an Allocator whose memories refuse to grow past limit bytes
// (rounded down to whole pages): memory.grow then returns -1, as at the
// module's own maximum. A limit of 0 means no cap beyond the module's.
func New(limit uint64) *Allocator {
	return &Allocator{limit: limit / PageSize * PageSize}
}

// NewWithImage is New for a module whose memory starts as img (whose data
// segments were applied to img, and removed from the module): the first
// memory allocated, the module's own, maps img copy-on-write instead of
// starting zero. The caller holds img.Acquire until that memory exists, and
// the memory's initial size covers img (its Bounds).
func NewWithImage(limit uint64, img *Image) *Allocator {
	a := New(limit)
	a.image = img
	return a
}

// Hold keeps every memory of a mapped in its address space until release is
// called, even when wazero frees it earlier: a module closed by Runtime.Close
// or Program.Close while its guest still runs must not have its memory
// unmapped under the running code (the guest would fault the whole process).
// The caller holds for as long as guest code of this Allocator may run.
func (a *Allocator) Hold() (release func()) {
	a.mu.Lock()
	a.holds++
	a.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.holds--
			var unmap []*mapped
			if a.holds == 0 {
				unmap, a.pending = a.pending, nil
			}
			a.mu.Unlock()
			for _, m := range unmap {
				m.unmap()
			}
		})
	}
}

// free unmaps m now, or at the release of the last hold.
func (a *Allocator) free(m *mapped) {
	a.mu.Lock()
	if a.holds > 0 {
		a.pending = append(a.pending, m)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	m.unmap()
}

// Limit returns the cap in bytes, 0 for none.
func (a *Allocator) Limit() uint64 { return a.limit }

// Refused reports whether a memory of this Allocator was refused a growth
// because of the cap (or because the host could not commit the memory).
func (a *Allocator) Refused() bool { return a.refused.Load() }

// Allocate implements experimental.MemoryAllocator. capBytes is the initial
// size wazero will ask for first (that request always succeeds: callers
// check a module's initial memory against the cap before instantiating it);
// maxBytes is the module's maximum.
func (a *Allocator) Allocate(capBytes, maxBytes uint64) experimental.LinearMemory {
	limit := maxBytes
	if a.limit > 0 && a.limit < limit {
		limit = a.limit
	}
	limit = max(limit, capBytes)
	var img *Image
	if a.image != nil && a.imaged.CompareAndSwap(false, true) {
		img = a.image
	}
	if img != nil {
		limit = max(limit, img.hi)
	}
	if m := newMapped(a, limit, img); m != nil {
		return m
	}
	return &sliceMemory{a: a, limit: limit, capHint: capBytes, image: img}
}

// sliceMemory is the fallback: a Go slice that grows by copying.
type sliceMemory struct {
	a       *Allocator
	buf     []byte
	limit   uint64
	capHint uint64
	image   *Image // copied in at the first Reallocate, then nil
}

// Reallocate grows the buffer to size bytes, keeping its contents, or
// returns nil past the limit.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.a.refused.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	newCap := max(size, min(2*uint64(cap(m.buf)), m.limit), m.capHint)
	buf := make([]byte, size, newCap)
	copy(buf, m.buf)
	if img := m.image; img != nil {
		m.image = nil
		if size < img.hi || img.readInto(buf) != nil {
			m.a.refused.Store(true)
			return nil
		}
	}
	m.buf = buf
	return buf
}

// Free releases the buffer to the garbage collector.
func (m *sliceMemory) Free() { m.buf = nil }
