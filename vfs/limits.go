package vfs

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental/sys"
)

// budget is the host memory that writable trees may hold: file bytes (the
// capacity allocated for them), nodes, directory entries with their names
// and link targets. One budget may be shared by several trees (every
// copy-on-write overlay of one run), so it has its own lock; a tree takes
// its own lock first.
type budget struct {
	mu   sync.Mutex
	max  int64 // 0: no cap
	used int64
}

// reserve charges delta more bytes, or fails with ENOSPC when that would
// pass the cap. A negative delta credits bytes.
func (b *budget) reserve(delta int64) sys.Errno {
	b.mu.Lock()
	defer b.mu.Unlock()
	if delta > 0 && b.max > 0 && b.used+delta > b.max {
		return errNoSpace
	}
	b.used += delta
	return 0
}

// reserveUpTo charges as many bytes as fit between least and most, or
// fails with ENOSPC when least does not fit.
func (b *budget) reserveUpTo(least, most int64) (int64, sys.Errno) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max > 0 {
		most = min(most, b.max-b.used)
	}
	if most < least {
		return 0, errNoSpace
	}
	b.used += most
	return most, 0
}

// force charges delta bytes whatever the cap.
func (b *budget) force(delta int64) {
	b.mu.Lock()
	b.used += delta
	b.mu.Unlock()
}

// release credits n bytes.
func (b *budget) release(n int64) { b.force(-n) }

// usage returns the bytes charged.
func (b *budget) usage() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Limits bound what one run's guest can take of the host through the
// filesystem of its mounts (Limits.NewMountFS, Limits.FSConfig). The zero
// value sets no limit; wrun's runtime package states its own defaults.
type Limits struct {
	// MaxOpenFiles caps the files and directories open at once through
	// the mounts, the pre-opened root included, as RLIMIT_NOFILE does for
	// a process: an open past it fails with EMFILE (vfs.EMFILE, which
	// wazero's own WASI functions report as EIO) until a file is closed.
	// 0: no cap.
	MaxOpenFiles int
	// OverlayBytes caps the host memory that the copy-on-write overlays
	// among the mounts hold together, counted as NewMemFS counts it: a
	// change past it fails with ENOSPC (vfs.ENOSPC). 0: no cap.
	OverlayBytes int64
}

// counted is a file opened through a mountFS with an open-file limit: its
// first Close gives its slot back.
type counted struct {
	sys.File
	m      *mountFS
	closed bool
}

// Close implements sys.File.
func (f *counted) Close() sys.Errno {
	if !f.closed {
		f.closed = true
		f.m.mu.Lock()
		f.m.open--
		f.m.mu.Unlock()
	}
	return f.File.Close()
}

// acquire takes a slot for one more open file, or fails with EMFILE.
func (m *mountFS) acquire() sys.Errno {
	if m.maxOpen <= 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.open >= m.maxOpen {
		return errTooManyOpen
	}
	m.open++
	return 0
}

// count wraps f so that closing it gives its slot back, or gives the slot
// back at once when the open failed.
func (m *mountFS) count(f sys.File, errno sys.Errno) (sys.File, sys.Errno) {
	if m.maxOpen <= 0 {
		return f, errno
	}
	if errno != 0 {
		m.mu.Lock()
		m.open--
		m.mu.Unlock()
		return nil, errno
	}
	return &counted{File: f, m: m}, 0
}
