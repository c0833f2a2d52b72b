package vfs

import (
	"io"
	"io/fs"
	"sort"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// unionFS is the read-only union of layers that are not trees of this
// package (a host directory, a foreign sys.FS). The last layer that has a
// name serves it; directories list the entries of every layer down to the
// first one where the name is not a directory.
type unionFS struct {
	sys.UnimplementedFS
	layers []sys.FS
}

var _ sys.FS = (*unionFS)(nil)

// top returns the index of the last layer where p exists.
func (u *unionFS) top(p string, follow bool) (int, wsys.Stat_t, sys.Errno) {
	errno := sys.ENOENT
	for i := len(u.layers) - 1; i >= 0; i-- {
		var st wsys.Stat_t
		var e sys.Errno
		if follow {
			st, e = u.layers[i].Stat(p)
		} else {
			st, e = u.layers[i].Lstat(p)
		}
		if e == 0 {
			return i, st, 0
		}
		if e != sys.ENOENT {
			errno = e
		}
	}
	return -1, wsys.Stat_t{}, errno
}

// OpenFile implements sys.FS.
func (u *unionFS) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	i, st, errno := u.top(p, flag&sys.O_NOFOLLOW == 0)
	write := flag&(sys.O_WRONLY|sys.O_RDWR) != 0
	switch {
	case errno == sys.ENOENT && flag&sys.O_CREAT != 0:
		return nil, sys.EROFS
	case errno != 0:
		return nil, errno
	case flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL:
		return nil, sys.EEXIST
	case st.Mode.IsDir() && write:
		return nil, sys.EISDIR
	case write || flag&sys.O_TRUNC != 0:
		return nil, sys.EROFS
	}
	f, errno := u.layers[i].OpenFile(p, flag&^sys.O_CREAT, perm)
	if errno != 0 || !st.Mode.IsDir() {
		return f, errno
	}
	d := &unionDir{File: f}
	for j := i - 1; j >= 0; j-- {
		lst, e := u.layers[j].Stat(p)
		if e != 0 || !lst.Mode.IsDir() {
			break
		}
		lf, e := u.layers[j].OpenFile(p, sys.O_RDONLY|sys.O_DIRECTORY, 0)
		if e != 0 {
			break
		}
		d.lower = append(d.lower, lf)
	}
	return d, 0
}

// Lstat implements sys.FS.
func (u *unionFS) Lstat(p string) (wsys.Stat_t, sys.Errno) {
	_, st, errno := u.top(p, false)
	return st, errno
}

// Stat implements sys.FS.
func (u *unionFS) Stat(p string) (wsys.Stat_t, sys.Errno) {
	_, st, errno := u.top(p, true)
	return st, errno
}

// Readlink implements sys.FS.
func (u *unionFS) Readlink(p string) (string, sys.Errno) {
	i, _, errno := u.top(p, false)
	if errno != 0 {
		return "", errno
	}
	return u.layers[i].Readlink(p)
}

// Mkdir implements sys.FS.
func (u *unionFS) Mkdir(p string, _ fs.FileMode) sys.Errno {
	if _, _, errno := u.top(p, false); errno == 0 {
		return sys.EEXIST
	}
	return sys.EROFS
}

// Chmod implements sys.FS.
func (u *unionFS) Chmod(string, fs.FileMode) sys.Errno { return sys.EROFS }

// Rename implements sys.FS.
func (u *unionFS) Rename(string, string) sys.Errno { return sys.EROFS }

// Rmdir implements sys.FS.
func (u *unionFS) Rmdir(string) sys.Errno { return sys.EROFS }

// Unlink implements sys.FS.
func (u *unionFS) Unlink(string) sys.Errno { return sys.EROFS }

// Link implements sys.FS.
func (u *unionFS) Link(string, string) sys.Errno { return sys.EROFS }

// Symlink implements sys.FS.
func (u *unionFS) Symlink(string, string) sys.Errno { return sys.EROFS }

// Utimens implements sys.FS.
func (u *unionFS) Utimens(string, int64, int64) sys.Errno { return sys.EROFS }

// Lutimens implements LutimensFS.
func (u *unionFS) Lutimens(string, int64, int64) sys.Errno { return sys.EROFS }

// unionDir is a directory of a unionFS: the top layer's directory, whose
// listing adds the names of the lower layers' directories once.
type unionDir struct {
	sys.File
	lower   []sys.File
	listing mergedListing
}

// Seek implements sys.File.
func (d *unionDir) Seek(offset seekOffset, whence int) (int64, sys.Errno) {
	if offset == 0 && whence == io.SeekStart {
		d.listing.rewind()
	}
	return d.File.Seek(offset, whence)
}

// Readdir implements sys.File.
func (d *unionDir) Readdir(n int) ([]sys.Dirent, sys.Errno) {
	return d.listing.next(n, func() ([]sys.Dirent, sys.Errno) {
		seen := map[string]bool{}
		var all []sys.Dirent
		for _, f := range append([]sys.File{d.File}, d.lower...) {
			if _, errno := f.Seek(0, io.SeekStart); errno != 0 {
				return nil, errno
			}
			ents, errno := f.Readdir(-1)
			if errno != 0 {
				return nil, errno
			}
			for _, e := range ents {
				if !seen[e.Name] {
					seen[e.Name] = true
					all = append(all, e)
				}
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
		return all, 0
	})
}

// Close implements sys.File.
func (d *unionDir) Close() sys.Errno {
	errno := d.File.Close()
	for _, f := range d.lower {
		if e := f.Close(); errno == 0 {
			errno = e
		}
	}
	return errno
}
