package vfs

import (
	"io/fs"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental/sys"
)

// Quota is a byte budget that writable layers wrapped by WithQuota draw
// on, shared by every run that writes through them. Make one with
// NewQuota.
type Quota struct {
	max  int64
	used atomic.Int64
}

// NewQuota returns a budget of max bytes of which used are spent already
// (what the directory behind the layer holds, say).
func NewQuota(max, used int64) *Quota {
	q := &Quota{max: max}
	q.used.Store(used)
	return q
}

// Used returns the bytes charged so far.
func (q *Quota) Used() int64 { return q.used.Load() }

// charge spends n bytes, or fails with ENOSPC when that would pass max.
func (q *Quota) charge(n int64) sys.Errno {
	if n <= 0 {
		return 0
	}
	for {
		u := q.used.Load()
		if u+n > q.max {
			return errNoSpace
		}
		if q.used.CompareAndSwap(u, u+n) {
			return 0
		}
	}
}

// quotaEntryBytes is what a new name (file, directory, link) costs: a
// file system block, what it takes on disk at least.
const quotaEntryBytes = 4096

// WithQuota returns base (a writable layer, e.g. a host directory from
// Host) with every write through it charged to q: the bytes a write or a
// truncation adds beyond a file's end, and 4 KiB for every file,
// directory or link it creates. Nothing is credited back (a rewrite of a
// file is charged again), so the bytes base gains through the layer never
// exceed what q had left: a guest cannot fill the host's disk through it.
// A change past the budget fails with ENOSPC.
func WithQuota(base sys.FS, q *Quota) sys.FS {
	return &quotaFS{FS: base, q: q}
}

type quotaFS struct {
	sys.FS
	q *Quota
}

// OpenFile implements sys.FS.
func (f *quotaFS) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	if flag&sys.O_CREAT != 0 {
		if _, errno := f.FS.Lstat(p); errno == sys.ENOENT {
			if errno := f.q.charge(quotaEntryBytes); errno != 0 {
				return nil, errno
			}
		}
	}
	file, errno := f.FS.OpenFile(p, flag, perm)
	if errno != 0 || flag&(sys.O_WRONLY|sys.O_RDWR) == 0 {
		return file, errno
	}
	return &quotaFile{File: file, q: f.q}, 0
}

// Mkdir implements sys.FS.
func (f *quotaFS) Mkdir(p string, perm fs.FileMode) sys.Errno {
	if errno := f.q.charge(quotaEntryBytes); errno != 0 {
		return errno
	}
	return f.FS.Mkdir(p, perm)
}

// Link implements sys.FS.
func (f *quotaFS) Link(oldPath, newPath string) sys.Errno {
	if errno := f.q.charge(quotaEntryBytes); errno != 0 {
		return errno
	}
	return f.FS.Link(oldPath, newPath)
}

// Symlink implements sys.FS.
func (f *quotaFS) Symlink(oldPath, linkName string) sys.Errno {
	if errno := f.q.charge(quotaEntryBytes + int64(len(oldPath))); errno != 0 {
		return errno
	}
	return f.FS.Symlink(oldPath, linkName)
}

// quotaFile is a file of a quotaFS opened for writing.
type quotaFile struct {
	sys.File
	q *Quota
}

// grow charges what making the file end at end adds.
func (f *quotaFile) grow(end int64) sys.Errno {
	st, errno := f.File.Stat()
	if errno != 0 {
		return errno
	}
	return f.q.charge(end - st.Size)
}

// Write implements sys.File.
func (f *quotaFile) Write(buf []byte) (int, sys.Errno) {
	off, errno := f.File.Seek(0, 1) // io.SeekCurrent
	if errno != 0 {
		// An append-only file: it grows by len(buf).
		if errno := f.q.charge(int64(len(buf))); errno != 0 {
			return 0, errno
		}
		return f.File.Write(buf)
	}
	if f.File.IsAppend() {
		st, errno := f.File.Stat()
		if errno != 0 {
			return 0, errno
		}
		off = st.Size
	}
	if errno := f.grow(off + int64(len(buf))); errno != 0 {
		return 0, errno
	}
	return f.File.Write(buf)
}

// Pwrite implements sys.File.
func (f *quotaFile) Pwrite(buf []byte, off int64) (int, sys.Errno) {
	if errno := f.grow(off + int64(len(buf))); errno != 0 {
		return 0, errno
	}
	return f.File.Pwrite(buf, off)
}

// Truncate implements sys.File.
func (f *quotaFile) Truncate(size int64) sys.Errno {
	if errno := f.grow(size); errno != 0 {
		return errno
	}
	return f.File.Truncate(size)
}
