package wasmbin

import (
	"errors"
	"fmt"
)

// Error is a malformed-input error at a byte offset of the binary.
type Error struct {
	Offset int    // byte offset in the outermost input
	What   string // what was being read
	Err    error  // ErrTruncated, ErrMalformed or ErrLimit
}

func (e *Error) Error() string {
	return fmt.Sprintf("wasm: %s at offset %d (0x%x): %v", e.What, e.Offset, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

var (
	// ErrTruncated means the input ends before a value or section it declares.
	ErrTruncated = errors.New("unexpected end of input")
	// ErrMalformed means a value is not encoded as the specification requires.
	ErrMalformed = errors.New("malformed encoding")
	// ErrNotWasm means the input does not start with the Wasm magic number.
	ErrNotWasm = errors.New("not a WebAssembly binary (bad magic number)")
)

// reader reads from a byte slice, tracking the offset of the slice in the
// outermost input so errors point at the right byte.
type reader struct {
	b    []byte
	pos  int
	base int
}

func newReader(b []byte, base int) *reader { return &reader{b: b, base: base} }

func (r *reader) off() int       { return r.base + r.pos }
func (r *reader) remaining() int { return len(r.b) - r.pos }
func (r *reader) done() bool     { return r.pos >= len(r.b) }

func (r *reader) fail(what string, err error) error {
	return &Error{Offset: r.off(), What: what, Err: err}
}

func (r *reader) byte(what string) (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.fail(what, ErrTruncated)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// bytes returns the next n bytes (aliasing the input), checking n against the
// remaining input first.
func (r *reader) bytes(n uint64, what string) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, r.fail(fmt.Sprintf("%s (declared %d bytes, %d remain)", what, n, r.remaining()), ErrTruncated)
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// u32 reads an unsigned LEB128 of at most 32 bits and returns it with its
// encoded width.
func (r *reader) u32(what string) (uint32, int, error) {
	start := r.pos
	v, w, err := DecodeU32(r.b[r.pos:])
	if err != nil {
		return 0, 0, &Error{Offset: r.base + start, What: what, Err: err}
	}
	r.pos += w
	return v, w, nil
}

// count reads a vector length and bounds it by the remaining input, given
// that each element takes at least minSize bytes.
func (r *reader) count(what string, minSize int) (uint32, error) {
	start := r.off()
	n, _, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	if minSize > 0 && uint64(n)*uint64(minSize) > uint64(r.remaining()) {
		return 0, &Error{Offset: start, What: fmt.Sprintf("%s (declares %d elements, %d bytes remain)", what, n, r.remaining()), Err: ErrTruncated}
	}
	return n, nil
}

func (r *reader) name(what string) (string, error) {
	n, _, err := r.u32(what + " length")
	if err != nil {
		return "", err
	}
	b, err := r.bytes(uint64(n), what)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// skipLEB skips a LEB128 of at most maxBytes bytes.
func (r *reader) skipLEB(what string, maxBytes int) error {
	for i := 0; i < maxBytes; i++ {
		c, err := r.byte(what)
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return r.fail(what, ErrMalformed)
}

// DecodeU32 decodes an unsigned LEB128 that fits 32 bits from the start of b
// and returns the value and the number of bytes it took.
func DecodeU32(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, ErrTruncated
		}
		c := b[i]
		if i == 4 && c&0xf0 != 0 {
			return 0, 0, fmt.Errorf("%w: LEB128 u32 overflows 32 bits", ErrMalformed)
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: LEB128 u32 longer than 5 bytes", ErrMalformed)
}

// AppendU32 appends the minimal unsigned LEB128 encoding of v.
func AppendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// AppendU32Width appends v as an unsigned LEB128 padded to width bytes (1 to
// 5). If v does not fit width bytes it is encoded minimally.
func AppendU32Width(b []byte, v uint32, width int) []byte {
	if width <= SizeU32(v) || width > 5 {
		return AppendU32(b, v)
	}
	for i := 0; i < width-1; i++ {
		b = append(b, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(b, byte(v&0x7f))
}

// SizeU32 is the length of the minimal unsigned LEB128 encoding of v.
func SizeU32(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// AppendS32 appends the minimal signed LEB128 encoding of v.
func AppendS32(b []byte, v int32) []byte { return AppendS64(b, int64(v)) }

// AppendS64 appends the minimal signed LEB128 encoding of v.
func AppendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// DecodeS64 decodes a signed LEB128 of at most 64 bits from the start of b.
func DecodeS64(b []byte) (int64, int, error) {
	var v int64
	var shift uint
	for i := 0; i < 10; i++ {
		if i >= len(b) {
			return 0, 0, ErrTruncated
		}
		c := b[i]
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: LEB128 s64 longer than 10 bytes", ErrMalformed)
}
