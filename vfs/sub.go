package vfs

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// Sub returns the read-only view of the directory dir (a slash path
// relative to layer's root) of a read-only layer, as fs.Sub does for an
// fs.FS: what a layer mounted at /a shows at /a/b is Sub(layer, "b"). A
// layer built by this package (NewMapLayer, NewDirLayer, NewTarLayer,
// NewUnion) shares its index with the result: nothing is copied or read
// again. The error wraps fs.ErrNotExist when dir is not a directory of
// layer. The view refuses every change with EROFS. In a view of a tree of
// this package a symbolic link never leads above dir; in a view of another
// layer, links resolve as that layer resolves them.
func Sub(layer sys.FS, dir string) (sys.FS, error) {
	dir = path.Clean("/" + dir)[1:]
	if dir == "" {
		return layer, nil
	}
	if t, ok := layer.(*tree); ok && t.readOnly {
		r, errno := t.resolve(dir, true)
		if errno != 0 || r.n == nil || !r.n.isDir() {
			return nil, fmt.Errorf("%q: %w", dir, fs.ErrNotExist)
		}
		return &tree{readOnly: true, root: r.n}, nil
	}
	st, errno := layer.Stat(dir)
	if errno != 0 || !st.Mode.IsDir() {
		return nil, fmt.Errorf("%q: %w", dir, fs.ErrNotExist)
	}
	return &subFS{base: layer, dir: dir}, nil
}

// subFS is Sub of a layer that is not a tree of this package.
type subFS struct {
	sys.UnimplementedFS
	base sys.FS
	dir  string
}

var _ sys.FS = (*subFS)(nil)

// full maps p to base's path, or fails with EPERM for a path climbing
// above dir.
func (s *subFS) full(p string) (string, sys.Errno) {
	depth := 0
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "", sys.EPERM
			}
		default:
			depth++
		}
	}
	return path.Join(s.dir, path.Clean("/" + p)[1:]), 0
}

// OpenFile implements sys.FS.
func (s *subFS) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	if flag&(sys.O_WRONLY|sys.O_RDWR|sys.O_CREAT|sys.O_TRUNC) != 0 {
		if _, errno := s.Lstat(p); errno == 0 && flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL {
			return nil, sys.EEXIST
		}
		return nil, sys.EROFS
	}
	f, errno := s.full(p)
	if errno != 0 {
		return nil, errno
	}
	return s.base.OpenFile(f, flag, perm)
}

// Lstat implements sys.FS.
func (s *subFS) Lstat(p string) (wsys.Stat_t, sys.Errno) {
	f, errno := s.full(p)
	if errno != 0 {
		return wsys.Stat_t{}, errno
	}
	return s.base.Lstat(f)
}

// Stat implements sys.FS.
func (s *subFS) Stat(p string) (wsys.Stat_t, sys.Errno) {
	f, errno := s.full(p)
	if errno != 0 {
		return wsys.Stat_t{}, errno
	}
	return s.base.Stat(f)
}

// Readlink implements sys.FS.
func (s *subFS) Readlink(p string) (string, sys.Errno) {
	f, errno := s.full(p)
	if errno != 0 {
		return "", errno
	}
	return s.base.Readlink(f)
}

// Mkdir implements sys.FS.
func (s *subFS) Mkdir(p string, _ fs.FileMode) sys.Errno {
	if _, errno := s.Lstat(p); errno == 0 {
		return sys.EEXIST
	}
	return sys.EROFS
}

// Chmod implements sys.FS.
func (s *subFS) Chmod(string, fs.FileMode) sys.Errno { return sys.EROFS }

// Rename implements sys.FS.
func (s *subFS) Rename(string, string) sys.Errno { return sys.EROFS }

// Rmdir implements sys.FS.
func (s *subFS) Rmdir(string) sys.Errno { return sys.EROFS }

// Unlink implements sys.FS.
func (s *subFS) Unlink(string) sys.Errno { return sys.EROFS }

// Link implements sys.FS.
func (s *subFS) Link(string, string) sys.Errno { return sys.EROFS }

// Symlink implements sys.FS.
func (s *subFS) Symlink(string, string) sys.Errno { return sys.EROFS }

// Utimens implements sys.FS.
func (s *subFS) Utimens(string, int64, int64) sys.Errno { return sys.EROFS }

// Lift returns a read-only view of layer's directories in which the
// regular files of every directory called name are lifted into its
// parent, and nothing else is kept: of "a/x.py" and
// "a/__pycache__/x.cpython-311.pyc", Lift(layer, "__pycache__") shows only
// "a/x.cpython-311.pyc". That is where CPython looks for the bytecode of
// a/x.py when sys.pycache_prefix is set. Directories that would be empty
// are left out. The view shares layer's index and file bytes; it is built
// for layers of this package (NewMapLayer, NewDirLayer, NewTarLayer,
// NewUnion, Sub) only, and ok is false for any other.
func Lift(layer sys.FS, name string) (view sys.FS, ok bool) {
	t, isTree := layer.(*tree)
	if !isTree || !t.readOnly {
		return nil, false
	}
	root := lift(t.root, name)
	finish(root)
	return &tree{readOnly: true, root: root}, true
}

func lift(n *node, name string) *node {
	out := &node{ino: n.ino, mode: n.mode, nlink: 2, kids: map[string]*node{}, atim: n.atim, mtim: n.mtim, ctim: n.ctim}
	for k, c := range n.kids {
		switch {
		case !c.isDir():
		case k == name:
			for f, fc := range c.kids {
				if fc.mode.IsRegular() && out.kids[f] == nil {
					out.kids[f] = fc // shared: frozen nodes are never modified
				}
			}
		default:
			if sub := lift(c, name); len(sub.kids) > 0 {
				out.kids[k] = sub
				out.nlink++
			}
		}
	}
	return out
}
