package preinit

import (
	"context"
	"sort"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// watcher observes the WASI calls of the init: random and clock reads,
// and the file descriptors opened and closed.
type watcher struct {
	randomCalls, clockCalls int
	open                    map[uint32]string // fd -> path
	// Parameters of the call in progress, read back in After. WASI calls do
	// not nest, so one slot per function suffices.
	openParams     []uint64
	closeFD        uint32
	renumberParams [2]uint32
}

var _ experimental.FunctionListenerFactory = (*watcher)(nil)

func newWatcher() *watcher { return &watcher{open: map[uint32]string{}} }

type watchKind int

const (
	watchRandom watchKind = iota
	watchClock
	watchOpen
	watchClose
	watchRenumber
)

var watched = map[string]watchKind{
	"random_get":     watchRandom,
	"clock_time_get": watchClock,
	"clock_res_get":  watchClock,
	"path_open":      watchOpen,
	"fd_close":       watchClose,
	"fd_renumber":    watchRenumber,
}

// NewFunctionListener implements experimental.FunctionListenerFactory.
func (w *watcher) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.ModuleName() != wasiModule {
		return nil
	}
	k, ok := watched[def.Name()]
	if !ok {
		return nil
	}
	return &listener{w: w, kind: k}
}

// openFiles returns the paths of the files still open, sorted.
func (w *watcher) openFiles() []string {
	var paths []string
	for _, p := range w.open {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

type listener struct {
	w    *watcher
	kind watchKind
}

var _ experimental.FunctionListener = (*listener)(nil)

func (l *listener) Before(_ context.Context, _ api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	w := l.w
	switch l.kind {
	case watchRandom:
		w.randomCalls++
	case watchClock:
		w.clockCalls++
	case watchOpen:
		w.openParams = append(w.openParams[:0], params...)
	case watchClose:
		w.closeFD = uint32(params[0])
	case watchRenumber:
		w.renumberParams = [2]uint32{uint32(params[0]), uint32(params[1])}
	}
}

func (l *listener) After(_ context.Context, mod api.Module, _ api.FunctionDefinition, results []uint64) {
	if len(results) == 0 || results[0] != 0 { // errno
		return
	}
	w := l.w
	switch l.kind {
	case watchOpen:
		// path_open(fd, dirflags, path, path_len, oflags, rights_base,
		// rights_inheriting, fdflags, result.opened_fd)
		p := w.openParams
		if len(p) < 9 || mod.Memory() == nil {
			return
		}
		fd, ok := mod.Memory().ReadUint32Le(uint32(p[8]))
		if !ok {
			return
		}
		path, _ := mod.Memory().Read(uint32(p[2]), uint32(p[3]))
		w.open[fd] = string(path)
	case watchClose:
		delete(w.open, w.closeFD)
	case watchRenumber:
		from, to := w.renumberParams[0], w.renumberParams[1]
		if path, ok := w.open[from]; ok {
			delete(w.open, from)
			w.open[to] = path
		} else {
			delete(w.open, to)
		}
	}
}

func (l *listener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}
