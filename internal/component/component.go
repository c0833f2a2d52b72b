// Package component reads WebAssembly Component Model binaries (preamble
// 00 61 73 6d 0d 00 01 00): it walks every section of a component — core
// module, core instance, core type, component, instance, alias, type,
// canon, start, import, export, custom — with every count and size checked
// against the bytes that remain (the bytes come from anyone), and extracts
// what wrun needs: the world (imported and exported names, with their
// interface and version), the nested core modules and components, and the
// core instantiations that wire them. Classify tells a WASI preview 1
// module wrapped by the preview 1 adapter (which wrun can run by
// unwrapping it) from every other kind of component.
//
// Nesting (components in components, types in types) is capped at
// MaxDepth. Parts of the format wrun does not decode (the value section,
// canonical built-ins of the async proposal, type constructors newer than
// the decoder) are recorded in Component.Undecoded rather than guessed;
// a component with any of them is never classified as runnable.
package component

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// MaxDepth bounds the nesting of components inside components and of type
// definitions inside type definitions.
const MaxDepth = 16

// ErrNotComponent means the input is not a component (a core module, or
// not Wasm at all).
var ErrNotComponent = errors.New("not a WebAssembly component")

// Component is a parsed component.
type Component struct {
	// Name is the component-name section's component name, if any.
	Name string
	// Imports and Exports are the component's own imports and exports, in
	// section order.
	Imports []Extern
	Exports []Extern
	// Modules are the core modules defined (not aliased) by the component,
	// in index order.
	Modules []*Module
	// Components are the nested components, in index order.
	Components []*Component
	// CoreInstances is the core instance index space.
	CoreInstances []CoreInstance
	// CoreFuncs is the core function index space.
	CoreFuncs []CoreFunc
	// CoreMemories is the core memory index space (aliases).
	CoreMemories []CoreRef
	// Funcs is the component function index space.
	Funcs []Func
	// Undecoded names parts wrun does not decode; empty when the whole
	// component was understood.
	Undecoded []string
	// Offset and Size locate the component in the outermost input.
	Offset, Size int

	pendingNames map[uint32]string
}

// Extern is one import or export of a component.
type Extern struct {
	Name string `json:"name"`
	// Kind is the sort: "instance", "func", "type", "component",
	// "core module" or "value".
	Kind string `json:"kind"`
	// Index is the exported item's index in its sort (exports only).
	Index uint32 `json:"-"`
}

// Interface splits an interface name "ns:pkg/iface@1.2.3" into its package
// ("ns:pkg"), interface ("iface") and version ("1.2.3"); a plain name
// ("run") has only iface.
func (e Extern) Interface() (pkg, iface, version string) {
	n := e.Name
	if i := strings.LastIndexByte(n, '@'); i > 0 && strings.Contains(n[:i], ":") {
		n, version = n[:i], n[i+1:]
	}
	if i := strings.IndexByte(n, '/'); i >= 0 && strings.Contains(n[:i], ":") {
		return n[:i], n[i+1:], version
	}
	return "", n, version
}

// IsWASI reports whether the name is a wasi:* interface.
func (e Extern) IsWASI() bool { return strings.HasPrefix(e.Name, "wasi:") }

// Module is a core module nested in a component.
type Module struct {
	// Index is the module's index in its component's core module space.
	Index int
	// Bytes is the module's binary (aliasing the input).
	Bytes []byte
	// Offset is the module's offset in the outermost input.
	Offset int
	// Name is the module's name from the component-name section, if any.
	Name string
	// Imports and Exports are the module's, or nil if its import or
	// export section could not be decoded (Err says why).
	Imports []wasmbin.Import
	Exports []wasmbin.Export
	Err     error
}

// CoreInstance is one core instance: either an instantiation of a module
// (Module >= 0, with Args) or a bundle of exports (Module == -1).
type CoreInstance struct {
	Module  int
	Args    []Arg
	Exports []CoreExport
}

// Arg is one instantiation argument: name ← core instance.
type Arg struct {
	Name     string
	Instance uint32
}

// CoreExport is one export of a from-exports core instance.
type CoreExport struct {
	Name  string
	Sort  byte
	Index uint32
}

// Core sorts.
const (
	SortFunc     byte = 0x00
	SortTable    byte = 0x01
	SortMemory   byte = 0x02
	SortGlobal   byte = 0x03
	SortType     byte = 0x10
	SortModule   byte = 0x11
	SortInstance byte = 0x12
)

// CoreRef says where a core item comes from.
type CoreRef struct {
	// Kind is "alias" (an export Name of core instance Instance), "outer",
	// "lower" (a lowered component function Func), or the canonical
	// built-in's name ("resource.drop", ...).
	Kind     string
	Instance uint32
	Name     string
	Func     uint32
}

// CoreFunc is one core function.
type CoreFunc = CoreRef

// Func is one component function: "import", "alias", or "lift" of core
// function Core.
type Func struct {
	Kind string
	Core uint32
	// Name is the alias's export name or the import's name.
	Name string
}

// Parse parses a component binary.
func Parse(b []byte) (*Component, error) {
	if wasmbin.Sniff(b) != wasmbin.Component {
		return nil, ErrNotComponent
	}
	return parse(b, 0, 0)
}

func parse(b []byte, base, depth int) (*Component, error) {
	if depth > MaxDepth {
		return nil, &wasmbin.Error{Offset: base, What: fmt.Sprintf("components nested deeper than %d", MaxDepth), Err: wasmbin.ErrLimit}
	}
	m, err := wasmbin.ParseAt(b, base)
	if err != nil {
		return nil, err
	}
	if !m.IsComponent() {
		return nil, &wasmbin.Error{Offset: base, What: "nested component", Err: fmt.Errorf("%w: a core module where a component belongs", wasmbin.ErrMalformed)}
	}
	if m.Version != wasmbin.VersionComponent {
		return nil, &wasmbin.Error{Offset: base + 4, What: fmt.Sprintf("component version % x", m.Version[:2]),
			Err: fmt.Errorf("%w: unsupported (want 0d 00)", wasmbin.ErrMalformed)}
	}
	c := &Component{Offset: base, Size: len(b)}
	for i := range m.Sections {
		s := &m.Sections[i]
		r := &reader{b: s.Payload, base: s.PayloadOffset}
		if err := c.section(s, r, depth); err != nil {
			return nil, err
		}
	}
	for i, n := range c.pendingNames {
		if int64(i) < int64(len(c.Modules)) {
			c.Modules[i].Name = n
		}
	}
	c.pendingNames = nil
	return c, nil
}

func (c *Component) undecoded(format string, args ...any) {
	if len(c.Undecoded) < 32 {
		c.Undecoded = append(c.Undecoded, fmt.Sprintf(format, args...))
	}
}

func (c *Component) section(s *wasmbin.Section, r *reader, depth int) error {
	switch s.ID {
	case wasmbin.SectionCustom:
		if s.Name == "component-name" {
			c.names(s)
		}
		return nil
	case wasmbin.ComponentSectionCoreModule:
		mod := &Module{Index: len(c.Modules), Bytes: s.Payload, Offset: s.PayloadOffset}
		if wasmbin.Sniff(s.Payload) != wasmbin.CoreModule {
			return r.fail("core module section: not a core module (want \\0asm 01 00 00 00)", wasmbin.ErrMalformed)
		}
		mm, err := wasmbin.ParseAt(s.Payload, s.PayloadOffset)
		if err != nil {
			return err
		}
		mod.decode(mm)
		c.Modules = append(c.Modules, mod)
		return nil
	case wasmbin.ComponentSectionComponent:
		sub, err := parse(s.Payload, s.PayloadOffset, depth+1)
		if err != nil {
			return err
		}
		c.Components = append(c.Components, sub)
		return nil
	case wasmbin.ComponentSectionCoreInstance:
		return r.vec("core instance count", 2, c.coreInstance(r))
	case wasmbin.ComponentSectionInstance:
		return r.vec("instance count", 2, func() error { return c.instance(r) })
	case wasmbin.ComponentSectionAlias:
		return r.vec("alias count", 3, func() error { return c.alias(r) })
	case wasmbin.ComponentSectionCoreType:
		if err := r.vec("core type count", 1, func() error { return coreType(r, depth) }); err != nil {
			if errors.Is(err, errUnknown) {
				c.undecoded("core type section at offset %d: %v", s.Offset, err)
				return nil
			}
			return err
		}
		return r.trailing("core type section")
	case wasmbin.ComponentSectionType:
		if err := r.vec("type count", 1, func() error { return defType(r, depth) }); err != nil {
			if errors.Is(err, errUnknown) {
				c.undecoded("type section at offset %d: %v", s.Offset, err)
				return nil
			}
			return err
		}
		return r.trailing("type section")
	case wasmbin.ComponentSectionCanon:
		if err := r.vec("canon count", 2, func() error { return c.canon(r) }); err != nil {
			if errors.Is(err, errUnknown) {
				c.undecoded("canon section at offset %d: %v", s.Offset, err)
				return nil
			}
			return err
		}
		return r.trailing("canon section")
	case wasmbin.ComponentSectionStart:
		if _, err := r.u32("start function"); err != nil {
			return err
		}
		if err := r.vec("start argument count", 1, func() error { _, err := r.u32("start argument"); return err }); err != nil {
			return err
		}
		if _, err := r.u32("start result count"); err != nil {
			return err
		}
		c.undecoded("a start section (offset %d)", s.Offset)
		return r.trailing("start section")
	case wasmbin.ComponentSectionImport:
		return r.vec("import count", 3, func() error { return c.importDecl(r, depth) })
	case wasmbin.ComponentSectionExport:
		return r.vec("export count", 3, func() error { return c.export(r, depth) })
	case wasmbin.ComponentSectionValue:
		c.undecoded("a value section (offset %d)", s.Offset)
		return nil
	}
	return &wasmbin.Error{Offset: s.Offset, What: fmt.Sprintf("component section id %d", s.ID), Err: wasmbin.ErrMalformed}
}

// errUnknown marks an opcode the decoder does not know: the rest of its
// section is recorded as undecoded instead of failing the parse.
var errUnknown = errors.New("an encoding wrun does not decode")

func (r *reader) unknown(what string, b byte) error {
	r.pos--
	return r.fail(fmt.Sprintf("%s 0x%02x", what, b), errUnknown)
}

func (m *Module) decode(mm *wasmbin.Module) {
	if s := mm.Section(wasmbin.SectionImport); s != nil {
		if m.Imports, m.Err = wasmbin.DecodeImports(s.Payload, s.PayloadOffset); m.Err != nil {
			return
		}
	}
	if s := mm.Section(wasmbin.SectionExport); s != nil {
		m.Exports, m.Err = wasmbin.DecodeExports(s.Payload, s.PayloadOffset)
	}
}

func (c *Component) coreInstance(r *reader) func() error {
	return func() error {
		k, err := r.byte("core instance kind")
		if err != nil {
			return err
		}
		switch k {
		case 0x00:
			mi, err := r.u32("module index")
			if err != nil {
				return err
			}
			if int64(mi) >= int64(len(c.Modules)) {
				return r.fail(fmt.Sprintf("core instance instantiates module %d of %d", mi, len(c.Modules)), wasmbin.ErrMalformed)
			}
			in := CoreInstance{Module: int(mi)}
			err = r.vec("instantiate argument count", 3, func() error {
				n, err := r.name("instantiate argument name")
				if err != nil {
					return err
				}
				if s, err := r.byte("instantiate argument sort"); err != nil {
					return err
				} else if s != SortInstance {
					return r.bad("instantiate argument sort", s)
				}
				i, err := r.u32("instantiate argument instance")
				if err != nil {
					return err
				}
				if int64(i) >= int64(len(c.CoreInstances)) {
					return r.fail(fmt.Sprintf("instantiate argument %q names core instance %d of %d", n, i, len(c.CoreInstances)), wasmbin.ErrMalformed)
				}
				in.Args = append(in.Args, Arg{Name: n, Instance: i})
				return nil
			})
			if err != nil {
				return err
			}
			c.CoreInstances = append(c.CoreInstances, in)
		case 0x01:
			in := CoreInstance{Module: -1}
			err := r.vec("core export count", 3, func() error {
				n, err := r.name("core export name")
				if err != nil {
					return err
				}
				s, err := r.byte("core export sort")
				if err != nil {
					return err
				}
				i, err := r.u32("core export index")
				if err != nil {
					return err
				}
				in.Exports = append(in.Exports, CoreExport{Name: n, Sort: s, Index: i})
				return nil
			})
			if err != nil {
				return err
			}
			c.CoreInstances = append(c.CoreInstances, in)
		default:
			return r.bad("core instance kind", k)
		}
		return nil
	}
}

func (c *Component) instance(r *reader) error {
	k, err := r.byte("instance kind")
	if err != nil {
		return err
	}
	switch k {
	case 0x00:
		if _, err := r.u32("component index"); err != nil {
			return err
		}
		return r.vec("instantiate argument count", 3, func() error {
			if _, err := r.name("instantiate argument name"); err != nil {
				return err
			}
			_, err := r.sortIdx()
			return err
		})
	case 0x01:
		return r.vec("export count", 3, func() error {
			if _, err := r.externName("export name"); err != nil {
				return err
			}
			_, err := r.sortIdx()
			return err
		})
	}
	return r.bad("instance kind", k)
}

// sort reads a component sort: 0x00 and a core sort, or 0x01..0x05. It
// returns the core sort byte + 0x100 for core sorts.
func (r *reader) sort() (int, error) {
	s, err := r.byte("sort")
	if err != nil {
		return 0, err
	}
	switch s {
	case 0x00:
		cs, err := r.byte("core sort")
		if err != nil {
			return 0, err
		}
		switch cs {
		case SortFunc, SortTable, SortMemory, SortGlobal, SortType, SortModule, SortInstance:
			return 0x100 + int(cs), nil
		}
		return 0, r.bad("core sort", cs)
	case 0x01, 0x02, 0x03, 0x04, 0x05:
		return int(s), nil
	}
	return 0, r.bad("sort", s)
}

func (r *reader) sortIdx() (int, error) {
	s, err := r.sort()
	if err != nil {
		return 0, err
	}
	_, err = r.u32("sort index")
	return s, err
}

var sortNames = map[int]string{1: "func", 2: "value", 3: "type", 4: "component", 5: "instance",
	0x100 + int(SortModule): "core module", 0x100 + int(SortFunc): "core func"}

func (c *Component) alias(r *reader) error {
	s, err := r.sort()
	if err != nil {
		return err
	}
	t, err := r.byte("alias target")
	if err != nil {
		return err
	}
	ref := CoreRef{}
	switch t {
	case 0x00, 0x01:
		if ref.Instance, err = r.u32("alias instance"); err != nil {
			return err
		}
		if ref.Name, err = r.name("alias export name"); err != nil {
			return err
		}
		ref.Kind = "alias"
		if t == 0x00 {
			ref.Kind = "alias-component"
		} else if int64(ref.Instance) >= int64(len(c.CoreInstances)) {
			return r.fail(fmt.Sprintf("alias of core instance %d of %d", ref.Instance, len(c.CoreInstances)), wasmbin.ErrMalformed)
		}
	case 0x02:
		if _, err := r.u32("outer count"); err != nil {
			return err
		}
		if _, err := r.u32("outer index"); err != nil {
			return err
		}
		ref.Kind = "outer"
	default:
		return r.bad("alias target", t)
	}
	switch s {
	case 0x100 + int(SortFunc):
		if t != 0x01 {
			ref.Kind = "outer"
		}
		c.CoreFuncs = append(c.CoreFuncs, ref)
	case 0x100 + int(SortMemory):
		c.CoreMemories = append(c.CoreMemories, ref)
	case 0x100 + int(SortInstance):
		c.CoreInstances = append(c.CoreInstances, CoreInstance{Module: -2})
	case 0x100 + int(SortModule):
		c.Modules = append(c.Modules, &Module{Index: len(c.Modules), Err: errors.New("an aliased module")})
	case 0x01:
		c.Funcs = append(c.Funcs, Func{Kind: "alias", Name: ref.Name})
	}
	return nil
}

// externName reads an import or export name: 0x00 name, or 0x01 name and
// a version suffix.
func (r *reader) externName(what string) (string, error) {
	k, err := r.byte(what + " kind")
	if err != nil {
		return "", err
	}
	switch k {
	case 0x00:
		return r.name(what)
	case 0x01:
		n, err := r.name(what)
		if err != nil {
			return "", err
		}
		if _, err := r.name(what + " version suffix"); err != nil {
			return "", err
		}
		return n, nil
	}
	return "", r.bad(what+" kind", k)
}

var externKinds = map[byte]string{0x00: "core module", 0x01: "func", 0x02: "value", 0x03: "type", 0x04: "component", 0x05: "instance"}

// externDesc reads an externdesc and returns its kind.
func externDesc(r *reader) (string, error) {
	k, err := r.byte("extern kind")
	if err != nil {
		return "", err
	}
	switch k {
	case 0x00:
		if b, err := r.byte("core module sort"); err != nil {
			return "", err
		} else if b != SortModule {
			return "", r.bad("core module sort", b)
		}
		_, err = r.u32("core module type")
	case 0x01, 0x04, 0x05:
		_, err = r.u32("type index")
	case 0x02:
		var b byte
		if b, err = r.byte("value bound"); err != nil {
			return "", err
		}
		switch b {
		case 0x00:
			_, err = r.u32("value index")
		case 0x01:
			err = valType(r)
		default:
			return "", r.bad("value bound", b)
		}
	case 0x03:
		var b byte
		if b, err = r.byte("type bound"); err != nil {
			return "", err
		}
		switch b {
		case 0x00:
			_, err = r.u32("type index")
		case 0x01: // sub resource
		default:
			return "", r.bad("type bound", b)
		}
	default:
		return "", r.bad("extern kind", k)
	}
	return externKinds[k], err
}

func (c *Component) importDecl(r *reader, depth int) error {
	n, err := r.externName("import name")
	if err != nil {
		return err
	}
	kind, err := externDesc(r)
	if err != nil {
		return err
	}
	c.Imports = append(c.Imports, Extern{Name: n, Kind: kind})
	switch kind {
	case "func":
		c.Funcs = append(c.Funcs, Func{Kind: "import", Name: n})
	case "core module":
		c.Modules = append(c.Modules, &Module{Index: len(c.Modules), Err: errors.New("an imported module")})
	}
	return nil
}

func (c *Component) export(r *reader, depth int) error {
	n, err := r.externName("export name")
	if err != nil {
		return err
	}
	s, err := r.sort()
	if err != nil {
		return err
	}
	i, err := r.u32("export index")
	if err != nil {
		return err
	}
	opt, err := r.byte("export type present")
	if err != nil {
		return err
	}
	switch opt {
	case 0x00:
	case 0x01:
		if _, err := externDesc(r); err != nil {
			return err
		}
	default:
		return r.bad("export type present", opt)
	}
	kind := sortNames[s]
	if kind == "" {
		kind = fmt.Sprintf("sort 0x%x", s)
	}
	c.Exports = append(c.Exports, Extern{Name: n, Kind: kind, Index: i})
	// An export adds to its sort's index space.
	switch s {
	case 0x01:
		c.Funcs = append(c.Funcs, Func{Kind: "export", Name: n})
	case 0x100 + int(SortModule):
		c.Modules = append(c.Modules, &Module{Index: len(c.Modules), Err: errors.New("an exported module alias")})
	}
	return nil
}

func (c *Component) canon(r *reader) error {
	op, err := r.byte("canon opcode")
	if err != nil {
		return err
	}
	switch op {
	case 0x00: // lift
		if b, err := r.byte("lift sort"); err != nil {
			return err
		} else if b != 0x00 {
			return r.bad("lift sort", b)
		}
		f, err := r.u32("lift core function")
		if err != nil {
			return err
		}
		if err := canonOpts(r); err != nil {
			return err
		}
		if _, err := r.u32("lift type"); err != nil {
			return err
		}
		c.Funcs = append(c.Funcs, Func{Kind: "lift", Core: f})
	case 0x01: // lower
		if b, err := r.byte("lower sort"); err != nil {
			return err
		} else if b != 0x00 {
			return r.bad("lower sort", b)
		}
		f, err := r.u32("lower function")
		if err != nil {
			return err
		}
		if err := canonOpts(r); err != nil {
			return err
		}
		c.CoreFuncs = append(c.CoreFuncs, CoreRef{Kind: "lower", Func: f})
	case 0x02, 0x03, 0x04, 0x07:
		if _, err := r.u32("resource type"); err != nil {
			return err
		}
		name := map[byte]string{0x02: "resource.new", 0x03: "resource.drop", 0x04: "resource.rep", 0x07: "resource.drop async"}[op]
		c.CoreFuncs = append(c.CoreFuncs, CoreRef{Kind: name})
	default:
		return r.unknown("canon opcode (a canonical built-in of a newer proposal)", op)
	}
	return nil
}

func canonOpts(r *reader) error {
	return r.vec("canon option count", 1, func() error {
		o, err := r.byte("canon option")
		if err != nil {
			return err
		}
		switch o {
		case 0x00, 0x01, 0x02, 0x06:
			return nil
		case 0x03, 0x04, 0x05, 0x07:
			_, err := r.u32("canon option index")
			return err
		}
		return r.unknown("canon option", o)
	})
}
