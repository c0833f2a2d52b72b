// Package linearmem backs wazero linear memories with memory that grows in
// place, so that the host's memory tracks the guest's.
//
// wazero's default linear memory is a Go slice that memory.grow extends with
// append: every growth past the slice's capacity allocates a new array and
// copies the old one, and the old one stays resident until the garbage
// collector returns it, so a guest that grows to N bytes in small steps
// costs the host two to four times N at its peak. An Allocator instead
// reserves the memory's whole address range once (the module's declared
// maximum, or the cap, whichever is smaller; 4 GiB for a memory without a
// maximum) with mmap and no access rights, and makes each growth accessible
// with mprotect. Nothing is copied, the address never changes, and the
// kernel commits a page only when the guest first touches it. Free unmaps
// the range.
//
// wazero calls Free when the module closes. A module must not be closed
// while its guest still runs (from another goroutine, or by closing its
// wazero runtime): the memory would be unmapped under the guest, which then
// faults. wazero's own stops (CloseOnContextDone, proc_exit) free the memory
// only once the guest has stopped.
//
// A module whose memory starts from data segments can instead start from an
// Image (NewImage, NewWithImage): the memory's initial contents, made once
// in a sealed memfd and mapped MAP_PRIVATE|MAP_FIXED over the start of each
// memory's reservation, so that memories share its pages until they write
// them (copy-on-write) and nothing is copied at instantiation. wazero
// neither zeroes nor copies anything into the memory the allocator returns:
// with the module's data segments removed, the image is what it starts as.
//
// Where mmap is not available (a build for a system that is not unix), or
// the reservation fails (a 32-bit address space), memories fall back to a
// slice that grows by copying, as wazero's own does; the cap holds either way.
package linearmem
