package wasi

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	wsys "github.com/tetratelabs/wazero/sys"
)

// ModuleName is the WASI preview 1 import module.
const ModuleName = wasi_snapshot_preview1.ModuleName

// Config is the WASI world of one module instance.
type Config struct {
	// FS is the instance's whole filesystem, addressed by guest path without
	// the leading slash ("." is "/"): the vfs mount table
	// (vfs.Limits.NewMountFS). nil: no filesystem and no preopens.
	FS sys.FS
	// Preopens are the guest directories handed to the guest as preopened
	// fds 3, 4, … in this order, each named by its guest path ("/data",
	// "/usr/local/lib", "/"). Every preopen resolves through FS; a path
	// relative to a directory fd never climbs above that directory: such a
	// path fails with ENOTCAPABLE, as in wasmtime.
	Preopens []string
	// Stdin, Stdout and Stderr are fds 0–2; nil means empty input /
	// discarded output. An *os.File reports its real file type (character
	// device when it is a terminal or a character device such as
	// /dev/null, a regular file as a regular file, anything else as
	// unknown); any other reader or writer reports unknown.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

type ctxKey struct{}

// WithConfig returns a context carrying c for one instance: pass it to
// wazero.Runtime.InstantiateModule. The instance's fd table is created
// from c (stdio, then the preopens) and lives as long as that context's
// calls; the files still open are closed when the instance is closed. An
// instance started without a Config has no fds at all (every fd call
// fails with EBADF).
func WithConfig(ctx context.Context, c Config) context.Context {
	st := newState(c)
	ctx = context.WithValue(ctx, ctxKey{}, st)
	return experimental.WithCloseNotifier(ctx, experimental.CloseNotifyFunc(func(context.Context, uint32) { st.closeAll() }))
}

// Instantiate registers wrun's "wasi_snapshot_preview1" host module in r.
// args_*, environ_*, clock_*, random_get, proc_exit, proc_raise and
// sched_yield are wazero's own (they read the instance's wazero
// ModuleConfig: args, env, clocks, random source); every fd_*, path_*,
// poll_oneoff and sock_* function is wrun's and uses the Config carried by
// the context the instance was started with (WithConfig).
func Instantiate(ctx context.Context, r wazero.Runtime) (api.Closer, error) {
	b := r.NewHostModuleBuilder(ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	h := &host{}
	for _, f := range functions {
		fn := f.fn
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				st := h.state(ctx, mod)
				if st == nil {
					stack[0] = errnoBadf
					return
				}
				st.mu.Lock()
				defer st.mu.Unlock()
				stack[0] = uint64(fn(ctx, st, mod.Memory(), stack))
			}), f.params, []api.ValueType{api.ValueTypeI32}).
			WithParameterNames(f.names...).
			Export(f.name)
	}
	exportAdapter(b, h) // the preview 1 adapter's own functions (adapter.go)
	return b.Instantiate(ctx)
}

// host finds the state of the calling instance: from the call's context,
// or, for calls made later with another context (exported functions of a
// reactor), from the instance it was first seen with.
type host struct {
	byModule sync.Map // api.Module → *state
	// last is the state of the instance that called last: a run makes
	// its calls back to back, so most calls skip the context lookup.
	last atomic.Pointer[state]
}

func (h *host) state(ctx context.Context, mod api.Module) *state {
	if st := h.last.Load(); st != nil && st.mod == mod {
		return st
	}
	st := h.lookup(ctx, mod)
	if st != nil {
		h.last.Store(st)
	}
	return st
}

func (h *host) lookup(ctx context.Context, mod api.Module) *state {
	if st, ok := ctx.Value(ctxKey{}).(*state); ok {
		if st.mod == nil {
			st.mod = mod
			st.host = h
			h.byModule.Store(mod, st)
		}
		return st
	}
	if st, ok := h.byModule.Load(mod); ok {
		return st.(*state)
	}
	return nil
}

// hostFunc is the body of one host function: it returns a WASI errno.
type hostFunc func(ctx context.Context, st *state, mem api.Memory, stack []uint64) uint32

type function struct {
	name   string
	fn     hostFunc
	params []api.ValueType
	names  []string
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// fdKind says what an fd table entry is.
type fdKind uint8

const (
	kindStdin fdKind = iota
	kindStdout
	kindFile
	kindDir
)

// fdEntry is one open file descriptor.
type fdEntry struct {
	kind  fdKind
	ftype uint8
	flags uint16
	// blocking: a read may wait (a FIFO or a device), so it is made
	// cancellable.
	blocking  bool
	base, inh uint64
	// modeDenied are the rights the access mode of the open rules out
	// (fd_write on a read-only file): Linux's errno, not ENOTCAPABLE.
	modeDenied uint64
	file       sys.File  // nil for stdio, and for a preopen whose directory could not be opened
	r          io.Reader // kindStdin
	w          io.Writer // kindStdout
	// path is the FS path of a directory ("." for "/"); preopen its guest
	// name when the fd is a preopen.
	path    string
	preopen string
	dir     *dirCache
	// untyped: a file path_open opened without learning its type (an
	// fstat per open cost wrun's layer 10-20% of a small-file workload
	// against wazero's): kind, ftype, blocking and base are a regular
	// file's until resolveType has looked.
	untyped bool
	asked   uint64    // untyped: the rights asked for at open
	oflag   sys.Oflag // untyped: the access mode of the open
}

// dirCache keeps one listing of a directory fd for fd_readdir cookies.
type dirCache struct {
	ents []sys.Dirent // with "." and ".." first
}

// state is the WASI state of one instance.
type state struct {
	// mu is held during every host call, and released while one waits
	// (a blocking read, a poll_oneoff sleep), so that closing the
	// instance from another goroutine never races with a call.
	mu  sync.Mutex
	fs  sys.FS
	fds []*fdEntry
	// roots are the FS paths of the preopens.
	roots map[string]bool
	mod   api.Module
	host  *host
}

// maxFds bounds the fd table even when the FS sets no open-file limit.
const maxFds = 1 << 16

func newState(c Config) *state {
	st := &state{fs: c.FS, roots: map[string]bool{}}
	st.fds = append(st.fds,
		stdinEntry(c.Stdin),
		stdoutEntry(c.Stdout),
		stdoutEntry(c.Stderr))
	if c.FS == nil {
		return st
	}
	for _, p := range c.Preopens {
		fsPath := guestToFS(p)
		st.roots[fsPath] = true
		e := &fdEntry{kind: kindDir, ftype: ftDirectory, base: rightsDir, inh: rightsDir | rightsFile, path: fsPath, preopen: p}
		if f, errno := c.FS.OpenFile(fsPath, sys.O_RDONLY|sys.O_DIRECTORY, 0); errno == 0 {
			e.file = f
		}
		st.fds = append(st.fds, e)
	}
	return st
}

// guestToFS turns a guest path ("/data/x") into the FS's path ("data/x").
func guestToFS(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	for len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if p == "" {
		return "."
	}
	return p
}

func stdinEntry(r io.Reader) *fdEntry {
	e := &fdEntry{kind: kindStdin, base: rightsStdin, r: r}
	if r == nil {
		e.r = eofReader{}
	}
	e.ftype, e.blocking = stdioType(r)
	return e
}

func stdoutEntry(w io.Writer) *fdEntry {
	e := &fdEntry{kind: kindStdout, base: rightsStdout, w: w}
	if w == nil {
		e.w = io.Discard
	}
	e.ftype, _ = stdioType(w)
	return e
}

// stdioType reports the WASI file type of a stdio stream, and whether a
// read from it may block.
func stdioType(v any) (uint8, bool) {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		switch v.(type) {
		case nil, eofReader, interface{ Len() int }: // bytes.Buffer, bytes.Reader, strings.Reader
			return ftUnknown, false
		}
		return ftUnknown, true
	}
	fi, err := f.Stat()
	if err != nil {
		return ftUnknown, true
	}
	m := fi.Mode()
	if m&fs.ModeCharDevice != 0 {
		return ftCharDevice, true
	}
	if m.IsRegular() {
		return ftRegular, false
	}
	return ftUnknown, true
}

// interrupted ends a call blocked when its context is done, the way
// wazero's CloseOnContextDone ends a running guest: with an ExitError
// naming the cause, so the run fails instead of the guest seeing an errno
// it might retry.
func interrupted(ctx context.Context) {
	code := wsys.ExitCodeContextCanceled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		code = wsys.ExitCodeDeadlineExceeded
	}
	panic(wsys.NewExitError(code))
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// get returns the open entry fd, or nil.
func (st *state) get(fd uint32) *fdEntry {
	e := st.raw(fd)
	if e != nil && e.untyped {
		st.resolveType(e)
	}
	return e
}

// raw returns the open entry fd, or nil, without learning the type of a
// file opened without it (see fdEntry.untyped): for the calls whose
// answer does not depend on it (fd_read, fd_write, fd_close), which the
// host file itself refuses as Linux does (EISDIR, ESPIPE).
func (st *state) raw(fd uint32) *fdEntry {
	if uint64(fd) < uint64(len(st.fds)) {
		if e := st.fds[fd]; e != nil && e.path != badFdPath {
			return e
		}
	}
	return nil // a slot the adapter reserved is no fd to anything but adapter_close_badfd
}

// insert puts e in the lowest free slot and returns its fd.
func (st *state) insert(e *fdEntry) (uint32, uint32) {
	for i, old := range st.fds {
		if old == nil {
			st.fds[i] = e
			return uint32(i), 0
		}
	}
	if len(st.fds) >= maxFds {
		return 0, errnoMfile
	}
	st.fds = append(st.fds, e)
	return uint32(len(st.fds) - 1), 0
}

func (e *fdEntry) close() sys.Errno {
	if e.file != nil {
		return e.file.Close()
	}
	return 0
}

func (st *state) closeAll() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, e := range st.fds {
		if e != nil {
			e.close()
			st.fds[i] = nil
		}
	}
	if st.host != nil {
		st.host.byModule.Delete(st.mod)
		st.host.last.CompareAndSwap(st, nil)
	}
}
