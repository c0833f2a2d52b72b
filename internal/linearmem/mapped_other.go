//go:build !unix

package linearmem

// mappedMemory is not available here: memories are slices.
type mappedMemory struct{ sliceMemory }

func newMapped(*Allocator, uint64, *Image) *mappedMemory { return nil }

// mapped is the platform's mapped memory, for Allocator.free.
type mapped = mappedMemory

func (m *mappedMemory) unmap() {}
