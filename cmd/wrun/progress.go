package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/wrun-dev/wrun/registryclient"
)

// progressDelay is how long a transfer runs before its bar appears.
const progressDelay = time.Second

// termProgress draws a progress bar with humanized sizes on a terminal for
// each registry transfer that outlasts progressDelay. Written anywhere else
// (a pipe, a file, a test's buffer), it draws nothing. It lives here, not
// in registryclient, so that embedders do not build progress bars.
type termProgress struct{ w io.Writer }

// newTermProgress returns the registryclient.Progress for w, or nil when w
// is not a terminal.
func newTermProgress(w io.Writer) registryclient.Progress {
	if !isTerminal(w) {
		return nil
	}
	return termProgress{w}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Start implements registryclient.Progress.
func (p termProgress) Start(what string) registryclient.Transfer {
	t := &termTransfer{stop: make(chan struct{})}
	t.wg.Add(1)
	go t.draw(p.w, what)
	return t
}

// termTransfer counts one transfer's bytes; draw shows them.
type termTransfer struct {
	n     atomic.Int64
	total atomic.Int64 // 0: unknown
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

func (t *termTransfer) SetTotal(n int64) { t.total.Store(n) }
func (t *termTransfer) Add(n int64)      { t.n.Add(n) }

func (t *termTransfer) Done() {
	t.once.Do(func() { close(t.stop) })
	t.wg.Wait()
}

func (t *termTransfer) draw(w io.Writer, what string) {
	defer t.wg.Done()
	select {
	case <-t.stop:
		return
	case <-time.After(progressDelay):
	}
	max := t.total.Load()
	if max <= 0 {
		max = -1
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			_ = bar.Set64(t.n.Load())
			_ = bar.Finish()
			fmt.Fprintf(w, "%s: %s\n", what, humanize.IBytes(uint64(t.n.Load())))
			return
		case <-tick.C:
			_ = bar.Set64(t.n.Load())
		}
	}
}
