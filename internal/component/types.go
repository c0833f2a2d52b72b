package component

import (
	"fmt"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// coreType reads one core:type: a module type (0x50) or a core
// definition type (function, or a GC struct/array/rec group).
func coreType(r *reader, depth int) error {
	if depth > MaxDepth {
		return r.fail(fmt.Sprintf("types nested deeper than %d", MaxDepth), wasmbin.ErrLimit)
	}
	k, err := r.byte("core type form")
	if err != nil {
		return err
	}
	switch k {
	case 0x50: // module type
		return r.vec("module declaration count", 2, func() error {
			d, err := r.byte("module declaration")
			if err != nil {
				return err
			}
			switch d {
			case 0x00: // import
				if _, err := r.name("import module"); err != nil {
					return err
				}
				if _, err := r.name("import name"); err != nil {
					return err
				}
				return coreImportDesc(r)
			case 0x01:
				return coreType(r, depth+1)
			case 0x02: // alias: sort, 0x01 outer ct idx
				if _, err := r.byte("alias sort"); err != nil {
					return err
				}
				if t, err := r.byte("alias target"); err != nil {
					return err
				} else if t != 0x01 {
					return r.bad("core alias target", t)
				}
				if _, err := r.u32("outer count"); err != nil {
					return err
				}
				_, err := r.u32("outer index")
				return err
			case 0x03: // export
				if _, err := r.name("export name"); err != nil {
					return err
				}
				return coreImportDesc(r)
			}
			return r.bad("module declaration", d)
		})
	case 0x60:
		return coreFuncType(r)
	}
	return r.unknown("core type form", k)
}

func coreFuncType(r *reader) error {
	for _, what := range []string{"param count", "result count"} {
		if err := r.vec(what, 1, func() error { return coreValType(r) }); err != nil {
			return err
		}
	}
	return nil
}

func coreValType(r *reader) error {
	k, err := r.byte("core value type")
	if err != nil {
		return err
	}
	switch k {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return nil
	}
	return r.unknown("core value type", k)
}

func coreImportDesc(r *reader) error {
	k, err := r.byte("core import kind")
	if err != nil {
		return err
	}
	switch k {
	case 0x00: // func
		_, err = r.u32("type index")
		return err
	case 0x01: // table: reftype limits
		if err := coreValType(r); err != nil {
			return err
		}
		return limits(r)
	case 0x02:
		return limits(r)
	case 0x03:
		if err := coreValType(r); err != nil {
			return err
		}
		_, err = r.byte("global mutability")
		return err
	}
	return r.unknown("core import kind", k)
}

func limits(r *reader) error {
	f, err := r.byte("limits flags")
	if err != nil {
		return err
	}
	if f > 0x07 {
		return r.bad("limits flags", f)
	}
	n := 1
	if f&1 != 0 {
		n = 2
	}
	for range n {
		if f&4 != 0 {
			v, w, err := uleb64(r.b[r.pos:])
			_ = v
			if err != nil {
				return r.fail("limit", err)
			}
			r.pos += w
		} else if _, err := r.u32("limit"); err != nil {
			return err
		}
	}
	return nil
}

func uleb64(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if i >= len(b) {
			return 0, 0, wasmbin.ErrTruncated
		}
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, wasmbin.ErrMalformed
}

// defType reads one component type definition.
func defType(r *reader, depth int) error {
	if depth > MaxDepth {
		return r.fail(fmt.Sprintf("types nested deeper than %d", MaxDepth), wasmbin.ErrLimit)
	}
	k, err := r.byte("type form")
	if err != nil {
		return err
	}
	switch k {
	case 0x40, 0x43: // func type (0x43: async)
		if err := r.vec("param count", 2, func() error {
			if _, err := r.name("param name"); err != nil {
				return err
			}
			return valType(r)
		}); err != nil {
			return err
		}
		rk, err := r.byte("result list")
		if err != nil {
			return err
		}
		switch rk {
		case 0x00:
			return valType(r)
		case 0x01:
			z, err := r.byte("empty result list")
			if err != nil {
				return err
			}
			if z != 0x00 {
				return r.bad("empty result list", z)
			}
			return nil
		}
		return r.bad("result list", rk)
	case 0x41: // component type
		return r.vec("component declaration count", 1, func() error {
			d, err := r.byte("component declaration")
			if err != nil {
				return err
			}
			if d == 0x03 {
				if _, err := r.externName("import name"); err != nil {
					return err
				}
				_, err := externDesc(r)
				return err
			}
			r.pos--
			return instanceDecl(r, depth)
		})
	case 0x42: // instance type
		return r.vec("instance declaration count", 1, func() error { return instanceDecl(r, depth) })
	case 0x3f, 0x3e: // resource (0x3e: async destructor)
		if b, err := r.byte("resource representation"); err != nil {
			return err
		} else if b != 0x7f {
			return r.bad("resource representation", b)
		}
		d, err := r.byte("resource destructor present")
		if err != nil {
			return err
		}
		switch d {
		case 0x00:
			return nil
		case 0x01:
			if _, err := r.u32("resource destructor"); err != nil {
				return err
			}
			if k == 0x3e {
				_, err := r.u32("resource callback")
				return err
			}
			return nil
		}
		return r.bad("resource destructor present", d)
	}
	r.pos--
	return defValType(r)
}

func instanceDecl(r *reader, depth int) error {
	d, err := r.byte("instance declaration")
	if err != nil {
		return err
	}
	switch d {
	case 0x00:
		return coreType(r, depth+1)
	case 0x01:
		return defType(r, depth+1)
	case 0x02:
		s, err := r.sort()
		if err != nil {
			return err
		}
		_ = s
		t, err := r.byte("alias target")
		if err != nil {
			return err
		}
		switch t {
		case 0x00, 0x01:
			if _, err := r.u32("alias instance"); err != nil {
				return err
			}
			_, err := r.name("alias export name")
			return err
		case 0x02:
			if _, err := r.u32("outer count"); err != nil {
				return err
			}
			_, err := r.u32("outer index")
			return err
		}
		return r.bad("alias target", t)
	case 0x04:
		if _, err := r.externName("export name"); err != nil {
			return err
		}
		_, err := externDesc(r)
		return err
	}
	return r.bad("instance declaration", d)
}

func isPrim(b byte) bool { return b >= 0x73 && b <= 0x7f || b == 0x64 }

// valType reads a value type: a primitive type or a type index.
func valType(r *reader) error {
	if r.done() {
		return r.fail("value type", wasmbin.ErrTruncated)
	}
	if isPrim(r.b[r.pos]) {
		r.pos++
		return nil
	}
	v, w, err := wasmbin.DecodeS64(r.b[r.pos:])
	if err != nil {
		return r.fail("value type", err)
	}
	if v < 0 || v > 0xffffffff {
		return r.fail(fmt.Sprintf("value type %d", v), wasmbin.ErrMalformed)
	}
	r.pos += w
	return nil
}

func optValType(r *reader, what string) error {
	b, err := r.byte(what)
	if err != nil {
		return err
	}
	switch b {
	case 0x00:
		return nil
	case 0x01:
		return valType(r)
	}
	return r.bad(what, b)
}

func defValType(r *reader) error {
	k, err := r.byte("value type form")
	if err != nil {
		return err
	}
	if isPrim(k) {
		return nil
	}
	switch k {
	case 0x72: // record
		return r.vec("field count", 2, func() error {
			if _, err := r.name("field name"); err != nil {
				return err
			}
			return valType(r)
		})
	case 0x71: // variant
		return r.vec("case count", 3, func() error {
			if _, err := r.name("case name"); err != nil {
				return err
			}
			if err := optValType(r, "case type"); err != nil {
				return err
			}
			z, err := r.byte("case refines")
			if err != nil {
				return err
			}
			if z != 0x00 {
				return r.bad("case refines", z)
			}
			return nil
		})
	case 0x70, 0x6b: // list, option
		return valType(r)
	case 0x67: // fixed-size list
		if err := valType(r); err != nil {
			return err
		}
		_, err := r.u32("list length")
		return err
	case 0x6f: // tuple
		return r.vec("tuple count", 1, func() error { return valType(r) })
	case 0x6e, 0x6d: // flags, enum
		return r.vec("label count", 1, func() error { _, err := r.name("label"); return err })
	case 0x6a: // result
		if err := optValType(r, "result ok type"); err != nil {
			return err
		}
		return optValType(r, "result error type")
	case 0x69, 0x68: // own, borrow
		_, err := r.u32("resource type index")
		return err
	case 0x66, 0x65: // stream, future
		return optValType(r, "element type")
	}
	return r.unknown("value type form", k)
}

// names reads the component-name section: the component's name and the
// names of its core modules. It is informational: a malformed section is
// ignored.
func (c *Component) names(s *wasmbin.Section) {
	r := &reader{b: s.Payload, base: s.PayloadOffset}
	var modNames map[uint32]string
	for !r.done() {
		id, err := r.byte("subsection id")
		if err != nil {
			return
		}
		size, err := r.u32("subsection size")
		if err != nil || uint64(size) > uint64(r.remaining()) {
			return
		}
		sub := &reader{b: r.b[r.pos : r.pos+int(size)], base: r.off()}
		r.pos += int(size)
		switch id {
		case 0x00:
			if n, err := sub.name("component name"); err == nil {
				c.Name = n
			}
		case 0x01:
			s, err := sub.sort()
			if err != nil || s != 0x100+int(SortModule) {
				continue
			}
			modNames = map[uint32]string{}
			_ = sub.vec("name count", 2, func() error {
				i, err := sub.u32("index")
				if err != nil {
					return err
				}
				n, err := sub.name("name")
				modNames[i] = n
				return err
			})
		}
	}
	c.pendingNames = modNames
}
