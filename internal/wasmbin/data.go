package wasmbin

import (
	"encoding/binary"
	"fmt"
	"math"
)

// constExpr reads a constant expression up to and including its end opcode
// and returns its raw bytes. It accepts the instructions the specification
// allows in constant expressions, including extended-const, GC and SIMD.
func (r *reader) constExpr() ([]byte, error) {
	start := r.pos
	for {
		op, err := r.byte("constant expression")
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x0b: // end
			return r.b[start:r.pos], nil
		case 0x41: // i32.const
			err = r.skipLEB("i32.const", 5)
		case 0x42: // i64.const
			err = r.skipLEB("i64.const", 10)
		case 0x43:
			_, err = r.bytes(4, "f32.const")
		case 0x44:
			_, err = r.bytes(8, "f64.const")
		case 0x23, 0xd2: // global.get, ref.func
			_, _, err = r.u32("index")
		case 0xd0: // ref.null
			_, err = r.heapType()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		case 0xfd: // SIMD prefix
			var sub uint32
			if sub, _, err = r.u32("simd opcode"); err == nil {
				if sub != 12 {
					return nil, r.fail(fmt.Sprintf("simd opcode %d in constant expression", sub), ErrMalformed)
				}
				_, err = r.bytes(16, "v128.const")
			}
		case 0xfb: // GC prefix
			var sub uint32
			if sub, _, err = r.u32("gc opcode"); err == nil {
				switch sub {
				case 0, 1, 6, 7: // struct.new(_default), array.new(_default)
					_, _, err = r.u32("type index")
				case 8: // array.new_fixed
					if _, _, err = r.u32("type index"); err == nil {
						_, _, err = r.u32("length")
					}
				case 0x1a, 0x1b, 0x1c: // any.convert_extern, extern.convert_any, ref.i31
				default:
					return nil, r.fail(fmt.Sprintf("gc opcode %d in constant expression", sub), ErrMalformed)
				}
			}
		default:
			r.pos--
			return nil, r.fail(fmt.Sprintf("opcode 0x%02x in constant expression", op), ErrMalformed)
		}
		if err != nil {
			return nil, err
		}
	}
}

// ExprI32 is the constant expression `i32.const v; end`.
func ExprI32(v int32) []byte { return append(AppendS32([]byte{0x41}, v), 0x0b) }

// ExprI64 is the constant expression `i64.const v; end`.
func ExprI64(v int64) []byte { return append(AppendS64([]byte{0x42}, v), 0x0b) }

// ExprF32 is the constant expression `f32.const v; end`.
func ExprF32(v float32) []byte {
	return append(binary.LittleEndian.AppendUint32([]byte{0x43}, math.Float32bits(v)), 0x0b)
}

// ExprF64 is the constant expression `f64.const v; end`.
func ExprF64(v float64) []byte {
	return append(binary.LittleEndian.AppendUint64([]byte{0x44}, math.Float64bits(v)), 0x0b)
}

// ConstI64 evaluates a constant expression that is a single i32.const or
// i64.const and reports whether it was one.
func ConstI64(expr []byte) (int64, bool) {
	if len(expr) < 3 || (expr[0] != 0x41 && expr[0] != 0x42) {
		return 0, false
	}
	v, w, err := DecodeS64(expr[1:])
	if err != nil || 1+w != len(expr)-1 || expr[len(expr)-1] != 0x0b {
		return 0, false
	}
	return v, true
}

// DataSegment is one segment of a data section.
type DataSegment struct {
	// Passive is true for a passive segment; otherwise it is active in
	// Memory at the address Offset (a constant expression ending in 0x0b).
	Passive bool
	Memory  uint32
	Offset  []byte
	// Init is the segment's bytes. Decode aliases the input.
	Init []byte
	// InitOffset is the offset of Init in the input (informational).
	InitOffset int
	// Head, when set, is written verbatim in place of the encoding of
	// Passive, Memory and Offset. DecodeData keeps it so the encoding is
	// byte-identical; clear it after changing those fields.
	Head []byte
	// LenWidth is the width of Init's length LEB128 as read (0: minimal).
	LenWidth int
}

// DataSection is a decoded data section.
type DataSection struct {
	Segments []DataSegment
	// CountWidth is the width of the segment count LEB128 as read (0: minimal).
	CountWidth int
}

// DecodeData decodes a data section payload at offset base.
func DecodeData(payload []byte, base int) (*DataSection, error) {
	r := newReader(payload, base)
	start := r.pos
	n, err := r.count("data segment count", 2)
	if err != nil {
		return nil, err
	}
	d := &DataSection{}
	if w := r.pos - start; w != SizeU32(n) {
		d.CountWidth = w
	}
	d.Segments = make([]DataSegment, 0, n)
	for i := uint32(0); i < n; i++ {
		var s DataSegment
		segStart := r.pos
		flags, _, err := r.u32("data segment flags")
		if err != nil {
			return nil, err
		}
		switch flags {
		case 0:
		case 1:
			s.Passive = true
		case 2:
			if s.Memory, _, err = r.u32("data segment memory index"); err != nil {
				return nil, err
			}
		default:
			return nil, &Error{Offset: base + segStart, What: fmt.Sprintf("data segment %d flags %d", i, flags), Err: ErrMalformed}
		}
		if !s.Passive {
			if s.Offset, err = r.constExpr(); err != nil {
				return nil, err
			}
		}
		s.Head = r.b[segStart:r.pos]
		size, w, err := r.u32("data segment length")
		if err != nil {
			return nil, err
		}
		if w != SizeU32(size) {
			s.LenWidth = w
		}
		s.InitOffset = r.off()
		if s.Init, err = r.bytes(uint64(size), fmt.Sprintf("data segment %d", i)); err != nil {
			return nil, err
		}
		d.Segments = append(d.Segments, s)
	}
	return d, trailing(r, "data section")
}

// AppendHead appends the segment's header: Head if set, else the encoding
// of Passive, Memory and Offset.
func (s *DataSegment) AppendHead(b []byte) []byte {
	if s.Head != nil {
		return append(b, s.Head...)
	}
	switch {
	case s.Passive:
		return append(b, 1)
	case s.Memory != 0:
		b = AppendU32(append(b, 2), s.Memory)
	default:
		b = append(b, 0)
	}
	return append(b, s.Offset...)
}

// Encode encodes the data section payload.
func (d *DataSection) Encode() []byte {
	n := 5
	for i := range d.Segments {
		n += len(d.Segments[i].Head) + len(d.Segments[i].Offset) + len(d.Segments[i].Init) + 12
	}
	b := make([]byte, 0, n)
	b = AppendU32Width(b, uint32(len(d.Segments)), d.CountWidth)
	for i := range d.Segments {
		s := &d.Segments[i]
		b = s.AppendHead(b)
		b = AppendU32Width(b, uint32(len(s.Init)), s.LenWidth)
		b = append(b, s.Init...)
	}
	return b
}
