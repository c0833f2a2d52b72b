package wasmbin

import (
	"fmt"
	"strings"
)

// ValType is a value type rendered in the text format: "i32", "v128",
// "funcref", "(ref null 3)".
type ValType string

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

func (f FuncType) String() string {
	j := func(v []ValType) string {
		s := make([]string, len(v))
		for i := range v {
			s[i] = string(v[i])
		}
		return strings.Join(s, " ")
	}
	return fmt.Sprintf("(func (param %s) (result %s))", j(f.Params), j(f.Results))
}

// TypeEntry is one defined type: a function type, or a GC struct or array
// type summarized by its kind.
type TypeEntry struct {
	Kind string    // "func", "struct" or "array"
	Func *FuncType // for Kind "func"
}

var numTypes = map[byte]ValType{
	0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128",
	0x70: "funcref", 0x6f: "externref", 0x6e: "anyref", 0x6d: "eqref", 0x6c: "i31ref",
	0x6b: "structref", 0x6a: "arrayref", 0x69: "exnref", 0x71: "nullref", 0x72: "nullexternref",
	0x73: "nullfuncref", 0x74: "nullexnref",
}

var heapTypes = map[byte]string{
	0x70: "func", 0x6f: "extern", 0x6e: "any", 0x6d: "eq", 0x6c: "i31", 0x6b: "struct",
	0x6a: "array", 0x69: "exn", 0x71: "none", 0x72: "noextern", 0x73: "nofunc", 0x74: "noexn",
}

func (r *reader) heapType() (string, error) {
	c, err := r.byte("heap type")
	if err != nil {
		return "", err
	}
	if h, ok := heapTypes[c]; ok {
		return h, nil
	}
	r.pos--
	v, w, err := DecodeS64(r.b[r.pos:])
	if err != nil || v < 0 || v > 1<<32 || w > 5 {
		return "", r.fail("heap type", ErrMalformed)
	}
	r.pos += w
	return fmt.Sprint(v), nil
}

func (r *reader) valType() (ValType, error) {
	c, err := r.byte("value type")
	if err != nil {
		return "", err
	}
	if v, ok := numTypes[c]; ok {
		return v, nil
	}
	switch c {
	case 0x63, 0x64:
		h, err := r.heapType()
		if err != nil {
			return "", err
		}
		if c == 0x63 {
			return ValType("(ref null " + h + ")"), nil
		}
		return ValType("(ref " + h + ")"), nil
	}
	r.pos--
	return "", r.fail(fmt.Sprintf("value type 0x%02x", c), ErrMalformed)
}

func (r *reader) valTypes(what string) ([]ValType, error) {
	n, err := r.count(what, 1)
	if err != nil {
		return nil, err
	}
	out := make([]ValType, 0, n)
	for i := uint32(0); i < n; i++ {
		v, err := r.valType()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (r *reader) storageType() error {
	c, err := r.byte("storage type")
	if err != nil {
		return err
	}
	if c == 0x78 || c == 0x77 { // i8, i16
		return nil
	}
	r.pos--
	_, err = r.valType()
	return err
}

func (r *reader) compType() (TypeEntry, error) {
	c, err := r.byte("type form")
	if err != nil {
		return TypeEntry{}, err
	}
	switch c {
	case 0x60:
		p, err := r.valTypes("parameter count")
		if err != nil {
			return TypeEntry{}, err
		}
		res, err := r.valTypes("result count")
		if err != nil {
			return TypeEntry{}, err
		}
		return TypeEntry{Kind: "func", Func: &FuncType{Params: p, Results: res}}, nil
	case 0x5f:
		n, err := r.count("struct field count", 2)
		if err != nil {
			return TypeEntry{}, err
		}
		for i := uint32(0); i < n; i++ {
			if err := r.storageType(); err != nil {
				return TypeEntry{}, err
			}
			if _, err := r.byte("field mutability"); err != nil {
				return TypeEntry{}, err
			}
		}
		return TypeEntry{Kind: "struct"}, nil
	case 0x5e:
		if err := r.storageType(); err != nil {
			return TypeEntry{}, err
		}
		if _, err := r.byte("field mutability"); err != nil {
			return TypeEntry{}, err
		}
		return TypeEntry{Kind: "array"}, nil
	}
	r.pos--
	return TypeEntry{}, r.fail(fmt.Sprintf("type form 0x%02x", c), ErrMalformed)
}

func (r *reader) subType() (TypeEntry, error) {
	c, err := r.byte("type form")
	if err != nil {
		return TypeEntry{}, err
	}
	if c == 0x50 || c == 0x4f { // sub, sub final
		n, err := r.count("supertype count", 1)
		if err != nil {
			return TypeEntry{}, err
		}
		for i := uint32(0); i < n; i++ {
			if _, _, err := r.u32("supertype index"); err != nil {
				return TypeEntry{}, err
			}
		}
		return r.compType()
	}
	r.pos--
	return r.compType()
}

// DecodeTypes decodes a type section payload into its defined types (a
// recursion group contributes each of its members). base is the payload's
// offset in the input, for error messages.
func DecodeTypes(payload []byte, base int) ([]TypeEntry, error) {
	r := newReader(payload, base)
	n, err := r.count("type count", 1)
	if err != nil {
		return nil, err
	}
	var out []TypeEntry
	for i := uint32(0); i < n; i++ {
		if len(r.b) > r.pos && r.b[r.pos] == 0x4e { // rec
			r.pos++
			m, err := r.count("recursion group size", 1)
			if err != nil {
				return nil, err
			}
			for j := uint32(0); j < m; j++ {
				t, err := r.subType()
				if err != nil {
					return nil, err
				}
				out = append(out, t)
			}
			continue
		}
		t, err := r.subType()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if !r.done() {
		return nil, r.fail("type section", fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.remaining()))
	}
	return out, nil
}
