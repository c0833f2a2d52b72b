package vfs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// HostFile returns a layer serving the single host file file as its root:
// mounted at a guest path (Mount{Guest: "/etc/app.conf"}), that path is the
// file. It is read-only when readOnly is set (writes fail with EROFS).
//
// The file is named once, now: a symlink in the path the user gave is
// resolved here, and from then on the layer opens that name in its
// directory (an os.Root of it) and checks that what it opened is the
// regular file it found there just before (same device and inode), so
// replacing the file with a link later (to a sibling or anywhere else)
// makes opens fail with ELOOP instead of reaching or truncating another
// file; anything else there (a FIFO, a directory) fails with ENOENT
// without being opened. No other name in the directory is
// reachable: every path but the root is ENOTDIR, as below a file. The
// guest cannot remove, rename or link the mount point (the mount table
// refuses with EBUSY) nor create anything; a write-enabled layer lets it
// write, append, truncate, chmod and set the times of the file. Errors
// returned to the guest are bare errnos; HostFile's own error names file,
// since the user gave it. The layer keeps the directory open; it
// implements io.Closer to release it.
func HostFile(file string, readOnly bool) (sys.FS, error) {
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return nil, fmt.Errorf("mount %q: host file does not exist: create it or fix the path", file)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("mount %q: %w", file, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("mount %q: not a regular file or a directory", file)
	}
	root, err := os.OpenRoot(filepath.Dir(real))
	if err != nil {
		return nil, fmt.Errorf("mount %q: %w", file, err)
	}
	return &hostFileFS{root: root, name: filepath.Base(real), readOnly: readOnly}, nil
}

// hostFileFS serves one host file as the root of a layer; see HostFile.
type hostFileFS struct {
	sys.UnimplementedFS
	root     *os.Root // the file's directory
	name     string   // the file's name in it
	readOnly bool
}

var _ sys.FS = (*hostFileFS)(nil)

// Close releases the directory handle. The layer must not be used after.
func (h *hostFileFS) Close() error { return h.root.Close() }

// at checks that p names the layer's root (the file): "" or "." or "/"
// (wazero's forms of it); anything below it is ENOTDIR, as below a file,
// and so is the root with a trailing slash.
func at(p string) sys.Errno {
	switch p {
	case "", ".", "/":
		return 0
	}
	return sys.ENOTDIR
}

// lstat is the file's Lstat, ENOENT unless it is a regular file.
func (h *hostFileFS) lstat() (wsys.Stat_t, sys.Errno) {
	fi, err := h.root.Lstat(h.name)
	if err != nil {
		return wsys.Stat_t{}, errnoOf(err)
	}
	if !fi.Mode().IsRegular() {
		return wsys.Stat_t{}, sys.ENOENT
	}
	return wsys.NewStat_t(fi), 0
}

// OpenFile implements sys.FS.
func (h *hostFileFS) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	if errno := at(p); errno != 0 {
		return nil, errno
	}
	if flag&sys.O_DIRECTORY != 0 {
		return nil, sys.ENOTDIR
	}
	write := flag&(sys.O_WRONLY|sys.O_RDWR) != 0
	if flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL {
		if _, errno := h.lstat(); errno == 0 {
			return nil, sys.EEXIST
		}
	}
	if h.readOnly {
		if write || flag&sys.O_TRUNC != 0 {
			return nil, sys.EROFS
		}
		flag &^= sys.O_CREAT
	}
	// os.Root follows a last symlink whatever the flags (inside the
	// directory), so the file is checked before and after opening: it
	// must be a regular file both times, and the same one. O_TRUNC is
	// applied only then, so a link swapped in between truncates nothing;
	// a missing file is created with O_EXCL, which no link satisfies.
	before, err := h.root.Lstat(h.name)
	switch {
	case err == nil && before.Mode()&fs.ModeSymlink != 0:
		return nil, sys.ELOOP
	case err == nil && !before.Mode().IsRegular():
		return nil, sys.ENOENT // never opened: opening a FIFO would block
	case err != nil && (flag&sys.O_CREAT == 0 || !os.IsNotExist(err)):
		return nil, errnoOf(err)
	case err != nil:
		f, err := h.root.OpenFile(h.name, toOsFlag(flag)|os.O_EXCL, perm)
		if err != nil {
			return nil, errnoOf(err)
		}
		return &hostFile{f: f, fd: int(f.Fd()), flag: flag, readOnly: h.readOnly}, 0
	}
	f, err := h.root.OpenFile(h.name, toOsFlag(flag&^(sys.O_CREAT|sys.O_TRUNC)), 0)
	if err != nil {
		return nil, errnoOf(err)
	}
	if after, err := f.Stat(); err != nil || !os.SameFile(before, after) {
		f.Close()
		return nil, sys.ELOOP
	}
	if flag&sys.O_TRUNC != 0 {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, errnoOf(err)
		}
	}
	return &hostFile{f: f, fd: int(f.Fd()), flag: flag, readOnly: h.readOnly}, 0
}

// Lstat implements sys.FS.
func (h *hostFileFS) Lstat(p string) (wsys.Stat_t, sys.Errno) {
	if errno := at(p); errno != 0 {
		return wsys.Stat_t{}, errno
	}
	return h.lstat()
}

// Stat implements sys.FS: the root is never a link to follow.
func (h *hostFileFS) Stat(p string) (wsys.Stat_t, sys.Errno) { return h.Lstat(p) }

// Readlink implements sys.FS.
func (h *hostFileFS) Readlink(p string) (string, sys.Errno) {
	if errno := at(p); errno != 0 {
		return "", errno
	}
	return "", sys.EINVAL
}

// Mkdir implements sys.FS.
func (h *hostFileFS) Mkdir(p string, _ fs.FileMode) sys.Errno {
	if errno := at(p); errno != 0 {
		return errno
	}
	return sys.EEXIST
}

// Rmdir implements sys.FS.
func (h *hostFileFS) Rmdir(p string) sys.Errno {
	if errno := at(p); errno != 0 {
		return errno
	}
	return sys.ENOTDIR
}

// Unlink implements sys.FS: the mount point stays.
func (h *hostFileFS) Unlink(p string) sys.Errno {
	if errno := at(p); errno != 0 {
		return errno
	}
	return EBUSY
}

// Rename implements sys.FS: the mount point stays.
func (h *hostFileFS) Rename(from, to string) sys.Errno {
	if errno := at(from); errno != 0 {
		return errno
	}
	if errno := at(to); errno != 0 {
		return errno
	}
	return EBUSY
}

// Link implements sys.FS: a layer of one file has nowhere to put a link.
func (h *hostFileFS) Link(oldPath, newPath string) sys.Errno {
	if errno := at(oldPath); errno != 0 {
		return errno
	}
	if errno := at(newPath); errno != 0 {
		return errno
	}
	return sys.EEXIST
}

// Symlink implements sys.FS.
func (h *hostFileFS) Symlink(_, linkName string) sys.Errno {
	if errno := at(linkName); errno != 0 {
		return errno
	}
	return sys.EEXIST
}

// withFile runs do on the file opened to read (fchmod and futimens need no
// write access), refusing any change to a read-only layer.
func (h *hostFileFS) withFile(p string, do func(f *hostFile) sys.Errno) sys.Errno {
	if errno := at(p); errno != 0 {
		return errno
	}
	if h.readOnly {
		return sys.EROFS
	}
	f, errno := h.OpenFile(p, sys.O_RDONLY, 0)
	if errno != 0 {
		return errno
	}
	defer f.Close()
	return do(f.(*hostFile))
}

// Chmod implements sys.FS.
func (h *hostFileFS) Chmod(p string, perm fs.FileMode) sys.Errno {
	return h.withFile(p, func(f *hostFile) sys.Errno { return errnoOf(f.f.Chmod(perm)) })
}

// Utimens implements sys.FS.
func (h *hostFileFS) Utimens(p string, atim, mtim int64) sys.Errno {
	return h.withFile(p, func(f *hostFile) sys.Errno { return f.Utimens(atim, mtim) })
}

// Lutimens implements LutimensFS: the root is no link.
func (h *hostFileFS) Lutimens(p string, atim, mtim int64) sys.Errno { return h.Utimens(p, atim, mtim) }
