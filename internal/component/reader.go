package component

import (
	"fmt"
	"unicode/utf8"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// reader reads one section payload. Every length and count is checked
// against the bytes that remain before anything is allocated; errors are
// *wasmbin.Error carrying the offset in the outermost input.
type reader struct {
	b    []byte
	pos  int
	base int
}

func (r *reader) off() int       { return r.base + r.pos }
func (r *reader) remaining() int { return len(r.b) - r.pos }
func (r *reader) done() bool     { return r.pos >= len(r.b) }

func (r *reader) fail(what string, err error) error {
	return &wasmbin.Error{Offset: r.off(), What: what, Err: err}
}

func (r *reader) byte(what string) (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.fail(what, wasmbin.ErrTruncated)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) u32(what string) (uint32, error) {
	v, w, err := wasmbin.DecodeU32(r.b[r.pos:])
	if err != nil {
		return 0, &wasmbin.Error{Offset: r.off(), What: what, Err: err}
	}
	r.pos += w
	return v, nil
}

// count reads a vector length, each element taking at least minSize
// bytes, and refuses one the remaining bytes cannot hold.
func (r *reader) count(what string, minSize int) (uint32, error) {
	start := r.off()
	n, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(max(minSize, 1)) > uint64(r.remaining()) {
		return 0, &wasmbin.Error{Offset: start, Err: wasmbin.ErrTruncated,
			What: fmt.Sprintf("%s (declares %d elements, %d bytes remain)", what, n, r.remaining())}
	}
	return n, nil
}

func (r *reader) name(what string) (string, error) {
	n, err := r.u32(what + " length")
	if err != nil {
		return "", err
	}
	if uint64(n) > uint64(r.remaining()) {
		return "", r.fail(fmt.Sprintf("%s (declared %d bytes, %d remain)", what, n, r.remaining()), wasmbin.ErrTruncated)
	}
	s := r.b[r.pos : r.pos+int(n)]
	if !utf8.Valid(s) {
		return "", r.fail(what+": not valid UTF-8", wasmbin.ErrMalformed)
	}
	r.pos += int(n)
	return string(s), nil
}

// bad reports an unexpected byte b (already read) as malformed.
func (r *reader) bad(what string, b byte) error {
	r.pos--
	return r.fail(fmt.Sprintf("%s 0x%02x", what, b), wasmbin.ErrMalformed)
}

func (r *reader) trailing(what string) error {
	if !r.done() {
		return r.fail(what, fmt.Errorf("%w: %d trailing bytes", wasmbin.ErrMalformed, r.remaining()))
	}
	return nil
}

// vec reads a count and calls elem that many times.
func (r *reader) vec(what string, minSize int, elem func() error) error {
	n, err := r.count(what, minSize)
	if err != nil {
		return err
	}
	for range n {
		if err := elem(); err != nil {
			return err
		}
	}
	return nil
}
