package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// hostFS serves a host directory through an os.Root, so no path and no
// symbolic link, including one the guest creates, resolves outside it. An
// attempt to leave it fails with EPERM. Errors carry only an errno, never a
// host path.
type hostFS struct {
	sys.UnimplementedFS
	root     *os.Root
	beneath  *os.File // the same directory, for openat2; nil without it
	readOnly bool
}

var _ sys.FS = (*hostFS)(nil)

// Close releases the directory handle. The layer must not be used after.
func (h *hostFS) Close() error {
	if h.beneath != nil {
		h.beneath.Close()
	}
	return h.root.Close()
}

// hostName turns a path from wazero into a name relative to the root,
// keeping a trailing slash (the kernel then requires a directory).
func hostName(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

func isSyscallErr(err error) bool {
	var se syscall.Errno
	var e sys.Errno
	return errors.As(err, &se) || errors.As(err, &e)
}

func toOsFlag(flag sys.Oflag) int {
	var f int
	switch flag & (sys.O_RDONLY | sys.O_WRONLY | sys.O_RDWR) {
	case sys.O_WRONLY:
		f = os.O_WRONLY
	case sys.O_RDWR:
		f = os.O_RDWR
	}
	for _, m := range [...]struct {
		s sys.Oflag
		o int
	}{
		{sys.O_APPEND, os.O_APPEND}, {sys.O_CREAT, os.O_CREATE}, {sys.O_EXCL, os.O_EXCL},
		{sys.O_SYNC, os.O_SYNC}, {sys.O_TRUNC, os.O_TRUNC},
		{sys.O_DIRECTORY, syscall.O_DIRECTORY}, {sys.O_NOFOLLOW, syscall.O_NOFOLLOW},
		{sys.O_DSYNC, syscall.O_DSYNC},
	} {
		if flag&m.s != 0 {
			f |= m.o
		}
	}
	return f
}

// OpenFile implements sys.FS.
func (h *hostFS) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	name := hostName(p)
	write := flag&(sys.O_WRONLY|sys.O_RDWR) != 0
	if flag&sys.O_NOFOLLOW != 0 {
		// os.Root resolves links itself; refuse a final one as open(2) does.
		if fi, err := h.root.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, sys.ELOOP
		}
	}
	if h.readOnly && (write || flag&(sys.O_CREAT|sys.O_TRUNC) != 0) {
		fi, err := h.root.Stat(name)
		switch {
		case err == nil && fi.IsDir() && write:
			return nil, sys.EISDIR
		case err == nil && flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL:
			return nil, sys.EEXIST
		case err == nil && !write && flag&sys.O_TRUNC == 0:
			flag &^= sys.O_CREAT // an existing file opened to read
		default:
			return nil, sys.EROFS
		}
	}
	if fd, errno, ok := h.openat2(name, toOsFlag(flag), uint32(perm.Perm())); ok {
		if errno != 0 {
			return nil, errno
		}
		return &hostFile{f: os.NewFile(uintptr(fd), "."), fd: fd, flag: flag, readOnly: h.readOnly}, 0
	}
	f, err := h.root.OpenFile(name, toOsFlag(flag), perm)
	if err != nil {
		return nil, errnoOf(err)
	}
	return &hostFile{f: f, fd: int(f.Fd()), flag: flag, readOnly: h.readOnly}, 0
}

// Lstat implements sys.FS.
func (h *hostFS) Lstat(p string) (wsys.Stat_t, sys.Errno) {
	if st, errno, ok := h.statBeneath(hostName(p), false); ok {
		return st, errno
	}
	fi, err := h.root.Lstat(hostName(p))
	if err != nil {
		return wsys.Stat_t{}, errnoOf(err)
	}
	return wsys.NewStat_t(fi), 0
}

// Stat implements sys.FS.
func (h *hostFS) Stat(p string) (wsys.Stat_t, sys.Errno) {
	if st, errno, ok := h.statBeneath(hostName(p), true); ok {
		return st, errno
	}
	fi, err := h.root.Stat(hostName(p))
	if err != nil {
		return wsys.Stat_t{}, errnoOf(err)
	}
	return wsys.NewStat_t(fi), 0
}

// Mkdir implements sys.FS.
func (h *hostFS) Mkdir(p string, perm fs.FileMode) sys.Errno {
	name := hostName(p)
	if h.readOnly {
		if _, err := h.root.Lstat(name); err == nil {
			return sys.EEXIST
		}
		return sys.EROFS
	}
	errno := errnoOf(h.root.Mkdir(name, perm))
	if errno == sys.ENOTDIR {
		errno = sys.ENOENT // as wazero's DirFS reports it
	}
	return errno
}

// Chmod implements sys.FS.
func (h *hostFS) Chmod(p string, perm fs.FileMode) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	return errnoOf(h.root.Chmod(hostName(p), perm))
}

// Rename implements sys.FS.
func (h *hostFS) Rename(from, to string) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	if errno := h.checkMoved(from, to); errno != 0 {
		return errno
	}
	fd, fbase, errno := h.parent(from)
	if errno != 0 {
		return errno
	}
	defer fd.Close()
	td, tbase, errno := h.parent(to)
	if errno != 0 {
		return errno
	}
	defer td.Close()
	// renameat on the parents, not os.Root.Rename: like os.Rename that
	// refuses (EEXIST) to replace a directory, which rename(2) allows.
	return renameAt(fd, fbase, td, tbase)
}

// parent opens the parent directory of p through the root and returns it
// with the last component, which the caller then handles with an *at system
// call: one name, never followed, so nothing leaves the root.
func (h *hostFS) parent(p string) (*os.File, string, sys.Errno) {
	name := strings.TrimRight(hostName(p), "/")
	dir, base := path.Split(name)
	if base == "." || base == ".." || name == "." {
		return nil, "", sys.EINVAL
	}
	d, err := h.root.OpenFile(hostName(dir), os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, "", errnoOf(err)
	}
	return d, base, 0
}

// Rmdir implements sys.FS.
func (h *hostFS) Rmdir(p string) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	return h.unlinkat(p, true)
}

// Unlink implements sys.FS.
func (h *hostFS) Unlink(p string) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	return h.unlinkat(p, false)
}

// unlinkat removes the last component of p relative to its parent,
// opened through the root, so the kernel's errno (EISDIR, ENOTDIR,
// ENOTEMPTY) reaches the guest unchanged and the last component is never
// followed.
func (h *hostFS) unlinkat(p string, dir bool) sys.Errno {
	d, base, errno := h.parent(p)
	if errno != 0 {
		return errno
	}
	defer d.Close()
	return unlinkAt(d, base, dir)
}

// Link implements sys.FS.
func (h *hostFS) Link(oldPath, newPath string) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	if errno := h.checkMoved(oldPath, newPath); errno != 0 {
		return errno
	}
	return errnoOf(h.root.Link(hostName(oldPath), hostName(newPath)))
}

// Symlink implements sys.FS. A link whose target leads outside the
// directory is refused with EPERM, as wasmtime refuses it: wrun would never
// follow it there, but it stays on the host, where a backup or a `cp -r`
// may. So are absolute targets, and targets with a ".." after a name
// ("a/../.."), which only the state of the directory at the time of use
// could tell inside or out. Link and Rename check a link they move the
// same way; a directory renamed higher up can still carry a link out of
// the directory that was inside where it was made.
func (h *hostFS) Symlink(oldPath, linkName string) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	if errno := h.checkLink(oldPath, linkName); errno != 0 {
		return errno
	}
	return errnoOf(h.root.Symlink(oldPath, hostName(linkName)))
}

// checkLink returns EPERM when a link at linkName with target would lead
// outside the directory: target is absolute, has a ".." after a name, or
// has more leading ".." than the link's directory is deep once its own
// links are resolved.
func (h *hostFS) checkLink(target, linkName string) sys.Errno {
	if path.IsAbs(target) {
		return sys.EPERM
	}
	ups, named := 0, false
	for _, c := range splitPath(target) {
		switch {
		case c != "..":
			named = true
		case named:
			return sys.EPERM
		default:
			ups++
		}
	}
	if ups == 0 {
		return 0
	}
	depth, errno := h.depth(path.Dir(strings.TrimRight(hostName(linkName), "/")))
	if errno != 0 {
		return errno
	}
	if ups > depth {
		return sys.EPERM
	}
	return 0
}

// depth returns how many directories below the root dir is, once every
// link on the way is resolved.
func (h *hostFS) depth(dir string) (int, sys.Errno) {
	rest := splitPath(dir)
	var done []string
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == ".." {
			if len(done) == 0 {
				return 0, sys.EPERM
			}
			done = done[:len(done)-1]
			continue
		}
		p := path.Join(path.Join(done...), c)
		fi, err := h.root.Lstat(p)
		if err != nil {
			return 0, errnoOf(err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if links++; links > maxSymlinks {
			return 0, sys.ELOOP
		}
		target, err := h.root.Readlink(p)
		if err != nil {
			return 0, errnoOf(err)
		}
		if path.IsAbs(target) {
			return 0, sys.EPERM
		}
		rest = append(splitPath(target), rest...)
	}
	return len(done), 0
}

// checkMoved is checkLink for whatever is at from, when it is a link about
// to be renamed or hard-linked to to.
func (h *hostFS) checkMoved(from, to string) sys.Errno {
	fi, err := h.root.Lstat(strings.TrimRight(hostName(from), "/"))
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return 0 // not a link; the operation reports what is wrong
	}
	target, err := h.root.Readlink(strings.TrimRight(hostName(from), "/"))
	if err != nil {
		return errnoOf(err)
	}
	return h.checkLink(target, to)
}

// Readlink implements sys.FS.
func (h *hostFS) Readlink(p string) (string, sys.Errno) {
	dst, err := h.root.Readlink(hostName(p))
	if err != nil {
		return "", errnoOf(err)
	}
	return dst, 0
}

// Utimens implements sys.FS.
func (h *hostFS) Utimens(p string, atim, mtim int64) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	f, err := h.root.OpenFile(hostName(p), os.O_RDONLY, 0)
	if err != nil {
		return errnoOf(err)
	}
	defer f.Close()
	return futimens(int(f.Fd()), atim, mtim)
}

// Lutimens implements LutimensFS: utimensat(AT_SYMLINK_NOFOLLOW) on the
// last component, relative to its parent opened through the root.
func (h *hostFS) Lutimens(p string, atim, mtim int64) sys.Errno {
	if h.readOnly {
		return sys.EROFS
	}
	if strings.Trim(path.Clean("/"+p), "/") == "" {
		return h.Utimens(p, atim, mtim) // the root is no link
	}
	d, base, errno := h.parent(p)
	if errno != 0 {
		return errno
	}
	defer d.Close()
	return lutimensAt(d, base, atim, mtim)
}

// hostFile is an open host file, with the errno conventions of wazero's
// own os.File adapter.
type hostFile struct {
	f        *os.File
	fd       int
	flag     sys.Oflag
	readOnly bool
	closed   bool
	st       *wsys.Stat_t
}

var _ sys.File = (*hostFile)(nil)

func (f *hostFile) cached() (*wsys.Stat_t, sys.Errno) {
	if f.st == nil {
		if _, errno := f.Stat(); errno != 0 {
			return nil, errno
		}
	}
	return f.st, 0
}

// Dev implements sys.File.
func (f *hostFile) Dev() (uint64, sys.Errno) {
	st, errno := f.cached()
	if errno != 0 {
		return 0, errno
	}
	return st.Dev, 0
}

// Ino implements sys.File.
func (f *hostFile) Ino() (wsys.Inode, sys.Errno) {
	st, errno := f.cached()
	if errno != 0 {
		return 0, errno
	}
	return st.Ino, 0
}

// IsDir implements sys.File.
func (f *hostFile) IsDir() (bool, sys.Errno) {
	st, errno := f.cached()
	if errno != 0 {
		return false, errno
	}
	return st.Mode.IsDir(), 0
}

// IsAppend implements sys.File.
func (f *hostFile) IsAppend() bool { return f.flag&sys.O_APPEND != 0 }

// SetAppend implements sys.File.
func (f *hostFile) SetAppend(enable bool) sys.Errno {
	if f.closed {
		return sys.EBADF
	}
	if errno := setAppend(f.fd, enable); errno != 0 {
		return f.err(errno)
	}
	if enable {
		f.flag |= sys.O_APPEND
	} else {
		f.flag &^= sys.O_APPEND
	}
	return 0
}

// Stat implements sys.File.
func (f *hostFile) Stat() (wsys.Stat_t, sys.Errno) {
	if f.closed {
		return wsys.Stat_t{}, sys.EBADF
	}
	fi, err := f.f.Stat()
	if err != nil {
		return wsys.Stat_t{}, errnoOf(err)
	}
	st := wsys.NewStat_t(fi)
	f.st = &st
	return st, 0
}

// err adjusts an errno as wazero's adapter does: closed is EBADF, a
// directory EISDIR.
func (f *hostFile) err(errno sys.Errno) sys.Errno {
	if f.closed {
		return sys.EBADF
	}
	if isDir, e := f.IsDir(); e == 0 && isDir {
		return sys.EISDIR
	}
	return errno
}

// Read implements sys.File.
func (f *hostFile) Read(buf []byte) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Read(buf)
	if err != nil && err != io.EOF {
		return n, f.err(errnoOf(err))
	}
	return n, 0
}

// Pread implements sys.File.
func (f *hostFile) Pread(buf []byte, off int64) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return n, f.err(errnoOf(err))
	}
	return n, 0
}

// Seek implements sys.File.
func (f *hostFile) Seek(offset seekOffset, whence int) (int64, sys.Errno) {
	if whence < io.SeekStart || whence > io.SeekEnd {
		return 0, sys.EINVAL
	}
	if isDir, _ := f.IsDir(); isDir && !f.closed {
		if offset != 0 || whence != io.SeekStart {
			return 0, sys.EISDIR
		}
	}
	n, err := f.f.Seek(offset, whence)
	if err != nil {
		return 0, f.err(errnoOf(err))
	}
	return n, 0
}

// Readdir implements sys.File.
func (f *hostFile) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	if f.closed {
		return nil, sys.EBADF
	}
	fis, err := f.f.Readdir(n)
	if err != nil && err != io.EOF {
		errno := errnoOf(err)
		if errno == sys.EINVAL || errno == sys.ENOTDIR {
			errno = sys.EBADF
		}
		return nil, errno
	}
	out := make([]sys.Dirent, 0, len(fis))
	for _, fi := range fis {
		out = append(out, sys.Dirent{Name: fi.Name(), Ino: wsys.NewStat_t(fi).Ino, Type: fi.Mode().Type()})
	}
	return out, 0
}

// Write implements sys.File.
func (f *hostFile) Write(buf []byte) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Write(buf)
	if err != nil {
		return n, f.err(errnoOf(err))
	}
	return n, 0
}

// Pwrite implements sys.File.
func (f *hostFile) Pwrite(buf []byte, off int64) (int, sys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	if off < 0 {
		return 0, sys.EINVAL
	}
	n, err := syscall.Pwrite(f.fd, buf, off)
	if err != nil {
		return max(n, 0), f.err(errnoOf(err))
	}
	return n, 0
}

// Truncate implements sys.File.
func (f *hostFile) Truncate(size int64) sys.Errno {
	if size < 0 {
		return sys.EINVAL
	}
	if err := f.f.Truncate(size); err != nil {
		return f.err(errnoOf(err))
	}
	return 0
}

// Sync implements sys.File.
func (f *hostFile) Sync() sys.Errno { return errnoOf(f.f.Sync()) }

// Datasync implements sys.File.
func (f *hostFile) Datasync() sys.Errno { return errnoOf(f.f.Sync()) }

// Utimens implements sys.File.
func (f *hostFile) Utimens(atim, mtim int64) sys.Errno {
	if f.closed {
		return sys.EBADF
	}
	if f.readOnly {
		return sys.EROFS
	}
	return futimens(f.fd, atim, mtim)
}

// Close implements sys.File.
func (f *hostFile) Close() sys.Errno {
	if f.closed {
		return 0
	}
	f.closed = true
	return errnoOf(f.f.Close())
}
