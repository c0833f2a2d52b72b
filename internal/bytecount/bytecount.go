// Package bytecount counts the bytes that pass through a reader or a
// writer: the one counter of the tree (bundle archives and tar writing,
// registry blob copies and the vfs layer reader all use it).
package bytecount

import "io"

// Reader counts the bytes read from R in N; when Progress is set, it is
// called with each positive count read.
type Reader struct {
	R        io.Reader
	N        int64
	Progress func(n int64)
}

// NewReader returns a Reader of r with no progress callback.
func NewReader(r io.Reader) *Reader { return &Reader{R: r} }

// Read implements io.Reader.
func (c *Reader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	if c.Progress != nil && n > 0 {
		c.Progress(int64(n))
	}
	return n, err
}

// Writer counts the bytes written to W in N (those W accepted, also when
// it fails). A nil W discards, so a Writer alone measures a size.
type Writer struct {
	W io.Writer
	N int64
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{W: w} }

// Write implements io.Writer.
func (c *Writer) Write(p []byte) (int, error) {
	if c.W == nil {
		c.N += int64(len(p))
		return len(p), nil
	}
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
