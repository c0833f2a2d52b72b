//go:build linux

package linearmem

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// NewImage returns the image of a memory of size bytes (a multiple of
// PageSize) that starts zero except for segs, applied in order (a later
// segment overwrites an earlier one where they overlap, as instantiation
// does). The image lives in a sealed memfd: nobody, the host included, can
// write it once made.
func NewImage(size uint64, segs []Segment) (*Image, error) {
	lo, hi, err := checkSegments(size, segs, uint64(os.Getpagesize()))
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("wrun-memory-image", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("creating a memory image: %w", err)
	}
	im := &Image{lo: lo, hi: hi, fd: fd}
	if err := im.fill(segs); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("writing a memory image: %w", err)
	}
	return im, nil
}

func (im *Image) fill(segs []Segment) error {
	if err := unix.Ftruncate(im.fd, int64(im.hi)); err != nil {
		return err
	}
	// One write of the whole range: a module may have tens of thousands of
	// small segments (Go's), and a write each costs more than the copy.
	buf := make([]byte, im.hi-im.lo)
	for _, s := range segs {
		if len(s.Data) > 0 { // an empty one may lie anywhere
			copy(buf[s.Offset-im.lo:], s.Data)
		}
	}
	for b, off := buf, int64(im.lo); len(b) > 0; {
		n, err := unix.Pwrite(im.fd, b, off)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	_, err := unix.FcntlInt(uintptr(im.fd), unix.F_ADD_SEALS,
		unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL)
	return err
}

func (im *Image) closeFile() {
	im.mu.Lock()
	fd := im.fd
	im.fd = -1
	im.mu.Unlock()
	if fd >= 0 {
		unix.Close(fd)
	}
}

// readInto copies the image into buf, the whole memory (the fallback of a
// memory that could not be mapped).
func (im *Image) readInto(buf []byte) error {
	for b, off := buf[im.lo:im.hi], int64(im.lo); len(b) > 0; {
		n, err := unix.Pread(im.file(), b, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return fmt.Errorf("memory image truncated at %d", off)
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}
