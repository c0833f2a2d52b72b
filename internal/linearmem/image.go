package linearmem

import (
	"errors"
	"fmt"
	"sync"
)

// Segment is bytes at an offset of a linear memory's initial contents.
type Segment struct {
	Offset uint64
	Data   []byte
}

// ErrNoImage is the error of NewImage where memory images are not available
// (a system without memfd): callers then initialize memories by copying.
var ErrNoImage = errors.New("memory images are not available on this system")

// Image is the initial contents of a linear memory, held once in a sealed
// (read-only) anonymous file and mapped copy-on-write into every memory of
// an Allocator made with NewWithImage: a memory starts with the image's
// pages shared, and a page is copied only when that memory first writes it.
// No memory's writes reach the file or another memory.
//
// The file's descriptor is open until Close; Acquire/Release keep it open
// while memories are being created from it.
type Image struct {
	lo, hi uint64 // the bytes [lo, hi) of the memory are the file's

	mu     sync.Mutex
	fd     int // -1 once closed
	users  int
	closed bool
}

// Bounds returns the range of memory the image covers, [lo, hi); both are
// multiples of the host's page size and outside it the memory is zero.
func (im *Image) Bounds() (lo, hi uint64) { return im.lo, im.hi }

// Acquire keeps the image's file open until Release, so that memories can
// be created from it; it reports false once the image is closed.
func (im *Image) Acquire() bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return false
	}
	im.users++
	return true
}

// Release ends an Acquire.
func (im *Image) Release() {
	im.mu.Lock()
	im.users--
	last := im.users == 0 && im.closed
	im.mu.Unlock()
	if last {
		im.closeFile()
	}
}

// Close closes the image's file once no Acquire holds it; memories already
// mapped keep their contents. Closing twice, or a nil Image, is a no-op.
func (im *Image) Close() error {
	if im == nil {
		return nil
	}
	im.mu.Lock()
	if im.closed {
		im.mu.Unlock()
		return nil
	}
	im.closed = true
	last := im.users == 0
	im.mu.Unlock()
	if last {
		im.closeFile()
	}
	return nil
}

// file returns the open descriptor; the caller holds an Acquire.
func (im *Image) file() int { return im.fd }

// checkSegments validates the segments of a memory of size bytes and
// returns the page-aligned range they cover.
func checkSegments(size uint64, segs []Segment, hostPage uint64) (lo, hi uint64, err error) {
	lo, hi = size, 0
	for i, s := range segs {
		if len(s.Data) == 0 {
			continue
		}
		end := s.Offset + uint64(len(s.Data))
		if end < s.Offset || end > size {
			return 0, 0, fmt.Errorf("memory image segment %d ([%d, %d)) is outside the memory's %d bytes", i, s.Offset, end, size)
		}
		lo, hi = min(lo, s.Offset), max(hi, end)
	}
	if hi == 0 {
		return 0, 0, nil
	}
	lo = lo / hostPage * hostPage
	hi = min((hi+hostPage-1)/hostPage*hostPage, size)
	return lo, hi, nil
}
