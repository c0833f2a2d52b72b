package wasmbin

import (
	"fmt"
)

// ExternKind is the kind of an import or export.
type ExternKind byte

// Extern kinds.
const (
	KindFunc   ExternKind = 0
	KindTable  ExternKind = 1
	KindMemory ExternKind = 2
	KindGlobal ExternKind = 3
	KindTag    ExternKind = 4
)

func (k ExternKind) String() string {
	switch k {
	case KindFunc:
		return "func"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	case KindTag:
		return "tag"
	}
	return fmt.Sprintf("kind-%d", byte(k))
}

// MarshalText renders the kind by name.
func (k ExternKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Limits are the limits of a memory or table.
type Limits struct {
	Min    uint64
	Max    *uint64 `json:",omitempty"`
	Shared bool    `json:",omitempty"`
	Is64   bool    `json:",omitempty"` // memory64 / table64
	// PageSizeLog2 is set by the custom-page-sizes proposal.
	PageSizeLog2 *uint32 `json:",omitempty"`
}

func (l Limits) String() string {
	s := fmt.Sprint(l.Min)
	if l.Max != nil {
		s += fmt.Sprintf("..%d", *l.Max)
	}
	if l.Is64 {
		s = "i64 " + s
	}
	if l.Shared {
		s += " shared"
	}
	return s
}

// GlobalType is a global's value type and mutability.
type GlobalType struct {
	ValType ValType
	Mutable bool
}

// TableType is a table's element type and limits.
type TableType struct {
	Elem   ValType
	Limits Limits
}

// Import is one import.
type Import struct {
	Module, Name string
	Kind         ExternKind
	// Index is the type index of a function or tag import.
	Index  uint32      `json:",omitempty"`
	Table  *TableType  `json:",omitempty"`
	Memory *Limits     `json:",omitempty"`
	Global *GlobalType `json:",omitempty"`
}

// Export is one export.
type Export struct {
	Name  string
	Kind  ExternKind
	Index uint32
}

// Global is one global definition. Init is the raw constant expression
// including its end opcode (0x0b).
type Global struct {
	Type GlobalType
	Init []byte
}

func (r *reader) u64(what string) (uint64, error) {
	var v uint64
	start := r.off()
	for i := 0; i < 10; i++ {
		c, err := r.byte(what)
		if err != nil {
			return 0, err
		}
		if i == 9 && c > 1 {
			return 0, &Error{Offset: start, What: what, Err: fmt.Errorf("%w: LEB128 u64 overflows", ErrMalformed)}
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, &Error{Offset: start, What: what, Err: ErrMalformed}
}

func (r *reader) limits() (Limits, error) {
	var l Limits
	flags, err := r.byte("limits flags")
	if err != nil {
		return l, err
	}
	if flags > 0x0f {
		r.pos--
		return l, r.fail(fmt.Sprintf("limits flags 0x%02x", flags), ErrMalformed)
	}
	l.Shared = flags&0x02 != 0
	l.Is64 = flags&0x04 != 0
	read := func(what string) (uint64, error) {
		if l.Is64 {
			return r.u64(what)
		}
		v, _, err := r.u32(what)
		return uint64(v), err
	}
	if l.Min, err = read("limits minimum"); err != nil {
		return l, err
	}
	if flags&0x01 != 0 {
		mx, err := read("limits maximum")
		if err != nil {
			return l, err
		}
		l.Max = &mx
	}
	if flags&0x08 != 0 {
		p, _, err := r.u32("page size")
		if err != nil {
			return l, err
		}
		l.PageSizeLog2 = &p
	}
	return l, nil
}

// AppendLimits appends the encoding of l.
func AppendLimits(b []byte, l Limits) []byte {
	var flags byte
	if l.Max != nil {
		flags |= 0x01
	}
	if l.Shared {
		flags |= 0x02
	}
	if l.Is64 {
		flags |= 0x04
	}
	if l.PageSizeLog2 != nil {
		flags |= 0x08
	}
	b = append(b, flags)
	put := func(v uint64) {
		if l.Is64 {
			for {
				c := byte(v & 0x7f)
				v >>= 7
				if v == 0 {
					b = append(b, c)
					return
				}
				b = append(b, c|0x80)
			}
		}
		b = AppendU32(b, uint32(v))
	}
	put(l.Min)
	if l.Max != nil {
		put(*l.Max)
	}
	if l.PageSizeLog2 != nil {
		b = AppendU32(b, *l.PageSizeLog2)
	}
	return b
}

func (r *reader) globalType() (GlobalType, error) {
	v, err := r.valType()
	if err != nil {
		return GlobalType{}, err
	}
	m, err := r.byte("global mutability")
	if err != nil {
		return GlobalType{}, err
	}
	if m > 1 {
		r.pos--
		return GlobalType{}, r.fail("global mutability", ErrMalformed)
	}
	return GlobalType{ValType: v, Mutable: m == 1}, nil
}

func (r *reader) tableType() (TableType, error) {
	v, err := r.valType()
	if err != nil {
		return TableType{}, err
	}
	l, err := r.limits()
	return TableType{Elem: v, Limits: l}, err
}

func trailing(r *reader, what string) error {
	if !r.done() {
		return r.fail(what, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.remaining()))
	}
	return nil
}

// DecodeImports decodes an import section payload at offset base.
func DecodeImports(payload []byte, base int) ([]Import, error) {
	r := newReader(payload, base)
	n, err := r.count("import count", 4)
	if err != nil {
		return nil, err
	}
	out := make([]Import, 0, n)
	for i := uint32(0); i < n; i++ {
		var im Import
		if im.Module, err = r.name("import module"); err != nil {
			return nil, err
		}
		if im.Name, err = r.name("import name"); err != nil {
			return nil, err
		}
		k, err := r.byte("import kind")
		if err != nil {
			return nil, err
		}
		im.Kind = ExternKind(k)
		switch im.Kind {
		case KindFunc:
			im.Index, _, err = r.u32("import type index")
		case KindTag:
			if _, err = r.byte("tag attribute"); err == nil {
				im.Index, _, err = r.u32("tag type index")
			}
		case KindTable:
			var t TableType
			t, err = r.tableType()
			im.Table = &t
		case KindMemory:
			var l Limits
			l, err = r.limits()
			im.Memory = &l
		case KindGlobal:
			var g GlobalType
			g, err = r.globalType()
			im.Global = &g
		default:
			r.pos--
			return nil, r.fail(fmt.Sprintf("import kind 0x%02x", k), ErrMalformed)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, im)
	}
	return out, trailing(r, "import section")
}

// DecodeExports decodes an export section payload at offset base.
func DecodeExports(payload []byte, base int) ([]Export, error) {
	r := newReader(payload, base)
	n, err := r.count("export count", 3)
	if err != nil {
		return nil, err
	}
	out := make([]Export, 0, n)
	for i := uint32(0); i < n; i++ {
		var e Export
		if e.Name, err = r.name("export name"); err != nil {
			return nil, err
		}
		k, err := r.byte("export kind")
		if err != nil {
			return nil, err
		}
		e.Kind = ExternKind(k)
		if e.Index, _, err = r.u32("export index"); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, trailing(r, "export section")
}

// EncodeExports encodes an export section payload.
func EncodeExports(exports []Export) []byte {
	b := AppendU32(nil, uint32(len(exports)))
	for _, e := range exports {
		b = AppendU32(b, uint32(len(e.Name)))
		b = append(b, e.Name...)
		b = append(b, byte(e.Kind))
		b = AppendU32(b, e.Index)
	}
	return b
}

// DecodeMemories decodes a memory section payload at offset base.
func DecodeMemories(payload []byte, base int) ([]Limits, error) {
	r := newReader(payload, base)
	n, err := r.count("memory count", 2)
	if err != nil {
		return nil, err
	}
	out := make([]Limits, 0, n)
	for i := uint32(0); i < n; i++ {
		l, err := r.limits()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, trailing(r, "memory section")
}

// EncodeMemories encodes a memory section payload.
func EncodeMemories(mems []Limits) []byte {
	b := AppendU32(nil, uint32(len(mems)))
	for _, l := range mems {
		b = AppendLimits(b, l)
	}
	return b
}

// DecodeTables decodes a table section payload at offset base. Tables
// with an explicit initializer (0x40 0x00 form) are supported.
func DecodeTables(payload []byte, base int) ([]TableType, error) {
	r := newReader(payload, base)
	n, err := r.count("table count", 2)
	if err != nil {
		return nil, err
	}
	out := make([]TableType, 0, n)
	for i := uint32(0); i < n; i++ {
		init := false
		if r.remaining() >= 2 && r.b[r.pos] == 0x40 && r.b[r.pos+1] == 0x00 {
			r.pos += 2
			init = true
		}
		t, err := r.tableType()
		if err != nil {
			return nil, err
		}
		if init {
			if _, err := r.constExpr(); err != nil {
				return nil, err
			}
		}
		out = append(out, t)
	}
	return out, trailing(r, "table section")
}

// DecodeGlobals decodes a global section payload at offset base.
func DecodeGlobals(payload []byte, base int) ([]Global, error) {
	r := newReader(payload, base)
	n, err := r.count("global count", 3)
	if err != nil {
		return nil, err
	}
	out := make([]Global, 0, n)
	for i := uint32(0); i < n; i++ {
		t, err := r.globalType()
		if err != nil {
			return nil, err
		}
		e, err := r.constExpr()
		if err != nil {
			return nil, err
		}
		out = append(out, Global{Type: t, Init: e})
	}
	return out, trailing(r, "global section")
}

func valTypeCode(v ValType) (byte, bool) {
	for c, n := range numTypes {
		if n == v {
			return c, true
		}
	}
	return 0, false
}

// EncodeGlobals encodes a global section payload. Only value types with a
// one-byte encoding (numbers, v128 and the abbreviated reference types) can
// be encoded; others return an error.
func EncodeGlobals(globals []Global) ([]byte, error) {
	b := AppendU32(nil, uint32(len(globals)))
	for i, g := range globals {
		c, ok := valTypeCode(g.Type.ValType)
		if !ok {
			return nil, fmt.Errorf("wasm: encoding global %d: value type %s has no one-byte encoding", i, g.Type.ValType)
		}
		b = append(b, c)
		if g.Type.Mutable {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = append(b, g.Init...)
	}
	return b, nil
}

// DecodeU32Section decodes the payload of a start or data count section:
// one u32.
func DecodeU32Section(payload []byte, base int) (uint32, error) {
	r := newReader(payload, base)
	v, _, err := r.u32("index")
	if err != nil {
		return 0, err
	}
	return v, trailing(r, "section")
}

// EncodeU32Section encodes the payload of a start or data count section.
func EncodeU32Section(v uint32) []byte { return AppendU32(nil, v) }
