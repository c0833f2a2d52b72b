package runtime

import "github.com/tetratelabs/wazero/experimental"

const pageSize = 64 << 10

// cappedAllocator returns linear memories that refuse to grow past maxPages,
// which makes memory.grow return -1 exactly as at the module's own maximum.
func cappedAllocator(maxPages uint32) experimental.MemoryAllocator {
	limit := uint64(maxPages) * pageSize
	return experimental.MemoryAllocatorFunc(func(capBytes, maxBytes uint64) experimental.LinearMemory {
		return &cappedMemory{limit: min(limit, maxBytes), capHint: min(capBytes, limit)}
	})
}

type cappedMemory struct {
	buf     []byte
	limit   uint64
	capHint uint64
}

// Reallocate grows the buffer to size bytes, keeping its contents. The first
// call (the module's initial size, already checked against the cap) always
// succeeds; later ones fail past the limit.
func (m *cappedMemory) Reallocate(size uint64) []byte {
	if m.buf != nil && size > m.limit {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	newCap := max(size, min(2*uint64(cap(m.buf)), m.limit), m.capHint)
	buf := make([]byte, size, newCap)
	copy(buf, m.buf)
	m.buf = buf
	return buf
}

// Free releases the buffer to the garbage collector.
func (m *cappedMemory) Free() { m.buf = nil }
