package component

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wrun-dev/wrun/internal/printable"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// Preview1 is the import module name of WASI preview 1.
const Preview1 = "wasi_snapshot_preview1"

// Roles of the core modules of a p1-adapted component.
const (
	RoleMain    = "main"    // the WASI preview 1 program
	RoleAdapter = "adapter" // wasi_snapshot_preview1 implemented on WASI 0.2
	RoleShim    = "shim"    // indirect-call table breaking the main/adapter cycle
	RoleFixups  = "fixups"  // fills the shim's table with the adapter's functions
)

// Kind is what a component is, as far as running it goes.
type Kind int

const (
	// P1Command is a WASI preview 1 command module wrapped with the
	// preview 1 adapter: wrun runs its main module.
	P1Command Kind = iota + 1
	// P1Reactor is a WASI preview 1 module wrapped with the adapter that
	// does not export wasi:cli/run (a library).
	P1Reactor
	// NativeCommand is a component exporting wasi:cli/run built
	// otherwise (its core code calls WASI 0.2 through the canonical ABI).
	NativeCommand
	// HTTPProxy is a component exporting wasi:http/incoming-handler.
	HTTPProxy
	// Library is any other component.
	Library
)

// Shape is the result of Classify.
type Shape struct {
	Kind Kind
	// Roles is the role of each core module (by index), "" when none.
	Roles []string
	// Main is the main module of a p1-adapted component.
	Main *Module
	// Why says why a component that looks p1-adapted is not taken as one.
	Why string
}

// Runnable reports whether wrun can run the component (by its main module).
func (s *Shape) Runnable() bool { return s.Kind == P1Command }

// Describe is a short description of the kind, for messages.
func (s *Shape) Describe() string {
	switch s.Kind {
	case P1Command:
		return "a WASI preview 1 command wrapped as a component by the wasi_snapshot_preview1 adapter"
	case P1Reactor:
		return "a WASI preview 1 library (reactor) wrapped as a component by the adapter: it does not export wasi:cli/run, so it is not a command"
	case NativeCommand:
		return "a native WASI 0.2 command component (its code calls WASI 0.2 through the canonical ABI)"
	case HTTPProxy:
		return "a native WASI 0.2 HTTP proxy component (it exports wasi:http/incoming-handler, it is not a command)"
	}
	return "a library component (it does not export wasi:cli/run, so it is not a command)"
}

// WASIImports lists the wasi:* interfaces the component imports, sorted.
func (c *Component) WASIImports() []string {
	var out []string
	seen := map[string]bool{}
	for _, im := range c.Imports {
		if im.IsWASI() && !seen[im.Name] {
			seen[im.Name] = true
			out = append(out, im.Name)
		}
	}
	slices.Sort(out)
	return out
}

// exportsPrefix returns the first export whose name starts with p.
func (c *Component) exportsPrefix(p string) (Extern, bool) {
	for _, e := range c.Exports {
		if strings.HasPrefix(e.Name, p) {
			return e, true
		}
	}
	return Extern{}, false
}

// Classify tells what kind of component c is, and for a p1-adapted one
// which core module is which. A component is p1-adapted only if its shape
// is exactly the one wit-component makes: four core modules (main,
// adapter, shim, fixups), no nested component, nothing undecoded, and the
// core instantiations wiring every preview 1 import of the main module
// through the shim to the adapter's export of the same name.
func Classify(c *Component) *Shape {
	s := &Shape{Roles: make([]string, len(c.Modules))}
	main, why := c.p1Shape(s)
	_, run := c.exportsPrefix("wasi:cli/run@")
	_, http := c.exportsPrefix("wasi:http/incoming-handler@")
	switch {
	case main != nil && run:
		s.Kind, s.Main = P1Command, main
	case main != nil:
		s.Kind = P1Reactor
	case run:
		s.Kind = NativeCommand
	case http:
		s.Kind = HTTPProxy
	default:
		s.Kind = Library
	}
	if main == nil {
		s.Why = why
	}
	return s
}

func (c *Component) p1Shape(s *Shape) (*Module, string) {
	if len(c.Undecoded) > 0 {
		return nil, "it uses encodings wrun does not decode: " + c.Undecoded[0]
	}
	for i, sub := range c.Components {
		// wit-component exports an instance through a nested component
		// holding only types and a re-export of imported functions.
		if len(sub.Modules)+len(sub.Components)+len(sub.CoreInstances)+len(sub.CoreFuncs)+len(sub.Undecoded) > 0 {
			return nil, fmt.Sprintf("its nested component %d holds code", i)
		}
	}
	idx := map[string]int{}
	for i, m := range c.Modules {
		if m.Err != nil || m.Bytes == nil {
			return nil, fmt.Sprintf("core module %d is %v", i, m.Err)
		}
		role := m.role()
		if role == "" {
			continue
		}
		if _, dup := idx[role]; dup {
			return nil, "it has more than one core module shaped like a " + role + " module"
		}
		idx[role] = i
		s.Roles[i] = role
	}
	if len(c.Modules) != 4 || len(idx) != 4 {
		if _, ok := idx[RoleMain]; !ok {
			return nil, "no core module imports only wasi_snapshot_preview1"
		}
		return nil, fmt.Sprintf("it has %d core modules, %d of them main, adapter, shim and fixups", len(c.Modules), len(idx))
	}
	if why := c.p1Wiring(idx); why != "" {
		return nil, why
	}
	return c.Modules[idx[RoleMain]], ""
}

// role tells the role of a core module by its imports and exports.
func (m *Module) role() string {
	has := func(name string, k wasmbin.ExternKind) bool {
		for _, e := range m.Exports {
			if e.Name == name && e.Kind == k {
				return true
			}
		}
		return false
	}
	allFrom := func(mods ...string) bool {
		for _, im := range m.Imports {
			if !slices.Contains(mods, im.Module) {
				return false
			}
		}
		return true
	}
	switch {
	case len(m.Imports) > 0 && allFrom(Preview1) && has("memory", wasmbin.KindMemory):
		for _, im := range m.Imports {
			if im.Kind != wasmbin.KindFunc {
				return ""
			}
		}
		return RoleMain
	case len(m.Imports) == 0 && has("$imports", wasmbin.KindTable):
		return RoleShim
	case len(m.Imports) > 0 && len(m.Exports) == 0 && allFrom("actual", "shim"):
		return RoleFixups
	}
	wasi := false
	for _, im := range m.Imports {
		if im.Module == "__main_module__" {
			return RoleAdapter
		}
		wasi = wasi || strings.HasPrefix(im.Module, "wasi:")
	}
	if wasi && has("cabi_import_realloc", wasmbin.KindFunc) { // the reactor adapter
		return RoleAdapter
	}
	return ""
}

// instantiation returns the one core instance instantiating module mi.
func (c *Component) instantiation(mi int) (int, string) {
	found := -1
	for i, in := range c.CoreInstances {
		if in.Module == mi {
			if found >= 0 {
				return -1, fmt.Sprintf("core module %d is instantiated more than once", mi)
			}
			found = i
		}
	}
	if found < 0 {
		return -1, fmt.Sprintf("core module %d is never instantiated", mi)
	}
	return found, ""
}

func (c *Component) arg(in CoreInstance, name string) (CoreInstance, int, bool) {
	for _, a := range in.Args {
		if a.Name == name {
			return c.CoreInstances[a.Instance], int(a.Instance), true
		}
	}
	return CoreInstance{}, -1, false
}

// coreFuncAlias returns the core instance and export name core function f
// aliases, or ok false.
func (c *Component) coreFuncAlias(f uint32) (inst uint32, name string, ok bool) {
	if int64(f) >= int64(len(c.CoreFuncs)) || c.CoreFuncs[f].Kind != "alias" {
		return 0, "", false
	}
	return c.CoreFuncs[f].Instance, c.CoreFuncs[f].Name, true
}

// p1Wiring checks the core instantiations of a p1-adapted component: ""
// when they are exactly the adapter's wiring, else why not.
func (c *Component) p1Wiring(idx map[string]int) string {
	inst := map[string]int{}
	for role, mi := range idx {
		i, why := c.instantiation(mi)
		if why != "" {
			return why
		}
		inst[role] = i
	}
	main := c.Modules[idx[RoleMain]]
	adapter := c.Modules[idx[RoleAdapter]]
	shimIn, mainIn, adIn, fixIn := c.CoreInstances[inst[RoleShim]], c.CoreInstances[inst[RoleMain]], c.CoreInstances[inst[RoleAdapter]], c.CoreInstances[inst[RoleFixups]]
	if len(shimIn.Args) != 0 {
		return "the shim module is instantiated with arguments"
	}
	// main ← { wasi_snapshot_preview1: shim exports }
	if len(mainIn.Args) != 1 || mainIn.Args[0].Name != Preview1 {
		return "the main module is not instantiated with exactly one argument, wasi_snapshot_preview1"
	}
	// A module may import one function more than once: wit-component
	// then renames the later imports "NAME [v2]", ... (see BaseName).
	// Maps throughout: the counts come from the input.
	var imports []wasmbin.Import
	seen := map[string]bool{}
	for _, im := range main.Imports {
		if !seen[im.Name] {
			seen[im.Name] = true
			imports = append(imports, im)
		}
	}
	base := map[string]string{} // shim export → base name
	p1 := c.CoreInstances[mainIn.Args[0].Instance]
	if p1.Module != -1 || len(p1.Exports) != len(imports) {
		return "the main module's wasi_snapshot_preview1 instance does not export exactly its imports"
	}
	viaShim := map[string]string{} // shim export → preview 1 name
	p1Exports := map[string]*CoreExport{}
	for k := range p1.Exports {
		p1Exports[p1.Exports[k].Name] = &p1.Exports[k]
	}
	adapterFuncs := map[string]bool{}
	for _, e := range adapter.Exports {
		if e.Kind == wasmbin.KindFunc {
			adapterFuncs[e.Name] = true
		}
	}
	for _, im := range imports {
		e := p1Exports[im.Name]
		if e == nil || e.Sort != SortFunc {
			return fmt.Sprintf("the main module's import %s is not wired", printable.String(im.Name))
		}
		in, name, ok := c.coreFuncAlias(e.Index)
		if !ok || int(in) != inst[RoleShim] {
			return fmt.Sprintf("the main module's import %s does not come from the shim", printable.String(im.Name))
		}
		b := BaseName(im.Name)
		if prev, dup := base[name]; dup && prev != b {
			return fmt.Sprintf("shim entry %s is wired to two imports", printable.String(name))
		}
		base[name] = b
		viaShim[name] = b
		if !adapterFuncs[b] {
			return fmt.Sprintf("the adapter does not export %s, which the main module imports", printable.String(im.Name))
		}
	}
	// fixups ← { actual: adapter exports by the same names, shim: shim }
	actual, _, ok := c.arg(fixIn, "actual")
	if _, si, ok2 := c.arg(fixIn, "shim"); !ok || !ok2 || si != inst[RoleShim] || actual.Module != -1 {
		return "the fixups module is not instantiated with the shim and the actual functions"
	}
	filled := map[string]int{}
	for _, e := range actual.Exports {
		p1Name, wired := viaShim[e.Name]
		if !wired {
			continue
		}
		in, name, ok := c.coreFuncAlias(e.Index)
		if !ok || int(in) != inst[RoleAdapter] || name != p1Name || e.Sort != SortFunc {
			return fmt.Sprintf("shim entry %s (%s) is not filled with the adapter's %s", printable.String(e.Name), printable.String(p1Name), printable.String(p1Name))
		}
		filled[e.Name]++
	}
	for shimName, p1Name := range viaShim {
		if filled[shimName] != 1 {
			return fmt.Sprintf("shim entry %s (%s) is filled %d times, not once", printable.String(shimName), printable.String(p1Name), filled[shimName])
		}
	}
	// adapter ← { __main_module__: main's _start, env: main's memory }
	mm, _, ok := c.arg(adIn, "__main_module__")
	if importsModule(adapter, "__main_module__") && (!ok || mm.Module != -1) {
		return "the adapter is not instantiated with the main module's exports"
	}
	for _, e := range mm.Exports {
		in, _, ok := c.coreFuncAlias(e.Index)
		if e.Sort != SortFunc || !ok || int(in) != inst[RoleMain] {
			return fmt.Sprintf("the adapter's __main_module__ %s is not the main module's", printable.String(e.Name))
		}
	}
	if env, _, ok := c.arg(adIn, "env"); ok {
		for _, e := range env.Exports {
			if e.Sort != SortMemory || int64(e.Index) >= int64(len(c.CoreMemories)) {
				return "the adapter's env instance exports something other than a memory"
			}
			m := c.CoreMemories[e.Index]
			if m.Kind != "alias" || int(m.Instance) != inst[RoleMain] {
				return "the adapter's memory is not the main module's"
			}
		}
	}
	// run: a lift of the adapter's wasi:cli/run export, when exported.
	if run, ok := c.exportsPrefix("wasi:cli/run@"); ok {
		want := run.Name + "#run"
		lifted := false
		for _, f := range c.Funcs {
			if f.Kind != "lift" {
				continue
			}
			if in, name, ok := c.coreFuncAlias(f.Core); ok && int(in) == inst[RoleAdapter] && name == want {
				lifted = true
			}
		}
		if !lifted {
			return fmt.Sprintf("its %s export is not the adapter's %s", printable.String(run.Name), printable.String(want))
		}
	}
	return ""
}

func importsModule(m *Module, name string) bool {
	for _, im := range m.Imports {
		if im.Module == name {
			return true
		}
	}
	return false
}

// BaseName is the preview 1 function an import of the main module names:
// wit-component renames the second and later imports of one function
// "NAME [v2]", "NAME [v3]", ..., so that the instance exporting them has
// distinct names.
func BaseName(name string) string {
	i := strings.LastIndex(name, " [v")
	if i <= 0 || !strings.HasSuffix(name, "]") {
		return name
	}
	n := name[i+3 : len(name)-1]
	if n == "" || strings.Trim(n, "0123456789") != "" || n[0] == '0' {
		return name
	}
	return name[:i]
}

// Core returns the main module of a p1-adapted component as the WASI
// preview 1 program it was: import names wit-component made distinct
// ("fd_write [v2]") are given back their function's name. It is the
// module's bytes themselves when nothing was renamed.
func (s *Shape) Core() ([]byte, error) {
	m := s.Main
	renamed := false
	for _, im := range m.Imports {
		renamed = renamed || BaseName(im.Name) != im.Name
	}
	if !renamed {
		return m.Bytes, nil
	}
	mm, err := wasmbin.Parse(m.Bytes)
	if err != nil {
		return nil, err
	}
	payload := wasmbin.AppendU32(nil, uint32(len(m.Imports)))
	for _, im := range m.Imports {
		if im.Kind != wasmbin.KindFunc {
			return nil, fmt.Errorf("import %s is not a function", printable.String(im.Name))
		}
		payload = appendName(payload, im.Module)
		payload = appendName(payload, BaseName(im.Name))
		payload = wasmbin.AppendU32(append(payload, byte(wasmbin.KindFunc)), im.Index)
	}
	mm.SetSection(wasmbin.SectionImport, payload)
	return mm.Encode(), nil
}

func appendName(b []byte, s string) []byte {
	return append(wasmbin.AppendU32(b, uint32(len(s))), s...)
}
