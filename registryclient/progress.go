package registryclient

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Progress follows a Client's transfers (Options.Progress), e.g. to draw
// progress bars: the command line draws them on a terminal. registryclient
// itself writes nothing, so an embedder's build carries no terminal code.
type Progress interface {
	// Start is called as a transfer begins; what names it (a reference,
	// or "publishing " and one). The Transfer it returns follows it.
	Start(what string) Transfer
}

// Transfer follows one transfer. Its methods may be called from several
// goroutines at once.
type Transfer interface {
	// SetTotal gives the expected size in bytes, once known.
	SetTotal(bytes int64)
	// Add counts bytes moved.
	Add(bytes int64)
	// Done is called once, when the transfer ends, whether it succeeded.
	Done()
}

// progress is one transfer's Transfer, or nothing when the client has no
// Progress.
type progress struct{ t Transfer }

// newProgress starts following one transfer. m, when known, gives the
// total size.
func (c *Client) newProgress(what string, m *ocispec.Manifest) *progress {
	p := &progress{}
	if c.opts.Progress != nil {
		p.t = c.opts.Progress.Start(what)
	}
	p.setTotal(m)
	return p
}

func (p *progress) add(n int64) {
	if p.t != nil {
		p.t.Add(n)
	}
}

// setTotal sets the expected size from a manifest (nil: unknown).
func (p *progress) setTotal(m *ocispec.Manifest) {
	if m == nil || p.t == nil {
		return
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	p.t.SetTotal(total)
}

func (p *progress) done() {
	if p.t != nil {
		p.t.Done()
	}
}
