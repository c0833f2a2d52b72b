package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// source is the shared, read-only content of a regular file. Every open of
// the file gets its own reader; the bytes behind it are never copied per
// instance.
type source interface {
	open() (reader, sys.Errno)
}

type reader interface {
	io.ReaderAt
	io.Closer
}

// bytesSource serves content held in memory (the map layer).
type bytesSource []byte

func (b bytesSource) open() (reader, sys.Errno) { return bytesReader(b), 0 }

type bytesReader []byte

func (b bytesReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (bytesReader) Close() error { return nil }

// sectionSource serves a byte range of a shared io.ReaderAt (a file inside a
// tar blob).
type sectionSource struct {
	r         io.ReaderAt
	off, size int64
}

func (s sectionSource) open() (reader, sys.Errno) {
	return nopCloser{io.NewSectionReader(s.r, s.off, s.size)}, 0
}

type nopCloser struct{ io.ReaderAt }

func (nopCloser) Close() error { return nil }

// rootSource serves a file of a host directory, opened through os.Root so a
// path can never leave that directory.
type rootSource struct {
	root *os.Root
	name string
}

func (s rootSource) open() (reader, sys.Errno) {
	f, err := s.root.Open(s.name)
	if err != nil {
		return nil, errnoOf(err)
	}
	return f, 0
}

// lowerSource serves a file of an arbitrary lower sys.FS.
type lowerSource struct {
	fs   sys.FS
	path string
}

func (s lowerSource) open() (reader, sys.Errno) {
	f, errno := s.fs.OpenFile(s.path, sys.O_RDONLY, 0)
	if errno != 0 {
		return nil, errno
	}
	return sysReader{f}, 0
}

type sysReader struct{ f sys.File }

func (r sysReader) ReadAt(p []byte, off int64) (int, error) {
	n, errno := r.f.Pread(p, off)
	if errno != 0 {
		return n, errno
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r sysReader) Close() error {
	if errno := r.f.Close(); errno != 0 {
		return errno
	}
	return nil
}

// readFull fills b from r at off, stopping early only at end of file.
func readFull(r io.ReaderAt, b []byte, off int64) (int, sys.Errno) {
	n, err := r.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, errnoOf(err)
	}
	return n, 0
}

// errnoOf maps a Go error to an errno. Errors from os.Root that are not
// syscall errors (a path escaping the root) become EPERM.
func errnoOf(err error) sys.Errno {
	if err == nil {
		return 0
	}
	var errno sys.Errno
	if errors.As(err, &errno) {
		return errno
	}
	if e := hostErrno(err); e != sys.EIO {
		return e
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil && !isSyscallErr(pe.Err) {
		return sys.EPERM
	}
	return sys.EIO
}

// file is an open file or directory of a tree.
type file struct {
	t      *tree
	n      *node
	flag   sys.Oflag
	pos    int64
	r      reader // open reader of n.src, lazily
	closed bool

	after   string // directory listing: the last name returned
	started bool   // whether after is set (a pass has begun)
}

var _ sys.File = (*file)(nil)

func (f *file) access() sys.Oflag { return f.flag & (sys.O_RDONLY | sys.O_WRONLY | sys.O_RDWR) }
func (f *file) readable() bool    { return f.access() != sys.O_WRONLY }
func (f *file) writable() bool    { return f.access() != sys.O_RDONLY }

// Dev implements sys.File.
func (f *file) Dev() (uint64, sys.Errno) { return 0, 0 }

// Ino implements sys.File.
func (f *file) Ino() (wsys.Inode, sys.Errno) { return f.n.ino, 0 }

// IsDir implements sys.File.
func (f *file) IsDir() (bool, sys.Errno) { return f.n.isDir(), 0 }

// IsAppend implements sys.File.
func (f *file) IsAppend() bool { return f.flag&sys.O_APPEND != 0 }

// SetAppend implements sys.File.
func (f *file) SetAppend(enable bool) sys.Errno {
	if f.closed {
		return sys.EBADF
	}
	if f.n.isDir() {
		return sys.EISDIR
	}
	if enable {
		f.flag |= sys.O_APPEND
	} else {
		f.flag &^= sys.O_APPEND
	}
	return 0
}

// Stat implements sys.File.
func (f *file) Stat() (wsys.Stat_t, sys.Errno) {
	if f.closed {
		return wsys.Stat_t{}, sys.EBADF
	}
	defer f.t.lock()()
	return f.n.stat(), 0
}

// check returns the errno for a data operation on f, as wazero's os.File
// adapter reports it.
func (f *file) check(want bool) sys.Errno {
	switch {
	case f.closed:
		return sys.EBADF
	case f.n.isDir():
		return sys.EISDIR
	case !want:
		return sys.EBADF
	}
	return 0
}

// Read implements sys.File.
func (f *file) Read(buf []byte) (int, sys.Errno) {
	if errno := f.check(f.readable()); errno != 0 {
		return 0, errno
	}
	if len(buf) == 0 {
		return 0, 0
	}
	n, errno := f.pread(buf, f.pos)
	f.pos += int64(n)
	return n, errno
}

// Pread implements sys.File.
func (f *file) Pread(buf []byte, off int64) (int, sys.Errno) {
	if errno := f.check(f.readable()); errno != 0 {
		return 0, errno
	}
	if off < 0 {
		return 0, sys.EINVAL
	}
	if len(buf) == 0 {
		return 0, 0
	}
	return f.pread(buf, off)
}

func (f *file) pread(buf []byte, off int64) (int, sys.Errno) {
	defer f.t.lock()()
	n := f.n
	if n.src == nil {
		return n.data.readAt(buf, off), 0
	}
	if off >= n.size {
		return 0, 0
	}
	if f.r == nil {
		r, errno := n.src.open()
		if errno != 0 {
			return 0, errno
		}
		f.r = r
	}
	if rem := n.size - off; int64(len(buf)) > rem {
		buf = buf[:rem]
	}
	return readFull(f.r, buf, off)
}

// Seek implements sys.File.
func (f *file) Seek(offset seekOffset, whence int) (int64, sys.Errno) {
	if f.closed {
		return 0, sys.EBADF
	}
	if f.n.isDir() {
		if offset == 0 && whence == io.SeekStart {
			f.after, f.started = "", false
			return 0, 0
		}
		return 0, sys.EISDIR
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.pos
	case io.SeekEnd:
		unlock := f.t.lock()
		base = f.n.fileSize()
		unlock()
	default:
		return 0, sys.EINVAL
	}
	if base+offset < 0 {
		return 0, sys.EINVAL
	}
	f.pos = base + offset
	return f.pos, 0
}

// Readdir implements sys.File. A directory lists in name order and an open
// directory remembers the last name it returned, not a copy of the
// listing: entries removed meanwhile are skipped, entries added after that
// name are listed, and no open directory holds memory in proportion to the
// directory's size (the one sorted list of names belongs to the directory).
func (f *file) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	if f.closed || !f.n.isDir() {
		return nil, sys.EBADF
	}
	defer f.t.lock()()
	if errno := f.t.load(f.n); errno != 0 {
		return nil, errno
	}
	names := f.t.sortedNames(f.n)
	i := sort.SearchStrings(names, f.after)
	if f.started && i < len(names) && names[i] == f.after {
		i++
	}
	var out []sys.Dirent
	for ; i < len(names) && (n <= 0 || len(out) < n); i++ {
		k := f.n.kids[names[i]]
		out = append(out, sys.Dirent{Name: names[i], Ino: k.ino, Type: k.mode.Type()})
		f.after, f.started = names[i], true
	}
	return out, 0
}

// Write implements sys.File.
func (f *file) Write(buf []byte) (int, sys.Errno) {
	if errno := f.check(f.writable()); errno != 0 {
		return 0, errno
	}
	if len(buf) == 0 {
		return 0, 0
	}
	defer f.t.lock()()
	if f.IsAppend() {
		f.pos = f.n.fileSize()
	}
	n, errno := f.t.writeAt(f.n, buf, f.pos)
	f.pos += int64(n)
	return n, errno
}

// Pwrite implements sys.File. On a file opened for append it appends, as
// Linux does.
func (f *file) Pwrite(buf []byte, off int64) (int, sys.Errno) {
	if errno := f.check(f.writable()); errno != 0 {
		return 0, errno
	}
	if off < 0 {
		return 0, sys.EINVAL
	}
	if len(buf) == 0 {
		return 0, 0
	}
	defer f.t.lock()()
	if f.IsAppend() {
		off = f.n.fileSize()
	}
	return f.t.writeAt(f.n, buf, off)
}

// Truncate implements sys.File. A file not open for writing gives EINVAL,
// as ftruncate does on Linux.
func (f *file) Truncate(size int64) sys.Errno {
	switch {
	case f.closed:
		return sys.EBADF
	case f.n.isDir():
		return sys.EISDIR
	case size < 0 || !f.writable():
		return sys.EINVAL
	}
	defer f.t.lock()()
	return f.t.truncate(f.n, size)
}

// Sync implements sys.File.
func (f *file) Sync() sys.Errno {
	if f.closed {
		return sys.EBADF
	}
	return 0
}

// Datasync implements sys.File.
func (f *file) Datasync() sys.Errno { return f.Sync() }

// Utimens implements sys.File.
func (f *file) Utimens(atim, mtim int64) sys.Errno {
	if f.closed {
		return sys.EBADF
	}
	if f.t.readOnly {
		return sys.EROFS
	}
	defer f.t.lock()()
	setTimes(f.n, atim, mtim)
	return 0
}

// Close implements sys.File. The last close of a file unlinked while open
// releases its content.
func (f *file) Close() sys.Errno {
	if f.closed {
		return 0
	}
	f.closed = true
	if !f.t.readOnly {
		unlock := f.t.lock()
		if f.n.opens--; f.n.opens == 0 && f.n.nlink == 0 {
			f.t.release(f.n)
		}
		unlock()
	}
	if f.r != nil {
		return errnoOf(f.r.Close())
	}
	return 0
}
