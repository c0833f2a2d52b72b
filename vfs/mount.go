package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	wsys "github.com/tetratelabs/wazero/sys"
)

// Mount places a filesystem at a guest path.
type Mount struct {
	Guest string // absolute guest path, e.g. "/data"
	FS    sys.FS
}

// Host returns a layer serving the host directory dir, read-only when
// readOnly is set (writes fail with EROFS). It is built on os.Root: no guest
// path and no symbolic link, including one the guest creates itself, ever
// resolves outside dir; such an attempt fails with EPERM. It fails when dir
// is not an existing directory; the error names dir, since the user gave
// it, while errors returned to the guest are bare errnos. The layer keeps dir
// open; it implements io.Closer to release it.
func Host(dir string, readOnly bool) (sys.FS, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mount %q: host directory does not exist: create it or fix the path", dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("mount %q: not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("mount %q: %w", dir, err)
	}
	return &hostFS{root: root, beneath: openBeneathDir(dir), readOnly: readOnly}, nil
}

// FSConfig returns the wazero filesystem configuration that mounts every
// layer at its guest path.
//
// wazero gives each mount its own pre-opened directory, and a guest
// resolves a path against the longest pre-open prefix; nothing would list
// /usr/local/lib/python3.11 when only /usr/local/lib and
// /usr/local/lib/python3.11/site-packages are mounts. So, unless the only
// mount is "/", FSConfig pre-opens a single root that routes every path to
// the mount with the longest matching prefix and synthesizes the
// directories leading to mount points: nested mounts from different layers
// both stay visible, and listing a parent shows the mount point. Renaming
// or linking across mounts fails (EXDEV, reported as EIO); removing or
// renaming a mount point fails (EBUSY, reported as EIO).
func FSConfig(mounts []Mount) (wazero.FSConfig, error) {
	cfg := wazero.NewFSConfig()
	if len(mounts) == 0 {
		return cfg, nil
	}
	root, err := NewMountFS(mounts)
	if err != nil {
		return nil, err
	}
	return cfg.(sysfs.FSConfig).WithSysFSMount(root, "/"), nil
}

// NewMountFS returns the one filesystem FSConfig pre-opens at "/": the
// mounts routed by longest guest-path prefix, with the directories leading
// to mount points synthesized (read-only). Two mounts at one guest path
// are an error; use NewUnion to stack layers.
func NewMountFS(mounts []Mount) (sys.FS, error) {
	m := &mountFS{dirs: map[string]map[string]bool{}, seed: randomSeed()}
	seen := map[string]bool{}
	for _, mt := range mounts {
		if !path.IsAbs(mt.Guest) || path.Clean(mt.Guest) != mt.Guest {
			return nil, fmt.Errorf("guest path %q must be absolute and clean, like /data", mt.Guest)
		}
		if mt.FS == nil {
			return nil, fmt.Errorf("guest path %q: no filesystem to mount", mt.Guest)
		}
		rel := strings.TrimPrefix(mt.Guest, "/")
		if seen[rel] {
			return nil, fmt.Errorf("guest path %q is mounted twice: mount one layer there (vfs.NewUnion stacks several)", mt.Guest)
		}
		seen[rel] = true
		m.mounts = append(m.mounts, mountPoint{prefix: rel, fs: mt.FS})
		for p := rel; p != ""; {
			parent := path.Dir(p)
			if parent == "." {
				parent = ""
			}
			if m.dirs[parent] == nil {
				m.dirs[parent] = map[string]bool{}
			}
			m.dirs[parent][path.Base(p)] = true
			p = parent
		}
	}
	if len(m.mounts) == 1 && m.mounts[0].prefix == "" {
		return m.mounts[0].fs, nil
	}
	sort.SliceStable(m.mounts, func(i, j int) bool { return len(m.mounts[i].prefix) > len(m.mounts[j].prefix) })
	return m, nil
}

type mountPoint struct {
	prefix string // guest path without the leading slash; "" is the root
	fs     sys.FS
}

// mountFS routes paths to mounts; see NewMountFS.
type mountFS struct {
	sys.UnimplementedFS
	mounts []mountPoint               // longest prefix first
	dirs   map[string]map[string]bool // synthesized directory → names of mount points or their ancestors
	seed   uint64                     // inodes of synthesized directories
}

var _ sys.FS = (*mountFS)(nil)

// route returns the mount serving p and the path within it ("." for its
// root), or -1 when p is served by no mount. key is p clean, relative and
// without a trailing slash.
func (m *mountFS) route(p string) (i int, rel, key string, errno sys.Errno) {
	slash := strings.HasSuffix(p, "/") && strings.Trim(p, "/") != ""
	key = path.Clean("/" + p)[1:]
	if c := path.Clean(p); c == ".." || strings.HasPrefix(c, "../") {
		return -1, "", "", sys.EPERM
	}
	for i, mt := range m.mounts {
		switch {
		case mt.prefix == "":
			rel = key
		case key == mt.prefix:
			rel = ""
		case strings.HasPrefix(key, mt.prefix+"/"):
			rel = key[len(mt.prefix)+1:]
		default:
			continue
		}
		if rel == "" {
			rel = "."
		}
		if slash {
			rel += "/"
		}
		return i, rel, key, 0
	}
	return -1, "", key, 0
}

func (m *mountFS) synthStat(key string) wsys.Stat_t {
	return wsys.Stat_t{Ino: pathIno(m.seed, key), Mode: fs.ModeDir | 0o555, Nlink: 2, Size: 4096}
}

// OpenFile implements sys.FS.
func (m *mountFS) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	i, rel, key, errno := m.route(p)
	if errno != 0 {
		return nil, errno
	}
	extra := m.dirs[key]
	errno = sys.ENOENT
	if i >= 0 {
		var f sys.File
		if f, errno = m.mounts[i].fs.OpenFile(rel, flag, perm); errno == 0 {
			if isDir, _ := f.IsDir(); isDir && extra != nil {
				return &mountDir{File: f, m: m, key: key}, 0
			}
			return f, 0
		}
	}
	if extra == nil || (errno != sys.ENOENT && errno != sys.ENOTDIR) {
		return nil, errno
	}
	switch {
	case flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL:
		return nil, sys.EEXIST
	case flag&(sys.O_WRONLY|sys.O_RDWR) != 0:
		return nil, sys.EISDIR
	}
	return &mountDir{File: &synthDir{st: m.synthStat(key)}, m: m, key: key}, 0
}

func (m *mountFS) stat(p string, follow bool) (wsys.Stat_t, sys.Errno) {
	i, rel, key, errno := m.route(p)
	if errno != 0 {
		return wsys.Stat_t{}, errno
	}
	errno = sys.ENOENT
	if i >= 0 {
		var st wsys.Stat_t
		if follow {
			st, errno = m.mounts[i].fs.Stat(rel)
		} else {
			st, errno = m.mounts[i].fs.Lstat(rel)
		}
		if errno == 0 {
			return st, 0
		}
	}
	if m.dirs[key] != nil && (errno == sys.ENOENT || errno == sys.ENOTDIR) {
		return m.synthStat(key), 0
	}
	return wsys.Stat_t{}, errno
}

// Lstat implements sys.FS.
func (m *mountFS) Lstat(p string) (wsys.Stat_t, sys.Errno) { return m.stat(p, false) }

// Stat implements sys.FS.
func (m *mountFS) Stat(p string) (wsys.Stat_t, sys.Errno) { return m.stat(p, true) }

// target routes a path that an operation creates, changes or removes.
// A synthesized directory or a mount point cannot be the object.
func (m *mountFS) target(p string, remove bool) (sys.FS, string, sys.Errno) {
	i, rel, key, errno := m.route(p)
	if errno != 0 {
		return nil, "", errno
	}
	if m.dirs[key] != nil {
		if remove {
			return nil, "", errBusy
		}
		if i < 0 {
			return nil, "", sys.EROFS
		}
	}
	if i < 0 {
		return nil, "", sys.ENOENT
	}
	if remove && strings.TrimSuffix(rel, "/") == "." {
		return nil, "", errBusy
	}
	return m.mounts[i].fs, rel, 0
}

// Mkdir implements sys.FS.
func (m *mountFS) Mkdir(p string, perm fs.FileMode) sys.Errno {
	if _, errno := m.stat(p, false); errno == 0 {
		return sys.EEXIST
	}
	f, rel, errno := m.target(p, false)
	if errno != 0 {
		return errno
	}
	return f.Mkdir(rel, perm)
}

// Chmod implements sys.FS.
func (m *mountFS) Chmod(p string, perm fs.FileMode) sys.Errno {
	f, rel, errno := m.target(p, false)
	if errno != 0 {
		return errno
	}
	return f.Chmod(rel, perm)
}

// Rename implements sys.FS.
func (m *mountFS) Rename(from, to string) sys.Errno {
	ff, frel, errno := m.target(from, true)
	if errno != 0 {
		return errno
	}
	tf, trel, errno := m.target(to, true)
	if errno != 0 {
		return errno
	}
	if ff != tf {
		return errCrossDevice
	}
	return ff.Rename(frel, trel)
}

// Rmdir implements sys.FS.
func (m *mountFS) Rmdir(p string) sys.Errno {
	f, rel, errno := m.target(p, true)
	if errno != 0 {
		return errno
	}
	return f.Rmdir(rel)
}

// Unlink implements sys.FS.
func (m *mountFS) Unlink(p string) sys.Errno {
	f, rel, errno := m.target(p, true)
	if errno != 0 {
		return errno
	}
	return f.Unlink(rel)
}

// Link implements sys.FS.
func (m *mountFS) Link(oldPath, newPath string) sys.Errno {
	of, orel, errno := m.target(oldPath, false)
	if errno != 0 {
		return errno
	}
	nf, nrel, errno := m.target(newPath, false)
	if errno != 0 {
		return errno
	}
	if of != nf {
		return errCrossDevice
	}
	return of.Link(orel, nrel)
}

// Symlink implements sys.FS.
func (m *mountFS) Symlink(oldPath, linkName string) sys.Errno {
	f, rel, errno := m.target(linkName, false)
	if errno != 0 {
		return errno
	}
	return f.Symlink(oldPath, rel)
}

// Readlink implements sys.FS.
func (m *mountFS) Readlink(p string) (string, sys.Errno) {
	i, rel, key, errno := m.route(p)
	if errno != 0 {
		return "", errno
	}
	if i < 0 {
		if m.dirs[key] != nil {
			return "", sys.EINVAL
		}
		return "", sys.ENOENT
	}
	return m.mounts[i].fs.Readlink(rel)
}

// Utimens implements sys.FS.
func (m *mountFS) Utimens(p string, atim, mtim int64) sys.Errno {
	f, rel, errno := m.target(p, false)
	if errno != 0 {
		return errno
	}
	return f.Utimens(rel, atim, mtim)
}

// mountDir is a directory that leads to mount points: a layer's own
// directory (or a synthesized one) whose listing also shows the names of
// the mount points below it.
type mountDir struct {
	sys.File
	m       *mountFS
	key     string
	listing mergedListing
}

// Seek implements sys.File.
func (d *mountDir) Seek(offset seekOffset, whence int) (int64, sys.Errno) {
	if offset == 0 && whence == io.SeekStart {
		d.listing.rewind()
	}
	return d.File.Seek(offset, whence)
}

// Readdir implements sys.File.
func (d *mountDir) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	return d.listing.next(n, func() ([]sys.Dirent, sys.Errno) {
		if _, errno := d.File.Seek(0, io.SeekStart); errno != 0 {
			return nil, errno
		}
		ents, errno := d.File.Readdir(-1)
		if errno != 0 {
			return nil, errno
		}
		seen := map[string]bool{}
		for _, e := range ents {
			seen[e.Name] = true
		}
		var extra []string
		for name := range d.m.dirs[d.key] {
			if !seen[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		for _, name := range extra {
			st, _ := d.m.stat(path.Join(d.key, name), false)
			ents = append(ents, sys.Dirent{Name: name, Ino: st.Ino, Type: fs.ModeDir})
		}
		return ents, 0
	})
}

// synthDir is an empty, read-only directory that exists only because a
// mount point lies below it.
type synthDir struct {
	sys.UnimplementedFile
	st     wsys.Stat_t
	closed bool
}

// IsDir implements sys.File.
func (d *synthDir) IsDir() (bool, sys.Errno) { return true, 0 }

// SetAppend implements sys.File.
func (d *synthDir) SetAppend(bool) sys.Errno { return sys.EISDIR }

// Read implements sys.File.
func (d *synthDir) Read([]byte) (int, sys.Errno) { return 0, sys.EISDIR }

// Pread implements sys.File.
func (d *synthDir) Pread([]byte, int64) (int, sys.Errno) { return 0, sys.EISDIR }

// Write implements sys.File.
func (d *synthDir) Write([]byte) (int, sys.Errno) { return 0, sys.EISDIR }

// Pwrite implements sys.File.
func (d *synthDir) Pwrite([]byte, int64) (int, sys.Errno) { return 0, sys.EISDIR }

// Truncate implements sys.File.
func (d *synthDir) Truncate(int64) sys.Errno { return sys.EISDIR }

// Ino implements sys.File.
func (d *synthDir) Ino() (wsys.Inode, sys.Errno) { return d.st.Ino, 0 }

// Stat implements sys.File.
func (d *synthDir) Stat() (wsys.Stat_t, sys.Errno) {
	if d.closed {
		return wsys.Stat_t{}, sys.EBADF
	}
	return d.st, 0
}

// Seek implements sys.File.
func (d *synthDir) Seek(offset seekOffset, whence int) (int64, sys.Errno) {
	if offset == 0 && whence == io.SeekStart {
		return 0, 0
	}
	return 0, sys.EISDIR
}

// Readdir implements sys.File.
func (d *synthDir) Readdir(int) ([]sys.Dirent, sys.Errno) { return nil, 0 }

// Utimens implements sys.File.
func (d *synthDir) Utimens(int64, int64) sys.Errno { return sys.EROFS }

// Close implements sys.File.
func (d *synthDir) Close() sys.Errno {
	d.closed = true
	return 0
}
