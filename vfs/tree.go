package vfs

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

// maxSymlinks bounds symbolic link expansion in one path resolution, as
// Linux's MAXSYMLINKS does; more yields ELOOP.
const maxSymlinks = 40

// node is one file, directory or symbolic link of a tree.
//
// A regular file's bytes are either owned (data) or shared (src, size): a
// shared source is never written, so a read-only tree hands the same source
// to every instance, and a copy-on-write tree copies it into data on the
// first write.
type node struct {
	ino              wsys.Inode
	mode             fs.FileMode // type bits and permissions
	atim, mtim, ctim int64
	nlink            uint64

	data []byte // owned content of a regular file
	src  source // shared content of a regular file, nil once copied
	size int64  // length of src

	kids map[string]*node // directory entries, without "." and ".."

	// A directory of a copy-on-write tree is filled from the lower layer on
	// first use: from lowerNode when the lower layer is itself a tree (no
	// I/O, content shared), otherwise by reading lowerPath from t.lower.
	pending   bool
	lowerNode *node
	lowerPath string

	target string // symbolic link target
}

func (n *node) isDir() bool     { return n.mode.IsDir() }
func (n *node) isSymlink() bool { return n.mode&fs.ModeSymlink != 0 }

func (n *node) fileSize() int64 {
	switch {
	case n.src != nil:
		return n.size
	case n.isSymlink():
		return int64(len(n.target))
	case n.isDir():
		return 4096 // what most host filesystems report; never relied on
	}
	return int64(len(n.data))
}

func (n *node) stat() wsys.Stat_t {
	return wsys.Stat_t{
		Ino:   n.ino,
		Mode:  n.mode,
		Nlink: n.nlink,
		Size:  n.fileSize(),
		Atim:  n.atim,
		Mtim:  n.mtim,
		Ctim:  n.ctim,
	}
}

// tree is the in-memory filesystem behind every layer except host
// directories: the read-only asset layers (frozen trees whose file bytes
// come from a shared source), the scratch filesystem (owned bytes, a size
// cap) and the copy-on-write overlay (a tree filled lazily from a lower
// layer).
//
// A frozen tree is never modified after construction, so it takes no lock
// and is safe for any number of concurrent instances. A writable tree
// belongs to one instance and serializes its operations with mu; unlike
// afero's MemMapFs there is one lock per tree, not a global one plus one
// per file, so an operation never observes a half-done rename.
type tree struct {
	sys.UnimplementedFS

	mu       sync.Mutex
	readOnly bool
	root     *node
	lower    sys.FS // copy-on-write base, nil otherwise
	maxBytes int64  // 0: unlimited
	used     int64  // bytes owned by regular files
	nextIno  wsys.Inode
	closers  []io.Closer // host handles a directory layer holds
}

// Close releases what the layer holds open on the host (a directory layer
// keeps its directory open); other layers have nothing to release. Call it
// when no instance uses the layer any more.
func (t *tree) Close() error {
	var errs []error
	for _, c := range t.closers {
		errs = append(errs, c.Close())
	}
	t.closers = nil
	return errors.Join(errs...)
}

var (
	_ sys.FS    = (*tree)(nil)
	_ io.Closer = (*tree)(nil)
	_ io.Closer = (*hostFS)(nil)
)

func (t *tree) lock() func() {
	if t.readOnly {
		return func() {}
	}
	t.mu.Lock()
	return t.mu.Unlock
}

func now() int64 { return time.Now().UnixNano() }

func (t *tree) newNode(mode fs.FileMode) *node {
	t.nextIno++
	ts := now()
	n := &node{ino: t.nextIno, mode: mode, atim: ts, mtim: ts, ctim: ts, nlink: 1}
	if mode.IsDir() {
		n.kids = map[string]*node{}
		n.nlink = 2
	}
	return n
}

// splitPath returns the components of p, without empty and "." ones.
func splitPath(p string) []string {
	var out []string
	for p != "" {
		i := strings.IndexByte(p, '/')
		var c string
		if i < 0 {
			c, p = p, ""
		} else {
			c, p = p[:i], p[i+1:]
		}
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// resolved is the result of a path resolution. parent and name are set when
// the path ends in a name (whether or not it exists); n is the node, nil when
// the last component does not exist.
type resolved struct {
	parent *node
	name   string
	n      *node
}

// resolve walks p from the root, following symbolic links in intermediate
// components and, when follow is set, in the last one. A link never leads
// outside the tree: an absolute target or a ".." above the root is EPERM,
// which is also what wazero answers for a guest path that escapes its
// pre-open. Call it with the lock held.
func (t *tree) resolve(p string, follow bool) (resolved, sys.Errno) {
	mustDir := len(p) > 1 && p[len(p)-1] == '/'
	if mustDir {
		follow = true
	}
	rest := splitPath(p)
	stack := []*node{t.root}
	var r resolved
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		cur := stack[len(stack)-1]
		if !cur.isDir() {
			return resolved{}, sys.ENOTDIR
		}
		if c == ".." {
			if len(stack) == 1 {
				return resolved{}, sys.EPERM
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if errno := t.load(cur); errno != 0 {
			return resolved{}, errno
		}
		child := cur.kids[c]
		last := len(rest) == 0
		if child == nil {
			if last {
				return resolved{parent: cur, name: c}, sys.ENOENT
			}
			return resolved{}, sys.ENOENT
		}
		if child.isSymlink() && (!last || follow) {
			if links++; links > maxSymlinks {
				return resolved{}, sys.ELOOP
			}
			if path.IsAbs(child.target) {
				return resolved{}, sys.EPERM
			}
			rest = append(splitPath(child.target), rest...)
			continue
		}
		if last {
			r = resolved{parent: cur, name: c, n: child}
			if mustDir && !child.isDir() {
				return resolved{}, sys.ENOTDIR
			}
			return r, 0
		}
		stack = append(stack, child)
	}
	// The path named the root, or ended in "..".
	return resolved{n: stack[len(stack)-1]}, 0
}

// load fills a pending copy-on-write directory from the lower layer.
func (t *tree) load(d *node) sys.Errno {
	if !d.pending {
		return 0
	}
	if d.lowerNode != nil {
		for name, k := range d.lowerNode.kids {
			d.kids[name] = shadow(k)
		}
	} else if errno := t.loadLower(d); errno != 0 {
		return errno
	}
	d.pending, d.lowerNode = false, nil
	return 0
}

// shadow returns the overlay's node for a node of a frozen lower tree: it
// shares the content and keeps the inode, so the guest sees the same file.
func shadow(k *node) *node {
	n := &node{ino: k.ino, mode: k.mode, atim: k.atim, mtim: k.mtim, ctim: k.ctim, nlink: k.nlink, target: k.target}
	switch {
	case k.isDir():
		n.kids = map[string]*node{}
		n.pending, n.lowerNode = true, k
	case k.src != nil:
		n.src, n.size = k.src, k.size
	case !k.isSymlink():
		n.src, n.size = bytesSource(k.data), int64(len(k.data))
	}
	return n
}

// loadLower fills d from a lower layer that is not a tree.
func (t *tree) loadLower(d *node) sys.Errno {
	f, errno := t.lower.OpenFile(dirArg(d.lowerPath), sys.O_RDONLY|sys.O_DIRECTORY, 0)
	if errno != 0 {
		return errno
	}
	defer f.Close()
	ents, errno := f.Readdir(-1)
	if errno != 0 {
		return errno
	}
	for _, e := range ents {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		p := path.Join(d.lowerPath, e.Name)
		st, errno := t.lower.Lstat(p)
		if errno != 0 {
			return errno
		}
		n := &node{ino: st.Ino, mode: st.Mode, atim: st.Atim, mtim: st.Mtim, ctim: st.Ctim, nlink: st.Nlink}
		switch {
		case st.Mode.IsDir():
			n.kids = map[string]*node{}
			n.pending, n.lowerPath = true, p
		case st.Mode&fs.ModeSymlink != 0:
			if n.target, errno = t.lower.Readlink(p); errno != 0 {
				return errno
			}
		default:
			n.src, n.size = lowerSource{fs: t.lower, path: p}, st.Size
		}
		d.kids[e.Name] = n
	}
	return 0
}

func dirArg(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// OpenFile implements sys.FS.
func (t *tree) OpenFile(p string, flag sys.Oflag, perm fs.FileMode) (sys.File, sys.Errno) {
	defer t.lock()()
	acc := flag & (sys.O_RDONLY | sys.O_WRONLY | sys.O_RDWR)
	write := acc != sys.O_RDONLY
	r, errno := t.resolve(p, flag&sys.O_NOFOLLOW == 0)
	n := r.n
	switch {
	case errno == sys.ENOENT && r.parent != nil && flag&sys.O_CREAT != 0:
		if t.readOnly {
			return nil, sys.EROFS
		}
		if p[len(p)-1] == '/' {
			return nil, sys.EISDIR
		}
		n = t.newNode(perm.Perm())
		t.link(r.parent, r.name, n)
	case errno != 0:
		return nil, errno
	case flag&(sys.O_CREAT|sys.O_EXCL) == sys.O_CREAT|sys.O_EXCL:
		return nil, sys.EEXIST
	case n.isSymlink():
		return nil, sys.ELOOP // O_NOFOLLOW on a link
	case n.isDir():
		if write {
			return nil, sys.EISDIR
		}
	case flag&sys.O_DIRECTORY != 0:
		return nil, sys.ENOTDIR
	case t.readOnly && (write || flag&sys.O_TRUNC != 0):
		return nil, sys.EROFS
	case flag&sys.O_TRUNC != 0:
		if errno := t.truncate(n, 0); errno != 0 {
			return nil, errno
		}
	}
	if n.isDir() {
		if errno := t.load(n); errno != 0 {
			return nil, errno
		}
	}
	return &file{t: t, n: n, flag: flag}, 0
}

// link adds n to dir as name.
func (t *tree) link(dir *node, name string, n *node) {
	dir.kids[name] = n
	if n.isDir() {
		dir.nlink++
	}
	dir.mtim, dir.ctim = now(), now()
}

// unlink removes name from dir.
func (t *tree) unlink(dir *node, name string) {
	n := dir.kids[name]
	delete(dir.kids, name)
	if n.isDir() {
		dir.nlink--
	} else if n.nlink--; n.nlink == 0 && n.src == nil {
		t.used -= int64(len(n.data))
	}
	dir.mtim, dir.ctim = now(), now()
}

// Lstat implements sys.FS.
func (t *tree) Lstat(p string) (wsys.Stat_t, sys.Errno) { return t.statPath(p, false) }

// Stat implements sys.FS.
func (t *tree) Stat(p string) (wsys.Stat_t, sys.Errno) { return t.statPath(p, true) }

func (t *tree) statPath(p string, follow bool) (wsys.Stat_t, sys.Errno) {
	defer t.lock()()
	r, errno := t.resolve(p, follow)
	if errno != 0 {
		return wsys.Stat_t{}, errno
	}
	return r.n.stat(), 0
}

// Mkdir implements sys.FS.
func (t *tree) Mkdir(p string, perm fs.FileMode) sys.Errno {
	defer t.lock()()
	r, errno := t.resolve(p, false)
	switch {
	case errno == 0 && r.n != nil:
		return sys.EEXIST
	case errno == sys.ENOTDIR:
		return sys.ENOENT // as wazero's DirFS reports it
	case errno != sys.ENOENT || r.parent == nil:
		return errno
	case t.readOnly:
		return sys.EROFS
	}
	t.link(r.parent, r.name, t.newNode(fs.ModeDir|perm.Perm()))
	return 0
}

// Chmod implements sys.FS.
func (t *tree) Chmod(p string, perm fs.FileMode) sys.Errno {
	defer t.lock()()
	r, errno := t.resolve(p, true)
	if errno != 0 {
		return errno
	}
	if t.readOnly {
		return sys.EROFS
	}
	r.n.mode = r.n.mode.Type() | perm.Perm()
	r.n.ctim = now()
	return 0
}

// Rmdir implements sys.FS.
func (t *tree) Rmdir(p string) sys.Errno {
	defer t.lock()()
	if t.readOnly {
		return sys.EROFS
	}
	r, errno := t.resolve(p, false)
	switch {
	case errno != 0:
		return errno
	case !r.n.isDir():
		return sys.ENOTDIR
	case r.parent == nil:
		return errBusy
	}
	if errno := t.load(r.n); errno != 0 {
		return errno
	}
	if len(r.n.kids) != 0 {
		return sys.ENOTEMPTY
	}
	t.unlink(r.parent, r.name)
	return 0
}

// Unlink implements sys.FS.
func (t *tree) Unlink(p string) sys.Errno {
	defer t.lock()()
	if t.readOnly {
		return sys.EROFS
	}
	r, errno := t.resolve(p, false)
	switch {
	case errno != 0:
		return errno
	case r.n.isDir():
		return sys.EISDIR
	}
	t.unlink(r.parent, r.name)
	return 0
}

// Rename implements sys.FS.
func (t *tree) Rename(from, to string) sys.Errno {
	defer t.lock()()
	if t.readOnly {
		return sys.EROFS
	}
	src, errno := t.resolve(from, false)
	if errno != 0 {
		return errno
	}
	if src.parent == nil {
		return errBusy
	}
	dst, errno := t.resolve(to, false)
	if errno != 0 && (errno != sys.ENOENT || dst.parent == nil) {
		return errno
	}
	if dst.parent == nil {
		return errBusy
	}
	if dst.n == src.n {
		return 0
	}
	if src.n.isDir() && t.isAncestor(src.n, dst.parent) {
		return sys.EINVAL
	}
	if old := dst.n; old != nil {
		switch {
		case src.n.isDir() && !old.isDir():
			return sys.ENOTDIR
		case !src.n.isDir() && old.isDir():
			return sys.EISDIR
		case old.isDir():
			if errno := t.load(old); errno != 0 {
				return errno
			}
			if len(old.kids) != 0 {
				return sys.ENOTEMPTY
			}
		}
		t.unlink(dst.parent, dst.name)
	}
	n := src.n
	delete(src.parent.kids, src.name)
	if n.isDir() {
		src.parent.nlink--
	}
	src.parent.mtim, src.parent.ctim = now(), now()
	t.link(dst.parent, dst.name, n)
	n.ctim = now()
	return 0
}

// isAncestor reports whether d is a or contains a.
func (t *tree) isAncestor(d, a *node) bool {
	if d == a {
		return true
	}
	if !d.isDir() || d.pending {
		return false // a pending directory holds no node of this tree yet
	}
	for _, k := range d.kids {
		if k.isDir() && t.isAncestor(k, a) {
			return true
		}
	}
	return false
}

// Link implements sys.FS.
func (t *tree) Link(oldPath, newPath string) sys.Errno {
	defer t.lock()()
	if t.readOnly {
		return sys.EROFS
	}
	src, errno := t.resolve(oldPath, false)
	if errno != 0 {
		return errno
	}
	if src.n.isDir() {
		return sys.EPERM
	}
	dst, errno := t.resolve(newPath, false)
	switch {
	case errno == 0:
		return sys.EEXIST
	case errno != sys.ENOENT || dst.parent == nil:
		return errno
	}
	src.n.nlink++
	src.n.ctim = now()
	t.link(dst.parent, dst.name, src.n)
	return 0
}

// Symlink implements sys.FS. Like wazero's DirFS it refuses absolute targets.
func (t *tree) Symlink(oldPath, linkName string) sys.Errno {
	if path.IsAbs(oldPath) {
		return sys.EPERM
	}
	defer t.lock()()
	r, errno := t.resolve(linkName, false)
	switch {
	case errno == 0:
		return sys.EEXIST
	case errno != sys.ENOENT || r.parent == nil:
		return errno
	case t.readOnly:
		return sys.EROFS
	}
	n := t.newNode(fs.ModeSymlink | 0o777)
	n.target = oldPath
	t.link(r.parent, r.name, n)
	return 0
}

// Readlink implements sys.FS.
func (t *tree) Readlink(p string) (string, sys.Errno) {
	defer t.lock()()
	r, errno := t.resolve(p, false)
	if errno != 0 {
		return "", errno
	}
	if !r.n.isSymlink() {
		return "", sys.EINVAL
	}
	return r.n.target, 0
}

// Utimens implements sys.FS.
func (t *tree) Utimens(p string, atim, mtim int64) sys.Errno {
	defer t.lock()()
	r, errno := t.resolve(p, true)
	if errno != 0 {
		return errno
	}
	if t.readOnly {
		return sys.EROFS
	}
	setTimes(r.n, atim, mtim)
	return 0
}

func setTimes(n *node, atim, mtim int64) {
	if atim != sys.UTIME_OMIT {
		n.atim = atim
	}
	if mtim != sys.UTIME_OMIT {
		n.mtim = mtim
	}
	n.ctim = now()
}

// own makes n's content owned by the tree, copying it from the shared
// source on the first write: the copy-on-write step.
func (t *tree) own(n *node) sys.Errno {
	if n.src == nil {
		return 0
	}
	if errno := t.reserve(n.size); errno != 0 {
		return errno
	}
	data := make([]byte, n.size)
	r, errno := n.src.open()
	if errno != 0 {
		t.used -= n.size
		return errno
	}
	defer r.Close()
	if _, errno := readFull(r, data, 0); errno != 0 {
		t.used -= n.size
		return errno
	}
	n.data, n.src, n.size = data, nil, 0
	return 0
}

// reserve accounts for delta more owned bytes, or fails with ENOSPC.
func (t *tree) reserve(delta int64) sys.Errno {
	if t.maxBytes > 0 && delta > 0 && t.used+delta > t.maxBytes {
		return errNoSpace
	}
	t.used += delta
	return 0
}

// truncate sets the size of the regular file n.
func (t *tree) truncate(n *node, size int64) sys.Errno {
	if n.src != nil && size == 0 {
		n.src, n.size = nil, 0
	} else if errno := t.own(n); errno != 0 {
		return errno
	}
	cur := int64(len(n.data))
	if errno := t.reserve(size - cur); errno != 0 {
		return errno
	}
	if size <= cur {
		clear(n.data[size:])
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, size-cur)...)
	}
	n.mtim, n.ctim = now(), now()
	return 0
}

// writeAt writes b into the regular file n at off.
func (t *tree) writeAt(n *node, b []byte, off int64) (int, sys.Errno) {
	if errno := t.own(n); errno != 0 {
		return 0, errno
	}
	end := off + int64(len(b))
	if cur := int64(len(n.data)); end > cur {
		if errno := t.reserve(end - cur); errno != 0 {
			return 0, errno
		}
		if end <= int64(cap(n.data)) {
			n.data = n.data[:end]
		} else {
			grown := make([]byte, end, max(end, 2*int64(cap(n.data))))
			copy(grown, n.data)
			n.data = grown
		}
	}
	copy(n.data[off:], b)
	n.mtim, n.ctim = now(), now()
	return len(b), 0
}

// sortedNames returns the entries of directory d in byte order, the order
// every layer lists a directory in.
func sortedNames(d *node) []string {
	names := make([]string, 0, len(d.kids))
	for name := range d.kids {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
