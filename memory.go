package wrun

import "github.com/wrun-dev/wrun/internal/linearmem"

const pageSize = linearmem.PageSize

// cappedAllocator returns the allocator of a run's linear memory: memory
// that grows in place (address space reserved once, committed as it grows;
// see internal/linearmem), and that refuses to grow past maxPages, which
// makes memory.grow return -1 exactly as at the module's own maximum.
// maxPages 0 means no cap beyond the module's own maximum.
func cappedAllocator(maxPages uint32) *linearmem.Allocator {
	return linearmem.New(uint64(maxPages) * pageSize)
}
