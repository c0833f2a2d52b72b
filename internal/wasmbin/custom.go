package wasmbin

import (
	"fmt"
	"sort"
)

// Names of the custom sections wasm-tools metadata reads and writes besides
// "name" and "producers". Their payloads are raw UTF-8 (no length prefix).
var MetadataSections = []string{"authors", "description", "licenses", "source", "homepage", "revision", "version"}

// Producer field names of the tool conventions, in their documented order.
const (
	ProducerLanguage    = "language"
	ProducerProcessedBy = "processed-by"
	ProducerSDK         = "sdk"
)

// ProducerValue is one tool or language and its version.
type ProducerValue struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ProducerField is one field of the producers section.
type ProducerField struct {
	Name   string          `json:"name"`
	Values []ProducerValue `json:"values"`
}

// Producers is the producers custom section (WebAssembly tool-conventions
// ProducersSection.md): a vector of fields, each a vector of name/version
// pairs, all strings length-prefixed.
type Producers struct {
	Fields []ProducerField
}

// DecodeProducers decodes a producers section payload at offset base.
func DecodeProducers(payload []byte, base int) (*Producers, error) {
	r := newReader(payload, base)
	n, err := r.count("producers field count", 2)
	if err != nil {
		return nil, err
	}
	p := &Producers{Fields: make([]ProducerField, 0, n)}
	for i := uint32(0); i < n; i++ {
		var f ProducerField
		if f.Name, err = r.name("producers field name"); err != nil {
			return nil, err
		}
		m, err := r.count("producers value count", 2)
		if err != nil {
			return nil, err
		}
		f.Values = make([]ProducerValue, 0, m)
		for j := uint32(0); j < m; j++ {
			var v ProducerValue
			if v.Name, err = r.name("producer name"); err != nil {
				return nil, err
			}
			if v.Version, err = r.name("producer version"); err != nil {
				return nil, err
			}
			f.Values = append(f.Values, v)
		}
		p.Fields = append(p.Fields, f)
	}
	return p, trailing(r, "producers section")
}

// Add sets the version of name in field, adding the field (in
// tool-conventions order: language, processed-by, sdk, then others) or the
// value (at the end) when missing, as wasm-tools does.
func (p *Producers) Add(field, name, version string) {
	for i := range p.Fields {
		f := &p.Fields[i]
		if f.Name != field {
			continue
		}
		for j := range f.Values {
			if f.Values[j].Name == name {
				f.Values[j].Version = version
				return
			}
		}
		f.Values = append(f.Values, ProducerValue{Name: name, Version: version})
		return
	}
	p.Fields = append(p.Fields, ProducerField{Name: field, Values: []ProducerValue{{name, version}}})
	rank := func(s string) int {
		switch s {
		case ProducerLanguage:
			return 0
		case ProducerProcessedBy:
			return 1
		case ProducerSDK:
			return 2
		}
		return 3
	}
	sort.SliceStable(p.Fields, func(i, j int) bool { return rank(p.Fields[i].Name) < rank(p.Fields[j].Name) })
}

// Encode encodes the producers section payload.
func (p *Producers) Encode() []byte {
	b := AppendU32(nil, uint32(len(p.Fields)))
	for _, f := range p.Fields {
		b = appendName(b, f.Name)
		b = AppendU32(b, uint32(len(f.Values)))
		for _, v := range f.Values {
			b = appendName(b, v.Name)
			b = appendName(b, v.Version)
		}
	}
	return b
}

func appendName(b []byte, s string) []byte {
	return append(AppendU32(b, uint32(len(s))), s...)
}

// NameAssoc maps an index to a name.
type NameAssoc struct {
	Index uint32
	Name  string
}

// NameSubsection is one subsection of the name section, raw.
type NameSubsection struct {
	ID      byte
	Payload []byte
}

// Names is the "name" custom section (core modules): the module name and
// function names decoded, every subsection kept raw and in order.
type Names struct {
	Module      *string
	Functions   []NameAssoc
	Subsections []NameSubsection
}

// Name subsection ids.
const (
	NameModule   = 0
	NameFunction = 1
	NameLocal    = 2
)

// DecodeNames decodes a name section payload at offset base.
func DecodeNames(payload []byte, base int) (*Names, error) {
	r := newReader(payload, base)
	n := &Names{}
	for !r.done() {
		id, _ := r.byte("name subsection id")
		size, _, err := r.u32("name subsection size")
		if err != nil {
			return nil, err
		}
		subBase := r.off()
		body, err := r.bytes(uint64(size), fmt.Sprintf("name subsection %d", id))
		if err != nil {
			return nil, err
		}
		n.Subsections = append(n.Subsections, NameSubsection{ID: id, Payload: body})
		sr := newReader(body, subBase)
		switch id {
		case NameModule:
			s, err := sr.name("module name")
			if err != nil {
				return nil, err
			}
			n.Module = &s
		case NameFunction:
			// In a component-name section subsection 1 holds sort names in
			// another format: what does not decode as a function name map
			// is kept raw only.
			if fns, err := decodeNameMap(sr); err == nil {
				n.Functions = fns
			}
		}
	}
	return n, nil
}

func decodeNameMap(r *reader) ([]NameAssoc, error) {
	c, err := r.count("function name count", 2)
	if err != nil {
		return nil, err
	}
	out := make([]NameAssoc, 0, c)
	for i := uint32(0); i < c; i++ {
		idx, _, err := r.u32("function index")
		if err != nil {
			return nil, err
		}
		s, err := r.name("function name")
		if err != nil {
			return nil, err
		}
		out = append(out, NameAssoc{idx, s})
	}
	return out, trailing(r, "function name subsection")
}

// Encode encodes the name section payload: the subsections in order, the
// module-name and function-name subsections re-encoded from Module and
// Functions when those are set (added in front, in id order, when
// missing), every other subsection as it was.
func (n *Names) Encode() []byte {
	enc := func(id byte) []byte {
		switch id {
		case NameModule:
			if n.Module == nil {
				return nil
			}
			return appendName(nil, *n.Module)
		case NameFunction:
			if n.Functions == nil {
				return nil
			}
			b := AppendU32(nil, uint32(len(n.Functions)))
			for _, f := range n.Functions {
				b = appendName(AppendU32(b, f.Index), f.Name)
			}
			return b
		}
		return nil
	}
	subs := n.Subsections
	has := func(id byte) bool {
		for _, s := range subs {
			if s.ID == id {
				return true
			}
		}
		return false
	}
	var front []NameSubsection
	if n.Module != nil && !has(NameModule) {
		front = append(front, NameSubsection{ID: NameModule})
	}
	if n.Functions != nil && !has(NameFunction) {
		front = append(front, NameSubsection{ID: NameFunction})
	}
	var b []byte
	for _, s := range append(front, subs...) {
		p := s.Payload
		if e := enc(s.ID); e != nil {
			p = e
		}
		b = append(b, s.ID)
		b = AppendU32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}
