package wasi

import (
	"context"
	"io/fs"
	"path"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// maxPath bounds a guest path (Linux's PATH_MAX).
const maxPath = 4096

// dirPath reads the path at (ptr, n) relative to the directory fd and
// returns the FS path it names, and whether it ended in a slash. A path
// that is absolute or climbs above the directory fails with ENOTCAPABLE.
func (st *state) dirPath(mem api.Memory, fd uint32, need uint64, ptr, n uint32) (*fdEntry, string, bool, uint32) {
	e := st.get(fd)
	if e == nil {
		return nil, "", false, errnoBadf
	}
	if e.kind != kindDir {
		return nil, "", false, errnoNotdir
	}
	if e.base&need != need {
		return nil, "", false, errnoNotcapable
	}
	if st.fs == nil {
		return nil, "", false, errnoNotcapable
	}
	if n > maxPath {
		return nil, "", false, errnoNametoolong
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		return nil, "", false, errnoFault
	}
	p, slash, errno := resolve(e.path, string(b))
	return e, p, slash, errno
}

// resolve joins rel to dir lexically. A ".." at dir itself stays at dir
// (dir/.. is dir, as "/.." is "/"), so that the root of a preopen is
// stat-able through ".."; a name after such a ".." would leave dir and
// fails with ENOTCAPABLE.
func resolve(dir, rel string) (string, bool, uint32) {
	if rel == "" {
		return "", false, errnoNoent
	}
	if rel[0] == '/' {
		return "", false, errnoNotcapable
	}
	if strings.IndexByte(rel, 0) >= 0 {
		return "", false, errnoInval
	}
	slash := rel[len(rel)-1] == '/'
	depth, escaped := 0, false
	for c := range strings.SplitSeq(rel, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth == 0 {
				escaped = true
			} else {
				depth--
			}
		default:
			if escaped {
				return "", false, errnoNotcapable
			}
			depth++
		}
	}
	if escaped {
		return dir, slash, 0
	}
	return path.Join(dir, rel), slash, 0
}

// mustBeDir applies a trailing slash: the path must name a directory
// (following links), else ENOTDIR; a missing one is ENOENT.
func (st *state) mustBeDir(p string) uint32 {
	s, errno := st.fs.Stat(p)
	if errno != 0 {
		return toWASI(errno)
	}
	if !s.Mode.IsDir() {
		return errnoNotdir
	}
	return 0
}

func pathCreateDirectory(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, p, _, errno := st.dirPath(mem, uint32(stack[0]), rightPathCreateDirectory, uint32(stack[1]), uint32(stack[2]))
	if errno != 0 {
		return errno
	}
	return toWASI(st.fs.Mkdir(p, 0o777))
}

func pathFilestatGet(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, p, slash, errno := st.dirPath(mem, uint32(stack[0]), rightPathFilestatGet, uint32(stack[2]), uint32(stack[3]))
	if errno != 0 {
		return errno
	}
	buf, ok := mem.Read(uint32(stack[4]), sizeFilestat)
	if !ok {
		return errnoFault
	}
	stat := st.fs.Lstat
	if slash || uint32(stack[1])&lookupSymlinkFollow != 0 {
		stat = st.fs.Stat
	}
	s, serr := stat(p)
	if serr != 0 {
		return toWASI(serr)
	}
	if slash && !s.Mode.IsDir() {
		return errnoNotdir
	}
	s.Ino = inode(s.Ino, p)
	putFilestat(buf, &s, ftUnknown)
	return 0
}

// inode is ino, or, from a layer that has none (a tar or map layer says
// 0), a stable number made from the path, so that a guest never sees 0
// (wasi-libc's readdir then stats every entry).
func inode(ino uint64, p string) uint64 {
	if ino != 0 {
		return ino
	}
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(p); i++ {
		h ^= uint64(p[i])
		h *= 1099511628211
	}
	return h | 1<<63
}

func pathFilestatSetTimes(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, p, slash, errno := st.dirPath(mem, uint32(stack[0]), rightPathFilestatSetTimes, uint32(stack[2]), uint32(stack[3]))
	if errno != 0 {
		return errno
	}
	a, m, errno := times(stack[4], stack[5], uint32(stack[6]))
	if errno != 0 {
		return errno
	}
	if slash {
		if errno := st.mustBeDir(p); errno != 0 {
			return errno
		}
	} else if uint32(stack[1])&lookupSymlinkFollow == 0 {
		s, serr := st.fs.Lstat(p)
		if serr != 0 {
			return toWASI(serr)
		}
		if s.Mode&fs.ModeSymlink != 0 {
			if l, ok := st.fs.(vfs.LutimensFS); ok {
				return toWASI(l.Lutimens(p, a, m))
			}
			// The FS cannot change a link's own times: refuse, as Linux
			// does on a file system without them, rather than change the
			// target's.
			return errnoNotsup
		}
	}
	return toWASI(st.fs.Utimens(p, a, m))
}

// follow resolves the symbolic links p names, up to Linux's 40.
func (st *state) follow(p string) (string, uint32) {
	for range 40 {
		s, errno := st.fs.Lstat(p)
		if errno != 0 {
			return "", toWASI(errno)
		}
		if s.Mode&fs.ModeSymlink == 0 {
			return p, 0
		}
		t, errno := st.fs.Readlink(p)
		if errno != 0 {
			return "", toWASI(errno)
		}
		if strings.HasPrefix(t, "/") {
			p = guestToFS(path.Clean(t))
		} else {
			p = path.Join(path.Dir(p), t)
		}
		if p == ".." || strings.HasPrefix(p, "../") {
			return "", errnoNotcapable
		}
	}
	return "", errnoLoop
}

func pathLink(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, oldP, oldSlash, errno := st.dirPath(mem, uint32(stack[0]), rightPathLinkSource, uint32(stack[2]), uint32(stack[3]))
	if errno != 0 {
		return errno
	}
	_, newP, newSlash, errno := st.dirPath(mem, uint32(stack[4]), rightPathLinkTarget, uint32(stack[5]), uint32(stack[6]))
	if errno != 0 {
		return errno
	}
	if oldSlash || uint32(stack[1])&lookupSymlinkFollow != 0 {
		if oldP, errno = st.follow(oldP); errno != 0 {
			return errno
		}
	}
	s, serr := st.fs.Lstat(oldP)
	if serr != 0 {
		return toWASI(serr)
	}
	if s.Mode.IsDir() {
		return errnoPerm
	}
	if oldSlash {
		return errnoNotdir
	}
	if newSlash {
		return st.slashedNewName(newP)
	}
	return toWASI(st.fs.Link(oldP, newP))
}

func pathReadlink(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, p, slash, errno := st.dirPath(mem, uint32(stack[0]), rightPathReadlink, uint32(stack[1]), uint32(stack[2]))
	if errno != 0 {
		return errno
	}
	bufPtr, bufLen, res := uint32(stack[3]), uint32(stack[4]), uint32(stack[5])
	buf, ok := mem.Read(bufPtr, bufLen)
	if !ok || !fits(mem, res, 4) {
		return errnoFault
	}
	if slash {
		if errno := st.mustBeDir(p); errno != 0 {
			return errno
		}
		return errnoInval
	}
	t, serr := st.fs.Readlink(p)
	if serr != 0 {
		return toWASI(serr)
	}
	// POSIX readlink: a short buffer gets the start of the target.
	n := copy(buf, t)
	mem.WriteUint32Le(res, uint32(n))
	return 0
}

func pathRemoveDirectory(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, p, _, errno := st.dirPath(mem, uint32(stack[0]), rightPathRemoveDirectory, uint32(stack[1]), uint32(stack[2]))
	if errno != 0 {
		return errno
	}
	return toWASI(st.fs.Rmdir(p))
}

func pathRename(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, oldP, oldSlash, errno := st.dirPath(mem, uint32(stack[0]), rightPathRenameSource, uint32(stack[1]), uint32(stack[2]))
	if errno != 0 {
		return errno
	}
	_, newP, newSlash, errno := st.dirPath(mem, uint32(stack[3]), rightPathRenameTarget, uint32(stack[4]), uint32(stack[5]))
	if errno != 0 {
		return errno
	}
	if oldSlash || newSlash {
		// A trailing slash on either name requires the source to be a
		// directory (rename(2)): "a/" for a file, or a file onto "b/"
		// (whether b exists or not) fail with ENOTDIR.
		s, serr := st.fs.Lstat(oldP)
		if serr != 0 {
			return toWASI(serr)
		}
		if !s.Mode.IsDir() {
			return errnoNotdir
		}
	}
	return toWASI(st.fs.Rename(oldP, newP))
}

func pathSymlink(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	tn := uint32(stack[1])
	if tn > maxPath {
		return errnoNametoolong
	}
	tb, ok := mem.Read(uint32(stack[0]), tn)
	if !ok {
		return errnoFault
	}
	target := string(tb)
	_, p, slash, errno := st.dirPath(mem, uint32(stack[2]), rightPathSymlink, uint32(stack[3]), uint32(stack[4]))
	if errno != 0 {
		return errno
	}
	if target == "" {
		return errnoNoent
	}
	if slash {
		return st.slashedNewName(p)
	}
	return toWASI(st.fs.Symlink(target, p))
}

func pathUnlinkFile(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	_, p, slash, errno := st.dirPath(mem, uint32(stack[0]), rightPathUnlinkFile, uint32(stack[1]), uint32(stack[2]))
	if errno != 0 {
		return errno
	}
	if slash {
		s, serr := st.fs.Stat(p)
		if serr != 0 {
			return toWASI(serr)
		}
		if s.Mode.IsDir() {
			return errnoIsdir
		}
		return errnoNotdir
	}
	serr := st.fs.Unlink(p)
	if serr == sys.EPERM || serr == sys.EISDIR {
		if s, e := st.fs.Lstat(p); e == 0 && s.Mode.IsDir() {
			return errnoIsdir
		}
	}
	return toWASI(serr)
}

func pathOpen(ctx context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	dirflags, oflags := uint32(stack[1]), uint32(stack[4])
	base, inh, fdflags, res := stack[5], stack[6], uint32(stack[7]), uint32(stack[8])
	need := rightPathOpen
	if oflags&oflagCreat != 0 {
		need |= rightPathCreateFile
	}
	if oflags&oflagTrunc != 0 {
		need |= rightPathFilestatSetSize
	}
	dir, p, slash, errno := st.dirPath(mem, uint32(stack[0]), need, uint32(stack[2]), uint32(stack[3]))
	if errno != 0 {
		return errno
	}
	if !fits(mem, res, 4) {
		return errnoFault
	}
	if oflags&^(oflagCreat|oflagDirectory|oflagExcl|oflagTrunc) != 0 || fdflags&^fdflagAll != 0 {
		return errnoInval
	}
	if slash {
		if oflags&oflagCreat != 0 {
			if _, serr := st.fs.Stat(p); serr == sys.ENOENT {
				return errnoIsdir // open("new/", O_CREAT) on Linux
			}
		}
		oflags |= oflagDirectory
	}
	base &= dir.inh
	inh &= dir.inh

	var flag sys.Oflag
	// The access mode follows fd_read/fd_write alone: Go's wasip1 runtime
	// asks for fd_filestat_set_size on a read-only open.
	write := base&rightFdWrite != 0 || oflags&oflagTrunc != 0
	read := base&rightsRead != 0
	switch {
	case oflags&oflagDirectory != 0:
		flag = sys.O_RDONLY | sys.O_DIRECTORY
	case write && read:
		flag = sys.O_RDWR
	case write:
		flag = sys.O_WRONLY
	default:
		flag = sys.O_RDONLY
	}
	if oflags&oflagCreat != 0 {
		flag |= sys.O_CREAT
	}
	if oflags&oflagExcl != 0 {
		flag |= sys.O_EXCL
	}
	if oflags&oflagTrunc != 0 {
		flag |= sys.O_TRUNC
	}
	if dirflags&lookupSymlinkFollow == 0 {
		flag |= sys.O_NOFOLLOW
	}
	if fdflags&fdflagAppend != 0 {
		flag |= sys.O_APPEND
	}
	if fdflags&fdflagNonblock != 0 {
		flag |= sys.O_NONBLOCK
	}
	f, serr := st.open(ctx, p, flag)
	if serr != 0 {
		return toWASI(serr)
	}
	e := &fdEntry{kind: kindFile, file: f, flags: uint16(fdflags), inh: inh, path: p, asked: base, oflag: flag}
	if flag&sys.O_DIRECTORY != 0 {
		setType(e, fs.ModeDir)
	} else {
		// Typed on first need (state.get): most opens are read, written
		// and closed without the guest asking what they are.
		e.untyped = true
		setType(e, 0)
	}
	fd, errno := st.insert(e)
	if errno != 0 {
		f.Close()
		return errno
	}
	mem.WriteUint32Le(res, fd)
	return 0
}

func fdReaddir(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	e := st.get(uint32(stack[0]))
	if e == nil {
		return errnoBadf
	}
	if e.kind != kindDir {
		return errnoNotdir
	}
	if e.base&rightFdReaddir == 0 {
		return errnoNotcapable
	}
	bufPtr, bufLen, cookie, res := uint32(stack[1]), uint32(stack[2]), stack[3], uint32(stack[4])
	buf, ok := mem.Read(bufPtr, bufLen)
	if !ok || !fits(mem, res, 4) {
		return errnoFault
	}
	if cookie == 0 || e.dir == nil {
		if errno := st.list(e); errno != 0 {
			return errno
		}
	}
	ents := e.dir.ents
	if cookie > uint64(len(ents)) {
		return errnoInval
	}
	var used int
	var hdr [sizeDirent]byte
	for i := int(cookie); i < len(ents) && used < len(buf); i++ {
		d := &ents[i]
		le.PutUint64(hdr[0:], uint64(i+1))
		le.PutUint64(hdr[8:], d.Ino)
		le.PutUint32(hdr[16:], uint32(len(d.Name)))
		hdr[20] = fileType(d.Type)
		used += copy(buf[used:], hdr[:])
		used += copy(buf[used:], d.Name)
	}
	mem.WriteUint32Le(res, uint32(used))
	return 0
}

// list reads the whole directory of e, with "." and ".." first, each with
// its real inode number. ".." of a preopen's directory (a mount root) is
// that directory itself.
func (st *state) list(e *fdEntry) uint32 {
	var ents []sys.Dirent
	var errno sys.Errno
	if e.file != nil {
		if _, errno = e.file.Seek(0, 0); errno == 0 {
			ents, errno = e.file.Readdir(-1)
		}
	}
	if e.file == nil || errno != 0 {
		f, oerr := st.fs.OpenFile(e.path, sys.O_RDONLY|sys.O_DIRECTORY, 0)
		if oerr != 0 {
			return toWASI(oerr)
		}
		ents, errno = f.Readdir(-1)
		f.Close()
	}
	if errno != 0 {
		return toWASI(errno)
	}
	self, serr := st.fs.Stat(e.path)
	if serr != 0 {
		return toWASI(serr)
	}
	parent, parentPath := self, e.path
	if !st.roots[e.path] && e.path != "." {
		if ps, perr := st.fs.Stat(path.Dir(e.path)); perr == 0 {
			parent, parentPath = ps, path.Dir(e.path)
		}
	}
	all := make([]sys.Dirent, 0, len(ents)+2)
	all = append(all, sys.Dirent{Name: ".", Ino: inode(self.Ino, e.path), Type: fs.ModeDir},
		sys.Dirent{Name: "..", Ino: inode(parent.Ino, parentPath), Type: fs.ModeDir})
	for _, d := range ents {
		if d.Name == "." || d.Name == ".." {
			continue
		}
		if d.Ino == 0 {
			p := path.Join(e.path, d.Name)
			if s, lerr := st.fs.Lstat(p); lerr == 0 {
				d.Ino = inode(s.Ino, p)
			}
		}
		all = append(all, d)
	}
	e.dir = &dirCache{ents: all}
	return 0
}

// open opens p. Opening a FIFO blocks until the other end opens it too, so
// when the run can be cancelled and p is a FIFO, the open runs in a
// goroutine and the call ends as soon as ctx is done (a file the abandoned
// open gets later is closed at once).
func (st *state) open(ctx context.Context, p string, flag sys.Oflag) (sys.File, sys.Errno) {
	if ctx.Done() == nil || flag&sys.O_NONBLOCK != 0 {
		return st.fs.OpenFile(p, flag, 0o666)
	}
	stat := st.fs.Stat
	if flag&sys.O_NOFOLLOW != 0 {
		stat = st.fs.Lstat
	}
	if s, errno := stat(p); errno != 0 || s.Mode&fs.ModeNamedPipe == 0 {
		return st.fs.OpenFile(p, flag, 0o666)
	}
	type result struct {
		f     sys.File
		errno sys.Errno
	}
	done := make(chan result) // unbuffered: an abandoned open closes its file
	abandoned := make(chan struct{})
	go func() {
		f, errno := st.fs.OpenFile(p, flag, 0o666)
		select {
		case done <- result{f, errno}:
		case <-abandoned:
			if f != nil {
				f.Close()
			}
		}
	}()
	st.mu.Unlock()
	defer st.mu.Lock()
	select {
	case r := <-done:
		return r.f, r.errno
	case <-ctx.Done():
		close(abandoned)
		interrupted(ctx)
		return nil, sys.EINTR
	}
}

// setType sets what an open entry's file type decides: kind, ftype,
// blocking and the rights (those asked for, within what the type and the
// access mode allow).
func setType(e *fdEntry, mode fs.FileMode) {
	if mode.IsDir() {
		e.kind, e.ftype, e.blocking = kindDir, ftDirectory, false
		e.base = e.asked & rightsDir
		return
	}
	e.kind, e.ftype = kindFile, fileType(mode)
	e.blocking = mode&(fs.ModeNamedPipe|fs.ModeCharDevice|fs.ModeSocket) != 0
	e.base = e.asked & rightsFile
	// Rights the access mode rules out are not reported; a call needing
	// them fails as on Linux (EBADF, EINVAL), not ENOTCAPABLE.
	e.modeDenied = 0
	if e.oflag&(sys.O_RDWR|sys.O_WRONLY) == 0 {
		e.modeDenied |= rightsWrite
	}
	if e.oflag&sys.O_WRONLY != 0 {
		e.modeDenied |= rightFdRead
	}
	e.base &^= e.modeDenied
	if e.blocking {
		e.base &^= rightFdSeek | rightFdTell
	}
}

// resolveType learns the type of an untyped entry (one fstat). Rights
// dropped with fd_fdstat_set_rights meanwhile stay dropped.
func (st *state) resolveType(e *fdEntry) {
	e.untyped = false
	s, errno := e.file.Stat()
	if errno != 0 {
		return // a regular file's answers, as the entry already gives
	}
	dropped := (e.asked & rightsFile &^ e.modeDenied) &^ e.base
	setType(e, s.Mode)
	e.base &^= dropped
}

// slashedNewName is the answer to making a link or symlink named p with a
// trailing slash, which names a directory no link can be: EEXIST when p
// exists, else ENOENT, as Linux answers.
func (st *state) slashedNewName(p string) uint32 {
	if _, errno := st.fs.Lstat(p); errno == 0 {
		return errnoExist
	}
	return errnoNoent
}
