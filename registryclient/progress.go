package registryclient

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressDelay is how long a transfer runs before its bar appears.
const progressDelay = time.Second

// progress counts transferred bytes and, when the writer is a terminal and
// the transfer outlasts progressDelay, draws a bar with humanized sizes.
// Otherwise it writes nothing.
type progress struct {
	n     atomic.Int64
	total atomic.Int64 // 0: unknown
	stop  chan struct{}
	wg    sync.WaitGroup
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress starts progress for one transfer. m, when known, gives the
// total size.
func (c *Client) newProgress(what string, m *ocispec.Manifest) *progress {
	p := &progress{stop: make(chan struct{})}
	p.setTotal(m)
	w := c.opts.Progress
	if w == nil || !isTerminal(w) {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-p.stop:
			return
		case <-time.After(progressDelay):
		}
		max := p.total.Load()
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
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				_ = bar.Set64(p.n.Load())
				_ = bar.Finish()
				fmt.Fprintf(w, "%s: %s\n", what, humanize.IBytes(uint64(p.n.Load())))
				return
			case <-t.C:
				_ = bar.Set64(p.n.Load())
			}
		}
	}()
	return p
}

func (p *progress) add(n int64) { p.n.Add(n) }

// setTotal sets the expected size from a manifest (nil: unknown).
func (p *progress) setTotal(m *ocispec.Manifest) {
	if m == nil {
		return
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	p.total.Store(total)
}

func (p *progress) done() {
	close(p.stop)
	p.wg.Wait()
}
