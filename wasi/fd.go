package wasi

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

var le = binary.LittleEndian

// functions are wrun's host functions, in the order of the witx.
var functions = []function{
	{"fd_advise", fdAdvise, []api.ValueType{i32, i64, i64, i32}, []string{"fd", "offset", "len", "advice"}},
	{"fd_allocate", fdAllocate, []api.ValueType{i32, i64, i64}, []string{"fd", "offset", "len"}},
	{"fd_close", fdClose, []api.ValueType{i32}, []string{"fd"}},
	{"fd_datasync", fdDatasync, []api.ValueType{i32}, []string{"fd"}},
	{"fd_fdstat_get", fdFdstatGet, []api.ValueType{i32, i32}, []string{"fd", "result.stat"}},
	{"fd_fdstat_set_flags", fdFdstatSetFlags, []api.ValueType{i32, i32}, []string{"fd", "flags"}},
	{"fd_fdstat_set_rights", fdFdstatSetRights, []api.ValueType{i32, i64, i64}, []string{"fd", "fs_rights_base", "fs_rights_inheriting"}},
	{"fd_filestat_get", fdFilestatGet, []api.ValueType{i32, i32}, []string{"fd", "result.buf"}},
	{"fd_filestat_set_size", fdFilestatSetSize, []api.ValueType{i32, i64}, []string{"fd", "size"}},
	{"fd_filestat_set_times", fdFilestatSetTimes, []api.ValueType{i32, i64, i64, i32}, []string{"fd", "atim", "mtim", "fst_flags"}},
	{"fd_pread", fdPread, []api.ValueType{i32, i32, i32, i64, i32}, []string{"fd", "iovs", "iovs_len", "offset", "result.nread"}},
	{"fd_prestat_get", fdPrestatGet, []api.ValueType{i32, i32}, []string{"fd", "result.prestat"}},
	{"fd_prestat_dir_name", fdPrestatDirName, []api.ValueType{i32, i32, i32}, []string{"fd", "path", "path_len"}},
	{"fd_pwrite", fdPwrite, []api.ValueType{i32, i32, i32, i64, i32}, []string{"fd", "iovs", "iovs_len", "offset", "result.nwritten"}},
	{"fd_read", fdRead, []api.ValueType{i32, i32, i32, i32}, []string{"fd", "iovs", "iovs_len", "result.nread"}},
	{"fd_readdir", fdReaddir, []api.ValueType{i32, i32, i32, i64, i32}, []string{"fd", "buf", "buf_len", "cookie", "result.bufused"}},
	{"fd_renumber", fdRenumber, []api.ValueType{i32, i32}, []string{"fd", "to"}},
	{"fd_seek", fdSeek, []api.ValueType{i32, i64, i32, i32}, []string{"fd", "offset", "whence", "result.newoffset"}},
	{"fd_sync", fdSync, []api.ValueType{i32}, []string{"fd"}},
	{"fd_tell", fdTell, []api.ValueType{i32, i32}, []string{"fd", "result.offset"}},
	{"fd_write", fdWrite, []api.ValueType{i32, i32, i32, i32}, []string{"fd", "iovs", "iovs_len", "result.nwritten"}},
	{"path_create_directory", pathCreateDirectory, []api.ValueType{i32, i32, i32}, []string{"fd", "path", "path_len"}},
	{"path_filestat_get", pathFilestatGet, []api.ValueType{i32, i32, i32, i32, i32}, []string{"fd", "flags", "path", "path_len", "result.buf"}},
	{"path_filestat_set_times", pathFilestatSetTimes, []api.ValueType{i32, i32, i32, i32, i64, i64, i32}, []string{"fd", "flags", "path", "path_len", "atim", "mtim", "fst_flags"}},
	{"path_link", pathLink, []api.ValueType{i32, i32, i32, i32, i32, i32, i32}, []string{"old_fd", "old_flags", "old_path", "old_path_len", "new_fd", "new_path", "new_path_len"}},
	{"path_open", pathOpen, []api.ValueType{i32, i32, i32, i32, i32, i64, i64, i32, i32}, []string{"fd", "dirflags", "path", "path_len", "oflags", "fs_rights_base", "fs_rights_inheriting", "fdflags", "result.opened_fd"}},
	{"path_readlink", pathReadlink, []api.ValueType{i32, i32, i32, i32, i32, i32}, []string{"fd", "path", "path_len", "buf", "buf_len", "result.bufused"}},
	{"path_remove_directory", pathRemoveDirectory, []api.ValueType{i32, i32, i32}, []string{"fd", "path", "path_len"}},
	{"path_rename", pathRename, []api.ValueType{i32, i32, i32, i32, i32, i32}, []string{"fd", "old_path", "old_path_len", "new_fd", "new_path", "new_path_len"}},
	{"path_symlink", pathSymlink, []api.ValueType{i32, i32, i32, i32, i32}, []string{"old_path", "old_path_len", "fd", "new_path", "new_path_len"}},
	{"path_unlink_file", pathUnlinkFile, []api.ValueType{i32, i32, i32}, []string{"fd", "path", "path_len"}},
	{"poll_oneoff", pollOneoff, []api.ValueType{i32, i32, i32, i32}, []string{"in", "out", "nsubscriptions", "result.nevents"}},
	{"sock_accept", sockAccept, []api.ValueType{i32, i32, i32}, []string{"fd", "flags", "result.fd"}},
	{"sock_recv", sockRecv, []api.ValueType{i32, i32, i32, i32, i32, i32}, []string{"fd", "ri_data", "ri_data_len", "ri_flags", "result.ro_datalen", "result.ro_flags"}},
	{"sock_send", sockSend, []api.ValueType{i32, i32, i32, i32, i32}, []string{"fd", "si_data", "si_data_len", "si_flags", "result.so_datalen"}},
	{"sock_shutdown", sockShutdown, []api.ValueType{i32, i32}, []string{"fd", "how"}},
}

// lookup returns the entry of fd if it holds every right in need.
func (st *state) lookup(fd uint32, need uint64) (*fdEntry, uint32) {
	e := st.get(fd)
	if e == nil {
		return nil, errnoBadf
	}
	if e.base&need != need {
		return nil, e.denied(need, errnoNotcapable)
	}
	return e, 0
}

// denied is the errno of a call lacking some right of need: modeErr when
// the access mode rules it out (EBADF for reads and writes, EINVAL for a
// truncation, as Linux says), ENOTCAPABLE when it was dropped.
func (e *fdEntry) denied(need uint64, def uint32) uint32 {
	missing := need &^ e.base
	if missing&e.modeDenied == 0 {
		return def
	}
	if missing&rightFdFilestatSetSize != 0 {
		return errnoInval
	}
	return errnoBadf
}

// fits reports whether [ptr, ptr+n) is inside mem.
func fits(mem api.Memory, ptr uint32, n uint64) bool {
	return uint64(ptr)+n <= uint64(mem.Size())
}

func fdAdvise(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdAdvise)
	if errno != 0 {
		return errno
	}
	if uint32(stack[3]) > 5 {
		return errnoInval
	}
	if e.kind == kindStdin || e.kind == kindStdout {
		return errnoSpipe
	}
	return 0
}

func fdAllocate(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdAllocate)
	if errno != 0 {
		return errno
	}
	off, n := int64(stack[1]), int64(stack[2])
	if off < 0 || n <= 0 {
		return errnoInval
	}
	if e.kind != kindFile {
		return errnoBadf
	}
	if off > math.MaxInt64-n {
		return 22 // EFBIG
	}
	s, serr := e.file.Stat()
	if serr != 0 {
		return toWASI(serr)
	}
	if s.Size < off+n {
		return toWASI(e.file.Truncate(off + n))
	}
	return 0
}

func fdClose(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	fd := uint32(stack[0])
	e := st.raw(fd)
	if e == nil {
		return errnoBadf
	}
	st.fds[fd] = nil
	return toWASI(e.close())
}

func fdDatasync(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdDatasync)
	if errno != 0 {
		return errno
	}
	if e.file == nil {
		return 0
	}
	return toWASI(e.file.Datasync())
}

func fdSync(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdSync)
	if errno != 0 {
		return errno
	}
	if e.file == nil {
		return 0
	}
	return toWASI(e.file.Sync())
}

func fdFdstatGet(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	e := st.get(uint32(stack[0]))
	if e == nil {
		return errnoBadf
	}
	buf, ok := mem.Read(uint32(stack[1]), sizeFdstat)
	if !ok {
		return errnoFault
	}
	buf[0], buf[1] = e.ftype, 0
	le.PutUint16(buf[2:], e.flags)
	le.PutUint32(buf[4:], 0)
	le.PutUint64(buf[8:], e.base)
	le.PutUint64(buf[16:], e.inh)
	return 0
}

func fdFdstatSetFlags(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdFdstatSetFlags)
	if errno != 0 {
		return errno
	}
	flags := uint32(stack[1])
	if flags&^fdflagAll != 0 {
		return errnoInval
	}
	if flags&(fdflagDsync|fdflagRsync|fdflagSync) != 0 {
		// The synchronisation flags are fixed at open, as in wasmtime
		// (Linux's fcntl(F_SETFL) ignores them): asking for one is EINVAL,
		// and those already set stay set.
		return errnoInval
	}
	changed := (uint16(flags) ^ e.flags) & (fdflagAppend | fdflagNonblock)
	if e.kind == kindFile {
		if changed&fdflagAppend != 0 {
			if errno := e.file.SetAppend(flags&fdflagAppend != 0); errno != 0 {
				return toWASI(errno)
			}
		}
		if changed&fdflagNonblock != 0 && e.blocking {
			// On a regular file O_NONBLOCK changes nothing (Linux
			// accepts it); on a FIFO or device the layer must do it.
			nb, ok := e.file.(interface{ SetNonblock(bool) sys.Errno })
			if !ok {
				return errnoNotsup
			}
			if errno := nb.SetNonblock(flags&fdflagNonblock != 0); errno != 0 {
				return toWASI(errno)
			}
		}
	} else if e.kind == kindDir && changed&fdflagAppend != 0 {
		return errnoInval
	}
	e.flags = e.flags&^(fdflagAppend|fdflagNonblock) | uint16(flags)
	return 0
}

func fdFdstatSetRights(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e := st.get(uint32(stack[0]))
	if e == nil {
		return errnoBadf
	}
	base, inh := stack[1], stack[2]
	if base&^e.base != 0 || inh&^e.inh != 0 {
		return errnoNotcapable
	}
	e.base, e.inh = base, inh
	return 0
}

func (st *state) statEntry(e *fdEntry) (wsys.Stat_t, sys.Errno) {
	switch {
	case e.file != nil:
		return e.file.Stat()
	case e.kind == kindDir:
		return st.fs.Stat(e.path)
	}
	return wsys.Stat_t{}, 0
}

func fdFilestatGet(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdFilestatGet)
	if errno != 0 {
		return errno
	}
	buf, ok := mem.Read(uint32(stack[1]), sizeFilestat)
	if !ok {
		return errnoFault
	}
	s, serr := st.statEntry(e)
	if serr != 0 {
		return toWASI(serr)
	}
	if e.kind == kindFile || e.kind == kindDir {
		s.Ino = inode(s.Ino, e.path)
	}
	putFilestat(buf, &s, e.ftype)
	return 0
}

// putFilestat writes a filestat; ftype overrides the mode when not zero.
func putFilestat(buf []byte, s *wsys.Stat_t, ftype uint8) {
	if ftype == ftUnknown {
		ftype = fileType(s.Mode)
	}
	le.PutUint64(buf[0:], s.Dev)
	le.PutUint64(buf[8:], s.Ino)
	buf[16] = ftype
	clear(buf[17:24])
	le.PutUint64(buf[24:], s.Nlink)
	le.PutUint64(buf[32:], uint64(s.Size))
	le.PutUint64(buf[40:], uint64(s.Atim))
	le.PutUint64(buf[48:], uint64(s.Mtim))
	le.PutUint64(buf[56:], uint64(s.Ctim))
}

func fdFilestatSetSize(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdFilestatSetSize)
	if errno != 0 {
		return errno
	}

	size := int64(stack[1])
	if size < 0 {
		return errnoInval
	}
	if e.kind != kindFile {
		return errnoInval
	}
	return toWASI(e.file.Truncate(size))
}

// times turns a WASI (atim, mtim, fst_flags) into Utimens arguments.
func times(atim, mtim uint64, fst uint32) (int64, int64, uint32) {
	if fst&^(fstAtim|fstAtimNow|fstMtim|fstMtimNow) != 0 ||
		fst&(fstAtim|fstAtimNow) == fstAtim|fstAtimNow || fst&(fstMtim|fstMtimNow) == fstMtim|fstMtimNow {
		return 0, 0, errnoInval
	}
	a, m := sys.UTIME_OMIT, sys.UTIME_OMIT
	var now int64
	if fst&(fstAtimNow|fstMtimNow) != 0 {
		now = time.Now().UnixNano()
	}
	switch {
	case fst&fstAtim != 0:
		a = int64(atim)
	case fst&fstAtimNow != 0:
		a = now
	}
	switch {
	case fst&fstMtim != 0:
		m = int64(mtim)
	case fst&fstMtimNow != 0:
		m = now
	}
	return a, m, 0
}

func fdFilestatSetTimes(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdFilestatSetTimes)
	if errno != 0 {
		return errno
	}
	a, m, errno := times(stack[1], stack[2], uint32(stack[3]))
	if errno != 0 {
		return errno
	}
	switch {
	case e.file != nil:
		return toWASI(e.file.Utimens(a, m))
	case e.kind == kindDir:
		return toWASI(st.fs.Utimens(e.path, a, m))
	}
	return 0
}

func fdPrestatGet(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	e := st.get(uint32(stack[0]))
	if e == nil || e.preopen == "" {
		return errnoBadf
	}
	buf, ok := mem.Read(uint32(stack[1]), sizePrestat)
	if !ok {
		return errnoFault
	}
	le.PutUint32(buf[0:], 0) // tag: dir
	le.PutUint32(buf[4:], uint32(len(e.preopen)))
	return 0
}

func fdPrestatDirName(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	e := st.get(uint32(stack[0]))
	if e == nil || e.preopen == "" {
		return errnoBadf
	}
	if uint64(uint32(stack[2])) < uint64(len(e.preopen)) {
		return errnoNametoolong
	}
	if !mem.WriteString(uint32(stack[1]), e.preopen) {
		return errnoFault
	}
	return 0
}

func fdRenumber(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	from, to := uint32(stack[0]), uint32(stack[1])
	e, dst := st.get(from), st.get(to)
	if e == nil || dst == nil {
		return errnoBadf
	}
	if from == to {
		return 0
	}
	dst.close()
	st.fds[to], st.fds[from] = e, nil
	return 0
}

func fdSeek(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	fd, off, whence, res := uint32(stack[0]), int64(stack[1]), uint32(stack[2]), uint32(stack[3])
	e := st.get(fd)
	if e == nil {
		return errnoBadf
	}
	need := rightFdSeek
	if off == 0 && whence == io.SeekCurrent {
		need = rightFdTell
		if e.base&rightFdSeek != 0 {
			need = rightFdSeek
		}
	}
	if e.kind == kindStdin || e.kind == kindStdout {
		return errnoSpipe
	}
	if e.base&need != need {
		return errnoNotcapable
	}
	if whence > io.SeekEnd {
		return errnoInval
	}
	if !fits(mem, res, 8) {
		return errnoFault
	}
	if e.file == nil {
		return errnoBadf
	}
	pos, errno := e.file.Seek(off, int(whence))
	if errno != 0 {
		return toWASI(errno)
	}
	mem.WriteUint64Le(res, uint64(pos))
	return 0
}

func fdTell(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	e, errno := st.lookup(uint32(stack[0]), rightFdTell)
	if errno != 0 {
		if e := st.get(uint32(stack[0])); e != nil && (e.kind == kindStdin || e.kind == kindStdout) {
			return errnoSpipe
		}
		return errno
	}
	res := uint32(stack[1])
	if !fits(mem, res, 8) {
		return errnoFault
	}
	if e.file == nil {
		return errnoSpipe
	}
	pos, serr := e.file.Seek(0, io.SeekCurrent)
	if serr != 0 {
		return toWASI(serr)
	}
	mem.WriteUint64Le(res, uint64(pos))
	return 0
}

// iovecs returns the guest's iovec array, bounds-checked.
func iovecs(mem api.Memory, iovs, n uint32) ([]byte, bool) {
	size := uint64(n) * sizeIovec
	if size > math.MaxUint32 {
		return nil, false
	}
	return mem.Read(iovs, uint32(size))
}

func fdRead(ctx context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	return st.readv(ctx, mem, stack, -1, uint32(stack[3]))
}

func fdPread(ctx context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	off := int64(stack[3])
	if off < 0 {
		return errnoInval
	}
	return st.readv(ctx, mem, stack, off, uint32(stack[4]))
}

func (st *state) readv(ctx context.Context, mem api.Memory, stack []uint64, off int64, res uint32) uint32 {
	e := st.raw(uint32(stack[0]))
	if e == nil {
		return errnoBadf
	}
	if e.untyped && ctx.Done() != nil {
		st.resolveType(e) // a FIFO or a device waits cancellably
	}
	return st.transfer(ctx, mem, e, stack, off, res, false)
}

// maxTransfer bounds the bytes one read or write call moves, as Linux's
// MAX_RW_COUNT does: iovecs may repeat a buffer, and their sum must fit
// the u32 the guest is told.
const maxTransfer = 0x7ffff000

// transfer is the common part of fd_read, fd_pread, fd_write and
// fd_pwrite: it checks the fd and its rights, then moves the iovecs one by
// one (readOne or writeOne), stopping at the first short or failed
// transfer; a failure after some bytes moved reports those bytes.
func (st *state) transfer(ctx context.Context, mem api.Memory, e *fdEntry, stack []uint64, off int64, res uint32, write bool) uint32 {
	if e.kind == kindDir {
		return errnoIsdir
	}
	need := rightFdRead
	if write {
		need = rightFdWrite
	}
	if off >= 0 {
		if e.kind == kindStdin || e.kind == kindStdout {
			return errnoSpipe
		}
		need |= rightFdSeek
	}
	if e.base&need != need {
		return e.denied(need, errnoNotcapable)
	}
	iov, ok := iovecs(mem, uint32(stack[1]), uint32(stack[2]))
	if !ok || !fits(mem, res, 4) {
		return errnoFault
	}
	var total uint32
	for i := 0; i+sizeIovec <= len(iov); i += sizeIovec {
		buf, ok := mem.Read(le.Uint32(iov[i:]), le.Uint32(iov[i+4:]))
		if !ok {
			return errnoFault
		}
		if len(buf) == 0 {
			continue
		}
		if rest := maxTransfer - total; uint64(len(buf)) > uint64(rest) {
			if rest == 0 {
				break
			}
			buf = buf[:rest]
		}
		var n int
		var errno sys.Errno
		if write {
			n, errno = writeOne(e, buf, off)
		} else {
			n, errno = st.readOne(ctx, e, buf, off)
		}
		total += uint32(n)
		if errno != 0 {
			if total > 0 {
				break
			}
			return toWASI(errno)
		}
		if n < len(buf) {
			break
		}
		if off >= 0 {
			off += int64(n)
		}
	}
	mem.WriteUint32Le(res, total)
	return 0
}

func (st *state) readOne(ctx context.Context, e *fdEntry, buf []byte, off int64) (int, sys.Errno) {
	if e.kind == kindStdin {
		if e.blocking && ctx.Done() != nil {
			return st.waitRead(ctx, buf, func(b []byte) (int, sys.Errno) { return readStd(e.r, b) })
		}
		return readStd(e.r, buf)
	}
	if e.kind != kindFile {
		return 0, sys.EBADF
	}
	if off >= 0 {
		return e.file.Pread(buf, off)
	}
	if e.blocking && ctx.Done() != nil {
		return st.waitRead(ctx, buf, e.file.Read)
	}
	return e.file.Read(buf)
}

func readStd(r io.Reader, buf []byte) (int, sys.Errno) {
	n, err := r.Read(buf)
	if err != nil && !errors.Is(err, io.EOF) && n == 0 {
		return 0, sys.UnwrapOSError(err)
	}
	return n, 0
}

// waitRead runs a read that may block in a goroutine, into a buffer of its
// own, and returns EINTR as soon as ctx is done.
func (st *state) waitRead(ctx context.Context, buf []byte, read func([]byte) (int, sys.Errno)) (int, sys.Errno) {
	type result struct {
		n     int
		errno sys.Errno
	}
	tmp := make([]byte, min(len(buf), 64<<10))
	done := make(chan result, 1)
	go func() {
		n, errno := read(tmp)
		done <- result{n, errno}
	}()
	st.mu.Unlock()
	defer st.mu.Lock()
	select {
	case r := <-done:
		return copy(buf, tmp[:r.n]), r.errno
	case <-ctx.Done():
		interrupted(ctx)
		return 0, sys.EINTR
	}
}

func fdWrite(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	return st.writev(mem, stack, -1, uint32(stack[3]))
}

func fdPwrite(_ context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	off := int64(stack[3])
	if off < 0 {
		return errnoInval
	}
	return st.writev(mem, stack, off, uint32(stack[4]))
}

func (st *state) writev(mem api.Memory, stack []uint64, off int64, res uint32) uint32 {
	e := st.raw(uint32(stack[0]))
	if e == nil {
		return errnoBadf
	}
	return st.transfer(context.Background(), mem, e, stack, off, res, true)
}

// writeOne writes buf to e, at off when off >= 0.
func writeOne(e *fdEntry, buf []byte, off int64) (int, sys.Errno) {
	switch {
	case e.kind == kindStdout:
		n, err := e.w.Write(buf)
		if err != nil {
			errno := sys.UnwrapOSError(err)
			if errno == 0 {
				errno = sys.EIO
			}
			return n, errno
		}
		return n, 0
	case e.kind != kindFile:
		return 0, sys.EBADF
	case off >= 0:
		return e.file.Pwrite(buf, off)
	default:
		return e.file.Write(buf)
	}
}
