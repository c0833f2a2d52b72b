package wasmbin

import (
	"fmt"
)

// SectionID is a section's id byte. The names of ids depend on whether the
// binary is a core module or a component; see Module.SectionName.
type SectionID byte

// Core module section ids, in the order the specification requires (custom
// sections may appear anywhere; data count comes before code).
const (
	SectionCustom    SectionID = 0
	SectionType      SectionID = 1
	SectionImport    SectionID = 2
	SectionFunction  SectionID = 3
	SectionTable     SectionID = 4
	SectionMemory    SectionID = 5
	SectionGlobal    SectionID = 6
	SectionExport    SectionID = 7
	SectionStart     SectionID = 8
	SectionElement   SectionID = 9
	SectionCode      SectionID = 10
	SectionData      SectionID = 11
	SectionDataCount SectionID = 12
	SectionTag       SectionID = 13
)

// Component section ids (component model binary format).
const (
	ComponentSectionCoreModule   SectionID = 1
	ComponentSectionCoreInstance SectionID = 2
	ComponentSectionCoreType     SectionID = 3
	ComponentSectionComponent    SectionID = 4
	ComponentSectionInstance     SectionID = 5
	ComponentSectionAlias        SectionID = 6
	ComponentSectionType         SectionID = 7
	ComponentSectionCanon        SectionID = 8
	ComponentSectionStart        SectionID = 9
	ComponentSectionImport       SectionID = 10
	ComponentSectionExport       SectionID = 11
	ComponentSectionValue        SectionID = 12
)

var coreNames = [...]string{"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "datacount", "tag"}

var componentNames = [...]string{"custom", "core-module", "core-instance", "core-type", "component",
	"instance", "alias", "type", "canon", "start", "import", "export", "value"}

// coreOrder is the position of each known core section in the specification's order.
var coreOrder = map[SectionID]int{
	SectionType: 1, SectionImport: 2, SectionFunction: 3, SectionTable: 4, SectionMemory: 5,
	SectionTag: 6, SectionGlobal: 7, SectionExport: 8, SectionStart: 9, SectionElement: 10,
	SectionDataCount: 11, SectionCode: 12, SectionData: 13,
}

// Magic is the first four bytes of every Wasm binary.
var Magic = [4]byte{0x00, 'a', 's', 'm'}

// Version bytes of a core module and of a component (version 0x0d, layer 1).
var (
	VersionModule    = [4]byte{0x01, 0x00, 0x00, 0x00}
	VersionComponent = [4]byte{0x0d, 0x00, 0x01, 0x00}
)

// Section is one section of a binary.
type Section struct {
	ID SectionID
	// Name is the name of a custom section (ID 0); empty otherwise.
	Name string
	// Payload is the section's content; for a custom section, the bytes
	// after its name. Parse aliases the input.
	Payload []byte
	// Offset is the offset of the section's id byte and PayloadOffset that
	// of its payload in the input to Parse (for nested binaries, in the
	// outermost input). Both are informational; Encode ignores them.
	Offset, PayloadOffset int
	// SizeWidth and NameWidth are the widths in bytes of the size and (for
	// a custom section) name-length LEB128 encodings as read. Zero means
	// minimal. Encode keeps a width when the value still fits.
	SizeWidth, NameWidth int
}

// Module is a parsed core module or component: the 8-byte preamble and the
// sections in order.
type Module struct {
	Version  [4]byte
	Sections []Section
}

// IsComponent reports whether the binary is a component (layer 1).
func (m *Module) IsComponent() bool { return m.Version[2] == 1 && m.Version[3] == 0 }

// SectionName is a readable name of a section: the custom section's name
// ("custom:producers") or the standard section's ("data", "core-module").
func (m *Module) SectionName(s *Section) string {
	if s.ID == SectionCustom {
		return "custom:" + s.Name
	}
	names := coreNames[:]
	if m.IsComponent() {
		names = componentNames[:]
	}
	if int(s.ID) < len(names) {
		return names[s.ID]
	}
	return fmt.Sprintf("unknown-%d", s.ID)
}

// KindName is the file-name-safe kind of a section id ("type", "data",
// "custom", "core-module", "unknown-99").
func (m *Module) KindName(id SectionID) string {
	names := coreNames[:]
	if m.IsComponent() {
		names = componentNames[:]
	}
	if int(id) < len(names) {
		return names[id]
	}
	return fmt.Sprintf("unknown-%d", id)
}

// Parse splits a Wasm binary into its sections. It checks the preamble,
// that every section lies within the input and that there are at most
// MaxSections; it does not validate section contents (see CheckCounts). The returned sections alias b.
func Parse(b []byte) (*Module, error) { return ParseAt(b, 0) }

// ParseAt is Parse for a binary nested at offset base of an outer input
// (a component's core module), so error offsets point into the outer input.
func ParseAt(b []byte, base int) (*Module, error) {
	m, r, err := parsePreamble(b, base)
	if err != nil {
		return nil, err
	}
	for !r.done() {
		s, err := m.nextSection(r)
		if err != nil {
			return nil, err
		}
		m.Sections = append(m.Sections, s)
	}
	return m, nil
}

// parsePreamble checks the magic number and version and returns the module
// (with no sections yet) and a reader at its first section.
func parsePreamble(b []byte, base int) (*Module, *reader, error) {
	r := newReader(b, base)
	kind := Sniff(b)
	if kind == NotWasm {
		return nil, nil, &Error{Offset: base, What: "preamble", Err: ErrNotWasm}
	}
	pre, err := r.bytes(HeaderSize, "preamble")
	if err != nil {
		return nil, nil, err
	}
	m := &Module{}
	copy(m.Version[:], pre[4:])
	if kind == UnknownVersion {
		return nil, nil, &Error{Offset: base + 4, What: fmt.Sprintf("version % x", pre[4:]), Err: fmt.Errorf("%w: unsupported version (want 01 00 00 00 or a component)", ErrMalformed)}
	}
	return m, r, nil
}

// nextSection reads the section at r, the len(m.Sections)+1-th: it must
// lie within the input and be at most the MaxSections-th.
func (m *Module) nextSection(r *reader) (Section, error) {
	if len(m.Sections) >= MaxSections {
		return Section{}, &Error{Offset: r.off(), Err: ErrLimit,
			What: fmt.Sprintf("more than %d sections (real modules have a few dozen)", MaxSections)}
	}
	s := Section{Offset: r.off()}
	id, _ := r.byte("section id")
	s.ID = SectionID(id)
	size, w, err := r.u32("section size")
	if err != nil {
		return Section{}, err
	}
	if w != SizeU32(size) {
		s.SizeWidth = w
	}
	s.PayloadOffset = r.off()
	if uint64(size) > uint64(r.remaining()) {
		return Section{}, &Error{Offset: s.Offset, Err: ErrTruncated,
			What: fmt.Sprintf("%s section (id %d) declares %d bytes but %d remain", m.KindName(s.ID), s.ID, size, r.remaining())}
	}
	body, _ := r.bytes(uint64(size), "section")
	s.Payload = body
	if s.ID == SectionCustom {
		cr := newReader(body, s.PayloadOffset)
		n, w, err := cr.u32("custom section name length")
		if err != nil {
			return Section{}, err
		}
		if w != SizeU32(n) {
			s.NameWidth = w
		}
		name, err := cr.bytes(uint64(n), "custom section name")
		if err != nil {
			return Section{}, err
		}
		s.Name = string(name)
		s.Payload = body[cr.pos:]
		s.PayloadOffset = cr.off()
	}
	return s, nil
}

// Encode returns the binary. Encode(Parse(b)) is b.
func (m *Module) Encode() []byte {
	n := 8
	for i := range m.Sections {
		n += 16 + len(m.Sections[i].Name) + len(m.Sections[i].Payload)
	}
	out := make([]byte, 0, n)
	out = append(out, Magic[:]...)
	out = append(out, m.Version[:]...)
	for i := range m.Sections {
		out = m.Sections[i].AppendTo(out)
	}
	return out
}

// AppendTo appends the encoded section (id, size, content) to b.
func (s *Section) AppendTo(b []byte) []byte {
	b = append(b, byte(s.ID))
	size := len(s.Payload)
	var name []byte
	if s.ID == SectionCustom {
		name = AppendU32Width(nil, uint32(len(s.Name)), s.NameWidth)
		name = append(name, s.Name...)
		size += len(name)
	}
	b = AppendU32Width(b, uint32(size), s.SizeWidth)
	b = append(b, name...)
	return append(b, s.Payload...)
}

// Section returns the first section with the id, or nil.
func (m *Module) Section(id SectionID) *Section {
	for i := range m.Sections {
		if m.Sections[i].ID == id {
			return &m.Sections[i]
		}
	}
	return nil
}

// Custom returns the first custom section with the name, or nil.
func (m *Module) Custom(name string) *Section {
	for i := range m.Sections {
		if s := &m.Sections[i]; s.ID == SectionCustom && s.Name == name {
			return s
		}
	}
	return nil
}

// SetCustom replaces the payload of the first custom section with the name
// and removes any others of that name, or appends a new one at the end.
func (m *Module) SetCustom(name string, payload []byte) {
	found := false
	out := m.Sections[:0:0]
	for _, s := range m.Sections {
		if s.ID == SectionCustom && s.Name == name {
			if found {
				continue
			}
			found = true
			s.Payload = payload
		}
		out = append(out, s)
	}
	if !found {
		out = append(out, Section{ID: SectionCustom, Name: name, Payload: payload})
	}
	m.Sections = out
}

// RemoveCustom removes every custom section with the name.
func (m *Module) RemoveCustom(name string) {
	out := m.Sections[:0:0]
	for _, s := range m.Sections {
		if s.ID == SectionCustom && s.Name == name {
			continue
		}
		out = append(out, s)
	}
	m.Sections = out
}

// SetSection replaces the payload of the first section with the id, or
// inserts a new section where the specification orders it (core modules).
func (m *Module) SetSection(id SectionID, payload []byte) {
	if s := m.Section(id); s != nil {
		s.Payload = payload
		return
	}
	pos := len(m.Sections)
	if want, ok := coreOrder[id]; ok && !m.IsComponent() {
		for i, s := range m.Sections {
			if o, ok := coreOrder[s.ID]; ok && o > want {
				pos = i
				break
			}
		}
	}
	m.Sections = append(m.Sections, Section{})
	copy(m.Sections[pos+1:], m.Sections[pos:])
	m.Sections[pos] = Section{ID: id, Payload: payload}
}

// RemoveSection removes every section with the (non-custom) id.
func (m *Module) RemoveSection(id SectionID) {
	out := m.Sections[:0:0]
	for _, s := range m.Sections {
		if s.ID == id {
			continue
		}
		out = append(out, s)
	}
	m.Sections = out
}

// CanonicalOrder returns the sections in a canonical order: standard
// sections in specification order (a component's in their original order),
// then custom sections sorted by name (ties keep their order). The result
// does not change when custom sections move.
func (m *Module) CanonicalOrder() []Section {
	var std, custom []Section
	for _, s := range m.Sections {
		if s.ID == SectionCustom {
			custom = append(custom, s)
		} else {
			std = append(std, s)
		}
	}
	if !m.IsComponent() {
		sortStable(std, func(a, b Section) bool { return order(a.ID) < order(b.ID) })
	}
	sortStable(custom, func(a, b Section) bool { return a.Name < b.Name })
	return append(std, custom...)
}

func order(id SectionID) int {
	if o, ok := coreOrder[id]; ok {
		return o
	}
	return 100 + int(id)
}
