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

	data content // owned content of a regular file
	src  source  // shared content of a regular file, nil once copied
	size int64   // length of src

	kids   map[string]*node // directory entries, without "." and ".."
	sorted []string         // names of kids in byte order; nil when stale

	opens    int  // open files of this node (writable trees only)
	released bool // credited to the budget: no name and no open file reach it

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
	return n.data.size
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
	lower    sys.FS  // copy-on-write base, nil otherwise
	b        *budget // what a writable tree holds of the host; nil when read-only
	nextIno  wsys.Inode
	closers  []io.Closer // host handles a directory layer holds
}

// What a writable tree charges to its budget, on top of file bytes: every
// node (file, directory, link) and every directory entry, with its name's
// bytes, and every link target's bytes, so that a guest cannot hold more
// of the host in names and empty files than in file content. The figures
// are close to what Go spends on them (a node, a map slot, the sorted
// listing); RATIONALE.md ("Filesystem limits") explains them.
const (
	nodeCost  = 256
	entryCost = 64
)

func entryBytes(name string) int64 { return entryCost + int64(len(name)) }

// nodeBytes is what n itself is charged: its cost, a link's target and the
// capacity of its owned content.
func nodeBytes(n *node) int64 {
	return nodeCost + int64(len(n.target)) + n.data.charged()
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

// newNode makes a node for name, charging the node, its entry in its
// directory and target, the link target of a symbolic link. It fails with
// ENOSPC when the budget cannot hold them.
func (t *tree) newNode(mode fs.FileMode, name, target string) (*node, sys.Errno) {
	if errno := t.b.reserve(nodeCost + entryBytes(name) + int64(len(target))); errno != 0 {
		return nil, errno
	}
	n := t.makeNode(mode)
	n.target = target
	return n, 0
}

// makeNode makes a node without charging it (the root of a new tree).
func (t *tree) makeNode(mode fs.FileMode) *node {
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
	// The overlay's copies of lower entries take host memory too. They are
	// charged without a check: the lower layer bounds them, and refusing to
	// list a directory would be a strange way to report a full overlay.
	var charge int64
	for name, k := range d.kids {
		charge += entryBytes(name) + nodeBytes(k)
	}
	t.b.force(charge)
	d.pending, d.lowerNode, d.sorted = false, nil, nil
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
		n.src, n.size = bytesSource(nil), 0 // a frozen file always has a source; this is an empty one
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
		if n, errno = t.newNode(perm.Perm(), r.name, ""); errno != 0 {
			return nil, errno
		}
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
	f := &file{t: t, n: n, flag: flag}
	if s, ok := n.src.(checkedSource); ok {
		// Opened now, not at the first read, so that a file that fails its
		// check fails the guest's open.
		if f.r, errno = s.open(); errno != 0 {
			return nil, errno
		}
	}
	if !t.readOnly {
		n.opens++
	}
	return f, 0
}

// checkedSource is a source that checks the file behind it when it is
// opened (an index layer's: NewIndexLayer). The tree opens it when the
// guest opens the file, so a failed check fails the open itself rather
// than a later read.
type checkedSource interface {
	source
	checksOnOpen()
}

// link adds n to dir as name. The caller has charged the entry.
func (t *tree) link(dir *node, name string, n *node) {
	dir.kids[name] = n
	dir.sorted = nil
	if n.isDir() {
		dir.nlink++
	}
	dir.mtim, dir.ctim = now(), now()
}

// unlink removes name from dir, crediting the entry, and the node too when
// it has no other name and is not open: a file unlinked while open keeps
// its bytes, and they stay charged until its last close.
func (t *tree) unlink(dir *node, name string) {
	n := dir.kids[name]
	delete(dir.kids, name)
	dir.sorted = nil
	t.b.release(entryBytes(name))
	switch {
	case n.isDir():
		dir.nlink--
		n.nlink = 0
		t.release(n) // empty; an open handle lists nothing
	case n.nlink > 0:
		n.nlink--
	}
	if n.nlink == 0 && n.opens == 0 {
		t.release(n)
	}
	dir.mtim, dir.ctim = now(), now()
}

// release credits what node n holds, now that nothing reaches it, and drops
// its content.
func (t *tree) release(n *node) {
	if n.released {
		return
	}
	n.released = true
	t.b.release(nodeBytes(n))
	n.data, n.src, n.size = content{}, nil, 0
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
	n, errno := t.newNode(fs.ModeDir|perm.Perm(), r.name, "")
	if errno != 0 {
		return errno
	}
	t.link(r.parent, r.name, n)
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
	grow := int64(len(dst.name)) - int64(len(src.name))
	if grow > 0 && dst.n == nil {
		if errno := t.b.reserve(grow); errno != 0 {
			return errno
		}
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
		t.unlink(dst.parent, dst.name) // credits the replaced entry
		t.b.force(grow)                // the entry moves from src's name to dst's
	} else if grow < 0 {
		t.b.release(-grow)
	}
	n := src.n
	delete(src.parent.kids, src.name)
	src.parent.sorted = nil
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
	if errno := t.b.reserve(entryBytes(dst.name)); errno != 0 {
		return errno
	}
	src.n.nlink++
	src.n.ctim = now()
	t.link(dst.parent, dst.name, src.n)
	return 0
}

// Symlink implements sys.FS. Like wazero's DirFS it refuses absolute
// targets. The target is copied: wazero hands it over as a view of guest
// memory, which the guest may reuse as soon as the call returns.
func (t *tree) Symlink(oldPath, linkName string) sys.Errno {
	if path.IsAbs(oldPath) {
		return sys.EPERM
	}
	oldPath = strings.Clone(oldPath)
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
	n, errno := t.newNode(fs.ModeSymlink|0o777, r.name, oldPath)
	if errno != 0 {
		return errno
	}
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

// Lutimens implements LutimensFS: the times of a last symbolic link
// itself.
func (t *tree) Lutimens(p string, atim, mtim int64) sys.Errno {
	defer t.lock()()
	r, errno := t.resolve(p, false)
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
	r, errno := n.src.open()
	if errno != 0 {
		return errno
	}
	defer r.Close()
	var c content
	if errno := c.setSize(t.b, n.size); errno != 0 {
		return errno
	}
	for i := int64(0); i*blockSize < n.size; i++ {
		upto := min(blockSize, n.size-i*blockSize)
		errno := c.grow(t.b, i, upto)
		if errno == 0 {
			_, errno = readFull(r, c.blocks[i][:upto], i*blockSize)
		}
		if errno != 0 {
			c.free(t.b)
			return errno
		}
	}
	n.data, n.src, n.size = c, nil, 0
	return 0
}

// truncate sets the size of the regular file n.
func (t *tree) truncate(n *node, size int64) sys.Errno {
	if n.src != nil && size == 0 {
		n.src, n.size = nil, 0
	} else if errno := t.own(n); errno != 0 {
		return errno
	}
	if errno := n.data.setSize(t.b, size); errno != 0 {
		return errno
	}
	n.mtim, n.ctim = now(), now()
	return 0
}

// writeAt writes b into the regular file n at off.
func (t *tree) writeAt(n *node, b []byte, off int64) (int, sys.Errno) {
	if errno := t.own(n); errno != 0 {
		return 0, errno
	}
	if errno := n.data.writeAt(t.b, b, off); errno != 0 {
		return 0, errno
	}
	n.mtim, n.ctim = now(), now()
	return len(b), 0
}

// sortedNames returns the entries of directory d in byte order, the order
// every layer lists a directory in. A writable tree keeps the list until d
// changes; a frozen tree has every list made when it was built (finish), as
// it takes no lock. Call it with the lock held.
func (t *tree) sortedNames(d *node) []string {
	if d.sorted != nil {
		return d.sorted
	}
	names := namesOf(d)
	if !t.readOnly {
		d.sorted = names
	}
	return names
}

func namesOf(d *node) []string {
	names := make([]string, 0, len(d.kids))
	for name := range d.kids {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// finish makes the sorted listing of d and of every directory below it,
// once a frozen tree is built.
func finish(d *node) {
	d.sorted = namesOf(d)
	for _, k := range d.kids {
		if k.isDir() {
			finish(k)
		}
	}
}
