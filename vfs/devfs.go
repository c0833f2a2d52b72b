package vfs

import (
	"crypto/rand"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// LutimensFS is implemented by the layers that can set the times of a
// symbolic link itself (utimensat with AT_SYMLINK_NOFOLLOW), which
// sys.FS.Utimens, following a last link, cannot express. The mount table,
// the host layer, the in-memory and copy-on-write trees implement it;
// read-only layers fail with EROFS; the afero adapter fails with ENOSYS on
// a link (afero has no such call) and is Utimens on anything else.
type LutimensFS interface {
	Lutimens(path string, atim, mtim int64) sys.Errno
}

// devNames are the devices of NewDevFS, in listing order, with their
// inodes (the directory is inode 1).
var devNames = []string{"null", "urandom", "zero"}

const devMode = fs.ModeDevice | fs.ModeCharDevice | 0o666

// NewDevFS returns the device directory mounted at /dev: "null" (reads
// end of file, writes are discarded), "zero" (reads zeros, writes are
// discarded) and "urandom" (reads bytes from crypto/rand, writes are
// discarded, as Linux only mixes them in), each a character device with
// mode 0666. Its names cannot change: creating, removing or renaming
// anything, or changing a mode or times, fails with EROFS. Opening a
// device with O_CREAT and O_TRUNC (a shell's "> /dev/null") is allowed;
// O_CREAT|O_EXCL fails with EEXIST.
func NewDevFS() sys.FS { return &devFS{born: time.Now().UnixNano()} }

type devFS struct {
	sys.UnimplementedFS
	born int64 // times of every entry
}

var _ sys.FS = (*devFS)(nil)

// lookup returns the device index of p, -1 for the directory itself.
func (d *devFS) lookup(p string) (int, sys.Errno) {
	slash := strings.HasSuffix(p, "/")
	name := strings.Trim(p, "/")
	if name == "" || name == "." {
		return -1, 0
	}
	if strings.Contains(name, "/") {
		dir, _, _ := strings.Cut(name, "/")
		if _, errno := d.lookup(dir); errno != 0 {
			return 0, errno
		}
		return 0, sys.ENOTDIR
	}
	for i, n := range devNames {
		if n == name {
			if slash {
				return 0, sys.ENOTDIR
			}
			return i, 0
		}
	}
	return 0, sys.ENOENT
}

func (d *devFS) stat(i int) wsys.Stat_t {
	st := wsys.Stat_t{Dev: 6, Ino: uint64(i + 2), Mode: devMode, Nlink: 1, Atim: d.born, Mtim: d.born, Ctim: d.born}
	if i < 0 {
		st.Mode, st.Nlink, st.Size = fs.ModeDir|0o755, 2, 4096
	}
	return st
}

// OpenFile implements sys.FS.
func (d *devFS) OpenFile(p string, flag sys.Oflag, _ fs.FileMode) (sys.File, sys.Errno) {
	i, errno := d.lookup(p)
	if errno == sys.ENOENT && flag&sys.O_CREAT != 0 {
		return nil, sys.EROFS
	}
	if errno != 0 {
		return nil, errno
	}
	if flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL {
		return nil, sys.EEXIST
	}
	write := flag&(sys.O_WRONLY|sys.O_RDWR) != 0
	if i < 0 {
		if write {
			return nil, sys.EISDIR
		}
		return &synthDir{st: d.stat(-1), ents: d.dirents()}, 0
	}
	if flag&sys.O_DIRECTORY != 0 {
		return nil, sys.ENOTDIR
	}
	return &devFile{name: devNames[i], st: d.stat(i), flag: flag}, 0
}

func (d *devFS) dirents() []sys.Dirent {
	var ents []sys.Dirent
	for i, n := range devNames {
		ents = append(ents, sys.Dirent{Name: n, Ino: uint64(i + 2), Type: fs.ModeDevice | fs.ModeCharDevice})
	}
	return ents
}

// Lstat implements sys.FS.
func (d *devFS) Lstat(p string) (wsys.Stat_t, sys.Errno) { return d.Stat(p) }

// Stat implements sys.FS.
func (d *devFS) Stat(p string) (wsys.Stat_t, sys.Errno) {
	i, errno := d.lookup(p)
	if errno != 0 {
		return wsys.Stat_t{}, errno
	}
	return d.stat(i), 0
}

// readOnly is EROFS for a path that names an entry or could, and the errno
// of the lookup for a path below a device.
func (d *devFS) readOnly(p string) sys.Errno {
	if _, errno := d.lookup(p); errno != 0 && errno != sys.ENOENT {
		return errno
	}
	return sys.EROFS
}

// Mkdir implements sys.FS.
func (d *devFS) Mkdir(p string, _ fs.FileMode) sys.Errno {
	if _, errno := d.lookup(p); errno == 0 {
		return sys.EEXIST
	}
	return d.readOnly(p)
}

// Chmod implements sys.FS.
func (d *devFS) Chmod(p string, _ fs.FileMode) sys.Errno {
	if _, errno := d.lookup(p); errno != 0 {
		return errno
	}
	return sys.EROFS
}

// Rename implements sys.FS.
func (d *devFS) Rename(from, _ string) sys.Errno { return d.readOnly(from) }

// Rmdir implements sys.FS.
func (d *devFS) Rmdir(p string) sys.Errno { return d.readOnly(p) }

// Unlink implements sys.FS.
func (d *devFS) Unlink(p string) sys.Errno { return d.readOnly(p) }

// Link implements sys.FS.
func (d *devFS) Link(_, newPath string) sys.Errno { return d.readOnly(newPath) }

// Symlink implements sys.FS.
func (d *devFS) Symlink(_, linkName string) sys.Errno { return d.readOnly(linkName) }

// Readlink implements sys.FS.
func (d *devFS) Readlink(p string) (string, sys.Errno) {
	if _, errno := d.lookup(p); errno != 0 {
		return "", errno
	}
	return "", sys.EINVAL
}

// Utimens implements sys.FS.
func (d *devFS) Utimens(p string, _, _ int64) sys.Errno { return d.Chmod(p, 0) }

// Lutimens implements LutimensFS.
func (d *devFS) Lutimens(p string, _, _ int64) sys.Errno { return d.Chmod(p, 0) }

// devFile is an open device of NewDevFS.
type devFile struct {
	sys.UnimplementedFile
	name   string
	st     wsys.Stat_t
	flag   sys.Oflag
	closed bool
}

func (f *devFile) check(write bool) sys.Errno {
	switch acc := f.flag & (sys.O_RDONLY | sys.O_WRONLY | sys.O_RDWR); {
	case f.closed:
		return sys.EBADF
	case write && acc == sys.O_RDONLY, !write && acc == sys.O_WRONLY:
		return sys.EBADF
	}
	return 0
}

// Ino implements sys.File.
func (f *devFile) Ino() (wsys.Inode, sys.Errno) { return f.st.Ino, 0 }

// IsDir implements sys.File.
func (f *devFile) IsDir() (bool, sys.Errno) { return false, 0 }

// IsAppend implements sys.File.
func (f *devFile) IsAppend() bool { return f.flag&sys.O_APPEND != 0 }

// SetAppend implements sys.File.
func (f *devFile) SetAppend(enable bool) sys.Errno {
	if enable {
		f.flag |= sys.O_APPEND
	} else {
		f.flag &^= sys.O_APPEND
	}
	return 0
}

// Stat implements sys.File.
func (f *devFile) Stat() (wsys.Stat_t, sys.Errno) {
	if f.closed {
		return wsys.Stat_t{}, sys.EBADF
	}
	return f.st, 0
}

// Read implements sys.File.
func (f *devFile) Read(buf []byte) (int, sys.Errno) {
	if errno := f.check(false); errno != 0 {
		return 0, errno
	}
	switch f.name {
	case "null":
		return 0, 0
	case "zero":
		clear(buf)
	default:
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			return 0, sys.EIO
		}
	}
	return len(buf), 0
}

// Pread implements sys.File.
func (f *devFile) Pread(buf []byte, _ int64) (int, sys.Errno) { return f.Read(buf) }

// Write implements sys.File.
func (f *devFile) Write(buf []byte) (int, sys.Errno) {
	if errno := f.check(true); errno != 0 {
		return 0, errno
	}
	return len(buf), 0
}

// Pwrite implements sys.File.
func (f *devFile) Pwrite(buf []byte, _ int64) (int, sys.Errno) { return f.Write(buf) }

// Seek implements sys.File: the position of a device is always 0, as
// Linux reports it for these three.
func (f *devFile) Seek(seekOffset, int) (int64, sys.Errno) {
	if f.closed {
		return 0, sys.EBADF
	}
	return 0, 0
}

// Readdir implements sys.File.
func (f *devFile) Readdir(int) ([]sys.Dirent, sys.Errno) { return nil, sys.ENOTDIR }

// Truncate implements sys.File: ftruncate(2) on a character device is
// EINVAL.
func (f *devFile) Truncate(int64) sys.Errno { return sys.EINVAL }

// Sync implements sys.File.
func (f *devFile) Sync() sys.Errno { return 0 }

// Datasync implements sys.File.
func (f *devFile) Datasync() sys.Errno { return 0 }

// Utimens implements sys.File.
func (f *devFile) Utimens(int64, int64) sys.Errno { return sys.EROFS }

// Close implements sys.File.
func (f *devFile) Close() sys.Errno {
	f.closed = true
	return 0
}
