package wasmbin

import (
	"errors"
	"fmt"
)

// Limits of CheckCounts and Parse.
const (
	// MaxSections bounds the sections of one binary Parse accepts. Real
	// modules have a few dozen; 500,000 empty custom sections in 2 MB would
	// otherwise cost hundreds of MB to list and as many files to explode.
	MaxSections = 10000
	// MaxFunctionLocals bounds the locals one function body declares, as
	// wasmtime and the reference interpreter do (50,000).
	MaxFunctionLocals = 50000
	// MaxModuleLocals bounds the locals of all function bodies of a module
	// together: this many, or one per byte of the code section if that is
	// more. A decoder allocates a slot per declared local.
	MaxModuleLocals = 4 << 20
	// MaxTableElements bounds the initial size of a table, imported or
	// defined: a decoder allocates a slot per element at instantiation
	// (2^27 elements, wazero's own maximum, cost 1 GiB of host memory from
	// five bytes). wasmtime's default for a table is 10,000,000 too.
	MaxTableElements = 10_000_000
)

// ErrLimit means an input is well-formed but exceeds one of wrun's limits.
var ErrLimit = errors.New("exceeds a limit")

// CheckCounts checks a core module before any other decoder (wazero's)
// sees it: every section lies within the input, and every count a decoder
// allocates from — the length of each vector (types, their parameters and
// results, imports, functions, tables, tags, globals, exports, element
// segments and their entries, function bodies and their locals, data
// segments and their bytes, the names of the name section) and the data
// count — is at most what the bytes that remain can hold. The locals of a
// function are bounded by MaxFunctionLocals, of a module by
// MaxModuleLocals. It follows the binary format as wazero v1.12 decodes it,
// so it refuses nothing wazero would compile, except past those limits.
// A component is checked for its sections only (wazero never decodes one).
// Errors are *Error wrapping ErrTruncated, ErrMalformed or ErrLimit.
func CheckCounts(b []byte) error {
	m, mr, err := parsePreamble(b, 0)
	if err != nil {
		return err
	}
	c := &checker{size: len(b)}
	// Section by section, in order, as wazero decodes: an error is at the
	// first byte that is wrong, and everything before it was checked.
	for !mr.done() {
		s, err := m.nextSection(mr)
		if err != nil {
			return err
		}
		m.Sections = append(m.Sections, Section{}) // counted, not kept
		if m.IsComponent() {
			continue
		}
		if err := c.section(m, &s, newReader(s.Payload, s.PayloadOffset)); err != nil {
			return err
		}
	}
	for _, code := range c.codeSizes {
		c.maxLocals += uint64(code)
	}
	if c.maxLocals < MaxModuleLocals {
		c.maxLocals = MaxModuleLocals
	}
	if c.locals > c.maxLocals {
		return &Error{Offset: c.codeOffset, What: fmt.Sprintf("code section: its functions declare %d locals in all, more than %d", c.locals, c.maxLocals), Err: ErrLimit}
	}
	return nil
}

type checker struct {
	size       int
	locals     uint64
	maxLocals  uint64
	codeSizes  []int
	codeOffset int
}

func (c *checker) section(m *Module, s *Section, r *reader) error {
	var err error
	switch s.ID {
	case SectionCustom:
		if s.Name == "name" {
			err = checkNames(r)
		}
		return err
	case SectionType:
		err = r.vec("type section: types", 3, func() error {
			lead, err := r.byte("type")
			if err != nil {
				return err
			}
			if lead != 0x4e { // not a rec group
				r.pos--
				return r.checkFuncType()
			}
			return r.vec("rec group", 3, r.checkFuncType)
		})
	case SectionImport:
		err = r.vec("import section: imports", 4, func() error {
			if err := r.checkName("import module"); err != nil {
				return err
			}
			if err := r.checkName("import name"); err != nil {
				return err
			}
			kind, err := r.byte("import kind")
			if err != nil {
				return err
			}
			switch kind {
			case 0:
				_, _, err = r.u32("type index")
			case 1:
				err = r.checkTable()
			case 2:
				err = r.checkLimits()
			case 3:
				err = r.checkGlobalType()
			case 4:
				if _, err = r.byte("tag attribute"); err == nil {
					_, _, err = r.u32("tag type")
				}
			default:
				return r.fail(fmt.Sprintf("import kind 0x%02x", kind), ErrMalformed)
			}
			return err
		})
	case SectionFunction:
		err = r.vec("function section: functions", 1, r.checkU32)
	case SectionTable:
		err = r.vec("table section: tables", 3, r.checkTable)
	case SectionMemory:
		var n uint32
		if n, _, err = r.u32("memory count"); err == nil && n > 0 {
			if n > 1 {
				return r.fail(fmt.Sprintf("memory section declares %d memories", n), ErrMalformed)
			}
			err = r.checkLimits()
		}
	case SectionTag:
		err = r.vec("tag section: tags", 2, func() error {
			if _, err := r.byte("tag attribute"); err != nil {
				return err
			}
			return r.checkU32()
		})
	case SectionGlobal:
		err = r.vec("global section: globals", 3, func() error {
			if err := r.checkGlobalType(); err != nil {
				return err
			}
			return r.checkConstExpr()
		})
	case SectionExport:
		err = r.vec("export section: exports", 3, func() error {
			if err := r.checkName("export name"); err != nil {
				return err
			}
			if _, err := r.byte("export kind"); err != nil {
				return err
			}
			return r.checkU32()
		})
	case SectionStart:
		err = r.checkU32()
	case SectionElement:
		err = r.vec("element section: segments", 2, r.checkElem)
	case SectionCode:
		c.codeSizes = append(c.codeSizes, len(s.Payload))
		c.codeOffset = s.Offset
		err = r.vec("code section: function bodies", 2, func() error { return c.checkBody(r) })
	case SectionData:
		err = r.vec("data section: segments", 2, func() error {
			prefix, _, err := r.u32("data segment prefix")
			if err != nil {
				return err
			}
			switch prefix {
			case 0:
				err = r.checkConstExpr()
			case 1:
			case 2:
				if err = r.checkU32(); err == nil {
					err = r.checkConstExpr()
				}
			default:
				return r.fail(fmt.Sprintf("data segment prefix %d", prefix), ErrMalformed)
			}
			if err != nil {
				return err
			}
			return r.checkName("data segment bytes")
		})
	case SectionDataCount:
		start := r.off()
		var n uint32
		if n, _, err = r.u32("data count"); err == nil && uint64(n) > uint64(c.size-start) {
			return &Error{Offset: start, What: fmt.Sprintf("data count section declares %d data segments, %d bytes remain", n, c.size-start), Err: ErrTruncated}
		}
	default:
		return nil // wazero refuses an unknown section before reading it
	}
	return err
}

// vec reads a vector count, bounds it by the bytes that remain (each
// element takes at least minSize), and calls elem for each element.
func (r *reader) vec(what string, minSize int, elem func() error) error {
	n, err := r.count(what, minSize)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if err := elem(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) checkU32() error {
	_, _, err := r.u32("index")
	return err
}

// checkName skips a length-prefixed byte string.
func (r *reader) checkName(what string) error {
	n, _, err := r.u32(what + " length")
	if err != nil {
		return err
	}
	_, err = r.bytes(uint64(n), what)
	return err
}

// skipInt33 skips a heap type as wazero reads it: at most 5 bytes, ending
// at the first without the continuation bit.
func (r *reader) skipInt33() error {
	for i := 0; i < 5; i++ {
		c, err := r.byte("heap type")
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			break
		}
	}
	return nil
}

// checkValType skips one value type: a number, vector or reference type
// byte, or a (ref null? ht) with its heap type.
func (r *reader) checkValType() error {
	c, err := r.byte("value type")
	if err != nil {
		return err
	}
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69:
		return nil
	case 0x63, 0x64:
		return r.skipInt33()
	}
	r.pos--
	return r.fail(fmt.Sprintf("value type 0x%02x", c), ErrMalformed)
}

func (r *reader) checkFuncType() error {
	c, err := r.byte("function type")
	if err != nil {
		return err
	}
	if c != 0x60 {
		r.pos--
		return r.fail(fmt.Sprintf("function type form 0x%02x", c), ErrMalformed)
	}
	if err := r.vec("function type: parameters", 1, r.checkValType); err != nil {
		return err
	}
	return r.vec("function type: results", 1, r.checkValType)
}

func (r *reader) checkLimits() error {
	flags, err := r.byte("limits flags")
	if err != nil {
		return err
	}
	if flags > 3 {
		r.pos--
		return r.fail(fmt.Sprintf("limits flags 0x%02x", flags), ErrMalformed)
	}
	if err := r.checkU32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		return r.checkU32()
	}
	return nil
}

// limitsMin re-reads the minimum of the limits checkLimits accepted at
// offset start.
func (r *reader) limitsMin(start int) uint32 {
	save := r.pos
	defer func() { r.pos = save }()
	r.pos = start - r.base + 1 // past the flags byte
	min, _, _ := r.u32("limits minimum")
	return min
}

func (r *reader) checkGlobalType() error {
	if err := r.checkValType(); err != nil {
		return err
	}
	_, err := r.byte("global mutability")
	return err
}

// checkRefType skips a reference type byte or (ref null? ht).
func (r *reader) checkRefType() error {
	c, err := r.byte("reference type")
	if err != nil {
		return err
	}
	if c == 0x63 || c == 0x64 {
		return r.skipInt33()
	}
	return nil
}

func (r *reader) checkTable() error {
	c, err := r.byte("table type")
	if err != nil {
		return err
	}
	init := false
	if c == 0x40 {
		init = true
		if _, err := r.byte("table reserved byte"); err != nil {
			return err
		}
	} else {
		r.pos--
	}
	if err := r.checkRefType(); err != nil {
		return err
	}
	start := r.off()
	if err := r.checkLimits(); err != nil {
		return err
	}
	if min := r.limitsMin(start); min > MaxTableElements {
		return &Error{Offset: start, What: fmt.Sprintf("table declares %d elements to start with, more than %d", min, MaxTableElements), Err: ErrLimit}
	}
	if init {
		return r.checkConstExpr()
	}
	return nil
}

// checkConstExpr skips a constant expression as wazero reads one.
func (r *reader) checkConstExpr() error {
	for {
		op, err := r.byte("constant expression")
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41: // i32.const
			err = r.skipLEB("i32.const", 5)
		case 0x42: // i64.const
			err = r.skipLEB("i64.const", 10)
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		case 0x43:
			_, err = r.bytes(4, "f32.const")
		case 0x44:
			_, err = r.bytes(8, "f64.const")
		case 0x23, 0xd2: // global.get, ref.func
			err = r.checkU32()
		case 0xd0: // ref.null
			var t byte
			if t, err = r.byte("ref.null type"); err == nil && t != 0x70 && t != 0x6f && t != 0x69 {
				r.pos--
				err = r.checkU32()
			}
		case 0xfd: // v128.const
			var sub byte
			if sub, err = r.byte("vector opcode"); err == nil {
				if sub != 0x0c {
					return r.fail(fmt.Sprintf("vector opcode 0x%02x in constant expression", sub), ErrMalformed)
				}
				_, err = r.bytes(16, "v128.const")
			}
		default:
			r.pos--
			return r.fail(fmt.Sprintf("opcode 0x%02x in constant expression", op), ErrMalformed)
		}
		if err != nil {
			return err
		}
	}
}

func (r *reader) checkElem() error {
	prefix, _, err := r.u32("element segment prefix")
	if err != nil {
		return err
	}
	indices := func() error { return r.vec("element segment: function indices", 1, r.checkU32) }
	exprs := func() error { return r.vec("element segment: expressions", 1, r.checkConstExpr) }
	kind := func() error { _, err := r.byte("element kind"); return err }
	switch prefix {
	case 0:
		if err := r.checkConstExpr(); err != nil {
			return err
		}
		return indices()
	case 1, 3:
		if err := kind(); err != nil {
			return err
		}
		return indices()
	case 2:
		if err := r.checkU32(); err != nil {
			return err
		}
		if err := r.checkConstExpr(); err != nil {
			return err
		}
		if err := kind(); err != nil {
			return err
		}
		return indices()
	case 4:
		if err := r.checkConstExpr(); err != nil {
			return err
		}
		return exprs()
	case 5, 7:
		if err := r.checkRefType(); err != nil {
			return err
		}
		return exprs()
	case 6:
		if err := r.checkU32(); err != nil {
			return err
		}
		if err := r.checkConstExpr(); err != nil {
			return err
		}
		if err := r.checkRefType(); err != nil {
			return err
		}
		return exprs()
	}
	return r.fail(fmt.Sprintf("element segment prefix %d", prefix), ErrMalformed)
}

// checkBody checks one function body: its size against the bytes that
// remain, its locals against MaxFunctionLocals.
func (c *checker) checkBody(r *reader) error {
	start := r.off()
	size, _, err := r.u32("function body size")
	if err != nil {
		return err
	}
	body, err := r.bytes(uint64(size), "function body")
	if err != nil {
		return err
	}
	br := newReader(body, r.off()-len(body))
	var sum uint64
	err = br.vec("function body: local declarations", 2, func() error {
		n, _, err := br.u32("local count")
		if err != nil {
			return err
		}
		sum += uint64(n)
		if sum > MaxFunctionLocals {
			return &Error{Offset: start, What: fmt.Sprintf("function body declares %d locals or more, more than %d", sum, MaxFunctionLocals), Err: ErrLimit}
		}
		return br.checkValType()
	})
	c.locals += sum
	return err
}

// checkNames checks the subsections of the name custom section that
// wazero decodes (module, function and local names): each must fill its
// declared size exactly, and every count and length fit what remains.
func checkNames(r *reader) error {
	for !r.done() {
		id, _ := r.byte("name subsection id")
		size, _, err := r.u32("name subsection size")
		if err != nil {
			return err
		}
		body, err := r.bytes(uint64(size), "name subsection")
		if err != nil {
			return err
		}
		sr := newReader(body, r.off()-len(body))
		nameMap := func() error {
			return sr.vec("name map", 2, func() error {
				if err := sr.checkU32(); err != nil {
					return err
				}
				return sr.checkName("name")
			})
		}
		switch id {
		case 0:
			err = sr.checkName("module name")
		case 1:
			err = nameMap()
		case 2:
			err = sr.vec("local names: functions", 2, func() error {
				if err := sr.checkU32(); err != nil {
					return err
				}
				return nameMap()
			})
		default:
			continue
		}
		if err != nil {
			return err
		}
		if !sr.done() {
			return sr.fail(fmt.Sprintf("name subsection %d: %d bytes after its content", id, sr.remaining()), ErrMalformed)
		}
	}
	return nil
}
