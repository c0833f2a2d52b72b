//go:build linux

package linearmem

import (
	"cmp"
	"fmt"
	"os"
	"slices"

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
	// Only the host pages some segment touches are written, a run of
	// adjacent ones at a time (a module may have thousands of small
	// segments, and a mapping each costs more than the copy); the rest of
	// the file stays a hole, which reads as zero. Each run is copied
	// straight into a shared mapping of its range of the file, unmapped
	// before the seal: no buffer ever holds it, and nothing maps the whole
	// range, which a module may make as large as its initial memory (4 GiB)
	// with two far-apart segments.
	pg := uint64(os.Getpagesize())
	idx := make([]int, 0, len(segs))
	for i, s := range segs {
		if len(s.Data) > 0 { // an empty one may lie anywhere
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(segs[a].Offset, segs[b].Offset) })
	end := func(i int) uint64 { return min((segs[i].Offset+uint64(len(segs[i].Data))+pg-1)/pg*pg, im.hi) }
	for len(idx) > 0 {
		lo, hi, n := segs[idx[0]].Offset/pg*pg, end(idx[0]), 1
		for ; n < len(idx) && segs[idx[n]].Offset <= hi; n++ {
			hi = max(hi, end(idx[n]))
		}
		run := idx[:n]
		idx = idx[n:]
		slices.Sort(run) // in the module's order: a later segment wins
		m, err := unix.Mmap(im.fd, int64(lo), int(hi-lo), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return err
		}
		for _, i := range run {
			copy(m[segs[i].Offset-lo:], segs[i].Data)
		}
		if err := unix.Munmap(m); err != nil {
			return err
		}
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
