package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/afero"
	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// FromFS returns a read-only layer serving fsys, as wazero's WithFSMount
// does: an embed.FS, a fstest.MapFS, an os.Root's FS or any io/fs
// filesystem. Every change fails with EROFS, except where the name's
// existence decides first (EEXIST, ENOENT, ENOTDIR, EISDIR), as on a
// read-only mount. Symbolic links are read when fsys implements
// fs.ReadLinkFS; fsys resolves them itself when opening a name, so use an
// os.Root's FS, not os.DirFS, for a host directory (os.DirFS follows links
// out of it). Files without a stable inode get a hash of their path, seeded
// per layer. Mount it under NewCopyOnWriteFS to let the guest write.
func FromFS(fsys fs.FS) sys.FS {
	return &aferoFS{fs: iofsAfero{afero.FromIOFS{FS: fsys}}, readOnly: true, relative: true, seed: randomSeed()}
}

// FromAfero returns a read-write layer serving the afero filesystem fsys
// (MemMapFs, BasePathFs, a zip or tar filesystem, or any backend a service
// already uses); fsys is shared, not copied, so the guest's changes are
// seen by every other user of fsys. The layer is safe for concurrent use;
// give every mount of one afero filesystem the same layer, as it serializes
// changes (afero's MemMapFs must not rename concurrently).
//
// The layer checks POSIX rules itself before calling fsys (ENOTEMPTY for a
// non-empty directory, ENOTDIR, EISDIR, EEXIST, EINVAL for moving a
// directory into itself), because most backends do not: MemMapFs removes
// a non-empty directory and then panics, or stops the process, on the
// orphans. Errors from fsys become bare errnos (os.ErrNotExist is ENOENT,
// os.ErrExist EEXIST, os.ErrPermission EPERM, a syscall.Errno passes
// through, anything else EIO), so no host path in an error text reaches the
// guest; a panic in fsys becomes EIO. What a backend cannot express
// degrades: hard links fail with ENOSYS; symbolic links need afero's
// Linker and LinkReader (OsFs, BasePathFs) and fail with ENOSYS otherwise;
// a link whose target is absolute or climbs out of the layer fails with
// EPERM, and through a BasePathFs a link is stored as the host path
// BasePathFs makes of it and read back relative, never as a host path.
// Inodes come from the host (OsFs) or a hash of the path; atime is what
// the backend keeps (MemMapFs keeps none: it reads as the mtime).
//
// No limit of package vfs applies to fsys's own storage: a MemMapFs grows
// as the guest writes. Mounted with Limits, its open files are counted.
func FromAfero(fsys afero.Fs) sys.FS {
	a := &aferoFS{fs: fsys, seed: randomSeed()}
	if _, ok := fsys.(*afero.ReadOnlyFs); ok {
		a.readOnly = true
	}
	if rp, ok := fsys.(interface{ RealPath(string) (string, error) }); ok {
		if base, err := rp.RealPath("/"); err == nil {
			a.base = strings.TrimSuffix(base, "/")
		}
	}
	return a
}

// aferoFS adapts an afero.Fs to sys.FS.
type aferoFS struct {
	sys.UnimplementedFS
	fs       afero.Fs
	readOnly bool
	relative bool   // names as io/fs wants them: "a/b", "." for the root
	base     string // a BasePathFs's host directory, to translate links
	seed     uint64
	mu       sync.Mutex // serializes changes
}

var _ sys.FS = (*aferoFS)(nil)

// iofsAfero adds io/fs's symbolic links to afero's adapter.
type iofsAfero struct{ afero.FromIOFS }

func (f iofsAfero) LstatIfPossible(name string) (os.FileInfo, bool, error) {
	fi, err := fs.Lstat(f.FS, name)
	return fi, true, err
}

func (f iofsAfero) ReadlinkIfPossible(name string) (string, error) { return fs.ReadLink(f.FS, name) }

// recovered turns a panic in the backend into EIO.
func recovered(errno *sys.Errno) {
	if recover() != nil {
		*errno = sys.EIO
	}
}

// toErrno maps a backend's error to an errno, never keeping its text.
func toErrno(err error) sys.Errno {
	if err == nil {
		return 0
	}
	var en syscall.Errno
	var se sys.Errno
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &en):
		return hostErrno(en)
	case errors.Is(err, afero.ErrNoSymlink), errors.Is(err, afero.ErrNoReadlink):
		return sys.ENOSYS
	case errors.Is(err, fs.ErrNotExist):
		return sys.ENOENT
	case errors.Is(err, fs.ErrExist):
		return sys.EEXIST
	case errors.Is(err, fs.ErrPermission):
		return sys.EPERM
	case errors.Is(err, fs.ErrClosed), errors.Is(err, afero.ErrFileClosed):
		return sys.EBADF
	case errors.Is(err, fs.ErrInvalid), errors.Is(err, afero.ErrOutOfRange):
		return sys.EINVAL
	case errors.Is(err, io.EOF):
		return 0
	}
	return sys.EIO
}

// clean turns a guest path into a clean relative one ("" for the root) and
// whether a trailing slash asks for a directory.
func clean(p string) (string, bool, sys.Errno) {
	dir := strings.HasSuffix(p, "/") && strings.Trim(p, "/") != ""
	c := path.Clean("/" + p)[1:]
	if strings.Contains("/"+p+"/", "/../") {
		// "/"+p cleaned cannot climb; refuse a name that tried.
		j := path.Clean(strings.TrimPrefix(p, "/"))
		if j == ".." || strings.HasPrefix(j, "../") {
			return "", false, sys.EPERM
		}
	}
	return c, dir, 0
}

// name is what the backend is called with for the clean path p.
func (a *aferoFS) name(p string) string {
	if a.relative {
		if p == "" {
			return "."
		}
		return p
	}
	return "/" + p
}

func (a *aferoFS) lstatInfo(p string) (fs.FileInfo, sys.Errno) {
	if l, ok := a.fs.(afero.Lstater); ok {
		fi, _, err := l.LstatIfPossible(a.name(p))
		return fi, toErrno(err)
	}
	fi, err := a.fs.Stat(a.name(p))
	return fi, toErrno(err)
}

func (a *aferoFS) statInfo(p string) (fs.FileInfo, sys.Errno) {
	fi, err := a.fs.Stat(a.name(p))
	return fi, toErrno(err)
}

// parentOK checks the directory that would hold p.
func (a *aferoFS) parentOK(p string) sys.Errno {
	d := path.Dir(p)
	if d == "." {
		return 0
	}
	fi, errno := a.statInfo(d)
	if errno != 0 {
		return errno
	}
	if !fi.IsDir() {
		return sys.ENOTDIR
	}
	return 0
}

func (a *aferoFS) statT(p string, fi fs.FileInfo) wsys.Stat_t {
	st := wsys.NewStat_t(fi)
	if st.Ino == 0 {
		st.Ino = pathIno(a.seed, p)
	}
	return st
}

// Lstat implements sys.FS.
func (a *aferoFS) Lstat(name string) (st wsys.Stat_t, errno sys.Errno) {
	defer recovered(&errno)
	p, dir, errno := clean(name)
	if errno != 0 {
		return st, errno
	}
	if dir {
		return a.Stat(name)
	}
	fi, errno := a.lstatInfo(p)
	if errno != 0 {
		return st, errno
	}
	return a.statT(p, fi), 0
}

// Stat implements sys.FS.
func (a *aferoFS) Stat(name string) (st wsys.Stat_t, errno sys.Errno) {
	defer recovered(&errno)
	p, dir, errno := clean(name)
	if errno != 0 {
		return st, errno
	}
	if errno := a.parentOK(p); errno != 0 {
		return st, errno
	}
	fi, errno := a.statInfo(p)
	if errno != 0 {
		return st, errno
	}
	if dir && !fi.IsDir() {
		return st, sys.ENOTDIR
	}
	return a.statT(p, fi), 0
}

// OpenFile implements sys.FS.
func (a *aferoFS) OpenFile(name string, flag sys.Oflag, perm fs.FileMode) (f sys.File, errno sys.Errno) {
	defer recovered(&errno)
	p, dir, errno := clean(name)
	if errno != 0 {
		return nil, errno
	}
	if errno := a.parentOK(p); errno != 0 {
		return nil, errno
	}
	write := flag&(sys.O_WRONLY|sys.O_RDWR) != 0
	if flag&sys.O_NOFOLLOW != 0 {
		if fi, errno := a.lstatInfo(p); errno == 0 && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, sys.ELOOP
		}
	}
	change := write || flag&(sys.O_CREAT|sys.O_TRUNC) != 0
	if change && !a.readOnly {
		a.mu.Lock()
		defer a.mu.Unlock()
	}
	fi, errno := a.statInfo(p)
	switch {
	case errno == sys.ENOENT:
		if flag&sys.O_CREAT == 0 || dir || flag&sys.O_DIRECTORY != 0 {
			return nil, sys.ENOENT
		}
		if a.readOnly {
			return nil, sys.EROFS
		}
	case errno != 0:
		return nil, errno
	case flag&sys.O_CREAT != 0 && flag&sys.O_EXCL != 0:
		return nil, sys.EEXIST
	case fi.IsDir():
		if write {
			return nil, sys.EISDIR
		}
	case dir || flag&sys.O_DIRECTORY != 0:
		return nil, sys.ENOTDIR
	case a.readOnly && (write || flag&sys.O_TRUNC != 0):
		return nil, sys.EROFS
	}
	osFlag := os.O_RDONLY
	switch {
	case flag&sys.O_RDWR != 0:
		osFlag = os.O_RDWR
	case flag&sys.O_WRONLY != 0:
		osFlag = os.O_WRONLY
	}
	if flag&sys.O_CREAT != 0 {
		osFlag |= os.O_CREATE
	}
	if flag&sys.O_EXCL != 0 {
		osFlag |= os.O_EXCL
	}
	if flag&sys.O_TRUNC != 0 && write {
		osFlag |= os.O_TRUNC
	}
	var af afero.File
	var err error
	if osFlag == os.O_RDONLY {
		af, err = a.fs.Open(a.name(p))
	} else {
		af, err = a.fs.OpenFile(a.name(p), osFlag, perm)
	}
	if err != nil {
		return nil, toErrno(err)
	}
	isDir := fi != nil && fi.IsDir()
	return &aferoFile{a: a, f: af, p: p, dir: isDir, read: flag&sys.O_WRONLY == 0, write: write, append: flag&sys.O_APPEND != 0}, 0
}

// Mkdir implements sys.FS.
func (a *aferoFS) Mkdir(name string, perm fs.FileMode) (errno sys.Errno) {
	defer recovered(&errno)
	p, _, errno := clean(name)
	if errno != 0 {
		return errno
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if errno := a.parentOK(p); errno == sys.ENOTDIR {
		return sys.ENOENT // as wazero's DirFS reports it
	} else if errno != 0 {
		return errno
	}
	if _, errno := a.lstatInfo(p); errno != sys.ENOENT {
		if errno == 0 {
			return sys.EEXIST
		}
		return errno
	}
	if a.readOnly {
		return sys.EROFS
	}
	return toErrno(a.fs.Mkdir(a.name(p), perm))
}

// Chmod implements sys.FS.
func (a *aferoFS) Chmod(name string, perm fs.FileMode) sys.Errno {
	return a.locked(name, false, func(p string, _ bool) sys.Errno {
		if _, errno := a.statInfo(p); errno != 0 {
			return errno
		}
		if a.readOnly {
			return sys.EROFS
		}
		return toErrno(a.fs.Chmod(a.name(p), perm))
	})
}

// isEmpty reports whether directory p has no entries.
func (a *aferoFS) isEmpty(p string) (bool, sys.Errno) {
	d, err := a.fs.Open(a.name(p))
	if err != nil {
		return false, toErrno(err)
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, toErrno(err)
	}
	return len(names) == 0, 0
}

// locked runs fn on the cleaned name under the adapter's lock, a backend
// panic turned into EIO (recovered); with parent, name's parent directory
// must exist first (parentOK).
func (a *aferoFS) locked(name string, parent bool, fn func(p string, dir bool) sys.Errno) (errno sys.Errno) {
	defer recovered(&errno)
	p, dir, errno := clean(name)
	if errno != 0 {
		return errno
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if parent {
		if errno := a.parentOK(p); errno != 0 {
			return errno
		}
	}
	return fn(p, dir)
}

// Rmdir implements sys.FS.
func (a *aferoFS) Rmdir(name string) sys.Errno {
	return a.locked(name, true, a.rmdir)
}

func (a *aferoFS) rmdir(p string, _ bool) sys.Errno {
	fi, errno := a.lstatInfo(p)
	switch {
	case errno != 0:
		return errno
	case !fi.IsDir():
		return sys.ENOTDIR
	case p == "":
		return errBusy
	case a.readOnly:
		return sys.EROFS
	}
	if empty, errno := a.isEmpty(p); errno != 0 {
		return errno
	} else if !empty {
		return sys.ENOTEMPTY
	}
	return toErrno(a.fs.Remove(a.name(p)))
}

// Unlink implements sys.FS.
func (a *aferoFS) Unlink(name string) sys.Errno {
	return a.locked(name, true, a.unlink)
}

func (a *aferoFS) unlink(p string, dir bool) sys.Errno {
	fi, errno := a.lstatInfo(p)
	switch {
	case errno != 0:
		return errno
	case fi.IsDir():
		return sys.EISDIR
	case dir:
		return sys.ENOTDIR
	case a.readOnly:
		return sys.EROFS
	}
	return toErrno(a.fs.Remove(a.name(p)))
}

// Rename implements sys.FS.
func (a *aferoFS) Rename(from, to string) (errno sys.Errno) {
	defer recovered(&errno)
	pf, _, errno := clean(from)
	if errno != 0 {
		return errno
	}
	pt, _, errno := clean(to)
	if errno != 0 {
		return errno
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if errno := a.parentOK(pf); errno != 0 {
		return errno
	}
	fi, errno := a.lstatInfo(pf)
	if errno != 0 {
		return errno
	}
	if errno := a.parentOK(pt); errno != 0 {
		return errno
	}
	if pf == "" || pt == "" {
		return errBusy
	}
	if a.readOnly {
		return sys.EROFS
	}
	if pf == pt {
		return 0
	}
	if fi.IsDir() && strings.HasPrefix(pt, pf+"/") {
		return sys.EINVAL
	}
	if ti, errno := a.lstatInfo(pt); errno == 0 {
		switch {
		case fi.IsDir() && !ti.IsDir():
			return sys.ENOTDIR
		case !fi.IsDir() && ti.IsDir():
			return sys.EISDIR
		case ti.IsDir():
			if empty, errno := a.isEmpty(pt); errno != 0 {
				return errno
			} else if !empty {
				return sys.ENOTEMPTY
			}
			if errno := toErrno(a.fs.Remove(a.name(pt))); errno != 0 {
				return errno
			}
		}
	} else if errno != sys.ENOENT {
		return errno
	}
	return toErrno(a.fs.Rename(a.name(pf), a.name(pt)))
}

// Link implements sys.FS: no afero backend has hard links.
func (a *aferoFS) Link(oldName, newName string) (errno sys.Errno) {
	defer recovered(&errno)
	po, _, errno := clean(oldName)
	if errno != 0 {
		return errno
	}
	pn, _, errno := clean(newName)
	if errno != 0 {
		return errno
	}
	fi, errno := a.lstatInfo(po)
	switch {
	case errno != 0:
		return errno
	case fi.IsDir():
		return sys.EPERM
	}
	if errno := a.parentOK(pn); errno != 0 {
		return errno
	}
	if _, errno := a.lstatInfo(pn); errno == 0 {
		return sys.EEXIST
	}
	if a.readOnly {
		return sys.EROFS
	}
	return sys.ENOSYS
}

// Symlink implements sys.FS.
func (a *aferoFS) Symlink(target, linkName string) sys.Errno {
	return a.locked(linkName, true, func(p string, _ bool) sys.Errno { return a.symlink(target, p) })
}

func (a *aferoFS) symlink(target, p string) sys.Errno {
	if _, errno := a.lstatInfo(p); errno == 0 {
		return sys.EEXIST
	}
	if a.readOnly {
		return sys.EROFS
	}
	if path.IsAbs(target) {
		return sys.EPERM
	}
	j := path.Join(path.Dir(p), target)
	if j == ".." || strings.HasPrefix(j, "../") {
		return sys.EPERM
	}
	l, ok := a.fs.(afero.Linker)
	if !ok {
		return sys.ENOSYS
	}
	if a.base != "" {
		// BasePathFs makes the target a host path: give it the one meant.
		target = "/" + j
	}
	return toErrno(l.SymlinkIfPossible(string([]byte(target)), a.name(p)))
}

// Readlink implements sys.FS.
func (a *aferoFS) Readlink(name string) (s string, errno sys.Errno) {
	defer recovered(&errno)
	p, _, errno := clean(name)
	if errno != 0 {
		return "", errno
	}
	fi, errno := a.lstatInfo(p)
	if errno != 0 {
		return "", errno
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", sys.EINVAL
	}
	r, ok := a.fs.(afero.LinkReader)
	if !ok {
		return "", sys.ENOSYS
	}
	t, err := r.ReadlinkIfPossible(a.name(p))
	if err != nil {
		return "", toErrno(err)
	}
	if a.base != "" && path.IsAbs(t) {
		// A host path: give the guest the same link relative to p.
		rel, ok := strings.CutPrefix(t, a.base+"/")
		if !ok {
			return "", sys.EPERM
		}
		return relTo(path.Dir(p), rel), 0
	}
	return t, 0
}

// relTo returns target (clean, relative to the root) relative to dir.
func relTo(dir, target string) string {
	if dir == "." {
		return target
	}
	d, t := strings.Split(dir, "/"), strings.Split(target, "/")
	i := 0
	for i < len(d) && i < len(t)-1 && d[i] == t[i] {
		i++
	}
	return strings.Repeat("../", len(d)-i) + strings.Join(t[i:], "/")
}

// Utimens implements sys.FS.
func (a *aferoFS) Utimens(name string, atim, mtim int64) sys.Errno {
	return a.locked(name, false, func(p string, _ bool) sys.Errno { return a.utimens(p, atim, mtim) })
}

// Lutimens implements LutimensFS. An afero.Fs has no call for the times of
// a link itself: on a link it fails with ENOSYS; on anything else it is
// Utimens.
func (a *aferoFS) Lutimens(name string, atim, mtim int64) (errno sys.Errno) {
	defer recovered(&errno)
	p, _, errno := clean(name)
	if errno != 0 {
		return errno
	}
	fi, errno := a.lstatInfo(p)
	if errno != 0 {
		return errno
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if a.readOnly {
			return sys.EROFS
		}
		return sys.ENOSYS
	}
	return a.Utimens(name, atim, mtim)
}

func (a *aferoFS) utimens(p string, atim, mtim int64) sys.Errno {
	fi, errno := a.statInfo(p)
	if errno != 0 {
		return errno
	}
	if a.readOnly {
		return sys.EROFS
	}
	st := a.statT(p, fi)
	at, mt := timeOf(atim, st.Atim), timeOf(mtim, st.Mtim)
	return toErrno(a.fs.Chtimes(a.name(p), at, mt))
}

func timeOf(t, old int64) time.Time {
	switch t {
	case sys.UTIME_OMIT:
		return time.Unix(0, old)
	}
	return time.Unix(0, t)
}

// maxGrowth is how far one write or truncate may extend a file past its
// end beyond the bytes it carries. MemMapFs (like most in-memory backends)
// allocates the gap at once: a guest's one-byte pwrite at 1 TiB would
// otherwise stop the host process for want of memory. Past it, the call
// fails with ENOSPC.
const maxGrowth = 256 << 20

// count clamps a byte count a backend returns (afero's io/fs adapter
// returns -1 on failure) to what buf can hold.
func count(n, size int) int { return max(0, min(n, size)) }

// aferoFile adapts an afero.File to sys.File.
type aferoFile struct {
	sys.UnimplementedFile
	a                        *aferoFS
	f                        afero.File
	p                        string
	dir, read, write, append bool
	closed                   bool
	ents                     []sys.Dirent // a directory's listing, read on the first Readdir
	pos                      int
	listed                   bool
}

var _ sys.File = (*aferoFile)(nil)

func (f *aferoFile) check() sys.Errno {
	if f.closed {
		return sys.EBADF
	}
	return 0
}

// Ino implements sys.File.
func (f *aferoFile) Ino() (ino wsys.Inode, errno sys.Errno) {
	st, errno := f.Stat()
	return st.Ino, errno
}

// IsDir implements sys.File.
func (f *aferoFile) IsDir() (bool, sys.Errno) { return f.dir, f.check() }

// IsAppend implements sys.File.
func (f *aferoFile) IsAppend() bool { return f.append }

// SetAppend implements sys.File.
func (f *aferoFile) SetAppend(enable bool) sys.Errno {
	f.append = enable
	return f.check()
}

// Stat implements sys.File.
func (f *aferoFile) Stat() (st wsys.Stat_t, errno sys.Errno) {
	defer recovered(&errno)
	if errno := f.check(); errno != 0 {
		return st, errno
	}
	fi, err := f.f.Stat()
	if err != nil {
		return st, toErrno(err)
	}
	return f.a.statT(f.p, fi), 0
}

// Read implements sys.File.
func (f *aferoFile) Read(buf []byte) (n int, errno sys.Errno) {
	defer recovered(&errno)
	switch {
	case f.closed:
		return 0, sys.EBADF
	case f.dir:
		return 0, sys.EISDIR
	case !f.read:
		return 0, sys.EBADF
	case len(buf) == 0:
		return 0, 0
	}
	n, err := f.f.Read(buf)
	return count(n, len(buf)), toErrno(err)
}

// Pread implements sys.File.
func (f *aferoFile) Pread(buf []byte, off int64) (n int, errno sys.Errno) {
	defer recovered(&errno)
	switch {
	case f.closed:
		return 0, sys.EBADF
	case f.dir:
		return 0, sys.EISDIR
	case !f.read:
		return 0, sys.EBADF
	case off < 0:
		return 0, sys.EINVAL
	case len(buf) == 0:
		return 0, 0
	}
	if fi, err := f.f.Stat(); err == nil && off >= fi.Size() {
		return 0, 0 // backends differ past the end; POSIX reads nothing
	}
	n, err := f.f.ReadAt(buf, off)
	return count(n, len(buf)), toErrno(err)
}

// Seek implements sys.File.
func (f *aferoFile) Seek(offset seekOffset, whence int) (pos int64, errno sys.Errno) {
	defer recovered(&errno)
	if errno := f.check(); errno != 0 {
		return 0, errno
	}
	if f.dir {
		if offset == 0 && whence == io.SeekStart {
			// Re-read the listing through a new handle: MemMapFs's
			// handles list once (a second listing panics with the
			// directory's lock held if entries went away).
			if f.listed {
				nf, err := f.a.fs.Open(f.a.name(f.p))
				if err != nil {
					return 0, toErrno(err)
				}
				f.f.Close()
				f.f, f.ents, f.listed = nf, nil, false
			}
			f.pos = 0
			return 0, 0
		}
		return 0, sys.EISDIR
	}
	if whence < io.SeekStart || whence > io.SeekEnd {
		return 0, sys.EINVAL
	}
	pos, err := f.f.Seek(offset, whence)
	return pos, toErrno(err)
}

// Readdir implements sys.File: the listing is read once, in name order.
func (f *aferoFile) Readdir(n int) (ents []sys.Dirent, errno sys.Errno) {
	defer recovered(&errno)
	if f.closed || !f.dir {
		return nil, sys.EBADF
	}
	if !f.listed {
		fis, err := f.f.Readdir(-1)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, toErrno(err)
		}
		sort.Slice(fis, func(i, j int) bool { return fis[i].Name() < fis[j].Name() })
		for _, fi := range fis {
			child := path.Join(f.p, fi.Name())
			f.ents = append(f.ents, sys.Dirent{Name: fi.Name(), Ino: f.a.statT(child, fi).Ino, Type: fi.Mode().Type()})
		}
		f.listed = true
	}
	end := len(f.ents)
	if n > 0 {
		end = min(end, f.pos+n)
	}
	ents = f.ents[f.pos:end]
	f.pos = end
	return ents, 0
}

func (f *aferoFile) writable() sys.Errno {
	switch {
	case f.closed:
		return sys.EBADF
	case f.dir:
		return sys.EISDIR
	case !f.write:
		return sys.EBADF
	}
	return 0
}

// Write implements sys.File.
func (f *aferoFile) Write(buf []byte) (n int, errno sys.Errno) {
	defer recovered(&errno)
	if errno := f.writable(); errno != 0 {
		return 0, errno
	}
	f.a.mu.Lock()
	defer f.a.mu.Unlock()
	whence := io.SeekCurrent
	if f.append {
		whence = io.SeekEnd
	}
	pos, err := f.f.Seek(0, whence)
	if err != nil {
		return 0, toErrno(err)
	}
	if errno := f.growth(pos); errno != 0 {
		return 0, errno
	}
	n, err = f.f.Write(buf)
	return count(n, len(buf)), toErrno(err)
}

// Pwrite implements sys.File.
func (f *aferoFile) Pwrite(buf []byte, off int64) (n int, errno sys.Errno) {
	defer recovered(&errno)
	if errno := f.writable(); errno != 0 {
		return 0, errno
	}
	if off < 0 {
		return 0, sys.EINVAL
	}
	f.a.mu.Lock()
	defer f.a.mu.Unlock()
	if errno := f.growth(off); errno != 0 {
		return 0, errno
	}
	n, err := f.f.WriteAt(buf, off)
	return count(n, len(buf)), toErrno(err)
}

// Truncate implements sys.File.
func (f *aferoFile) Truncate(size int64) (errno sys.Errno) {
	defer recovered(&errno)
	if errno := f.writable(); errno != 0 {
		if errno == sys.EBADF && !f.closed {
			return sys.EINVAL
		}
		return errno
	}
	if size < 0 {
		return sys.EINVAL
	}
	f.a.mu.Lock()
	defer f.a.mu.Unlock()
	if errno := f.growth(size); errno != 0 {
		return errno
	}
	return toErrno(f.f.Truncate(size))
}

// growth refuses to extend the file to off by more than maxGrowth.
func (f *aferoFile) growth(off int64) sys.Errno {
	fi, err := f.f.Stat()
	if err != nil {
		return toErrno(err)
	}
	if off > fi.Size() && off-fi.Size() > maxGrowth {
		return errNoSpace
	}
	return 0
}

// Sync implements sys.File.
func (f *aferoFile) Sync() (errno sys.Errno) {
	defer recovered(&errno)
	if errno := f.check(); errno != 0 {
		return errno
	}
	if f.a.readOnly || f.dir {
		return 0
	}
	return toErrno(f.f.Sync())
}

// Datasync implements sys.File.
func (f *aferoFile) Datasync() sys.Errno { return f.Sync() }

// Utimens implements sys.File.
func (f *aferoFile) Utimens(atim, mtim int64) (errno sys.Errno) {
	defer recovered(&errno)
	if errno := f.check(); errno != 0 {
		return errno
	}
	f.a.mu.Lock()
	defer f.a.mu.Unlock()
	return f.a.utimens(f.p, atim, mtim)
}

// Close implements sys.File.
func (f *aferoFile) Close() (errno sys.Errno) {
	defer recovered(&errno)
	if f.closed {
		return 0
	}
	f.closed = true
	return toErrno(f.f.Close())
}
