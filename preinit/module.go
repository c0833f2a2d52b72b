package preinit

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// wasiModule is the import module name of WASI preview 1.
const wasiModule = "wasi_snapshot_preview1"

// funcImport is one imported function and its signature.
type funcImport struct {
	module, name    string
	params, results []api.ValueType
}

// moduleInfo is what pre-initialization needs to know about the input.
type moduleInfo struct {
	funcImports []funcImport
	numFuncs    uint32 // defined functions
	numTypes    uint32 // defined types
	globals     []wasmbin.Global
	memory      *wasmbin.Limits
	tables      []wasmbin.TableType
	exports     []wasmbin.Export
	hasData     bool
}

var apiTypes = map[wasmbin.ValType]api.ValueType{
	"i32": api.ValueTypeI32, "i64": api.ValueTypeI64, "f32": api.ValueTypeF32, "f64": api.ValueTypeF64,
	"externref": api.ValueTypeExternref,
}

// snapshotTypes are the value types of mutable globals a snapshot captures.
var snapshotTypes = map[wasmbin.ValType]bool{"i32": true, "i64": true, "f32": true, "f64": true}

// analyze decodes the sections pre-initialization reads and refuses what it
// cannot snapshot.
func analyze(m *wasmbin.Module) (*moduleInfo, error) {
	if m.IsComponent() {
		return nil, fmt.Errorf("%w: the input is a component; pre-initialize its core module instead", ErrUnsupported)
	}
	info := &moduleInfo{}
	var types []wasmbin.TypeEntry
	if s := m.Section(wasmbin.SectionType); s != nil {
		var err error
		if types, err = wasmbin.DecodeTypes(s.Payload, s.PayloadOffset); err != nil {
			return nil, err
		}
		info.numTypes = uint32(len(types))
	}
	if s := m.Section(wasmbin.SectionFunction); s != nil {
		n, _, err := wasmbin.DecodeU32(s.Payload)
		if err != nil {
			return nil, &wasmbin.Error{Offset: s.PayloadOffset, What: "function count", Err: err}
		}
		info.numFuncs = n
	}
	if s := m.Section(wasmbin.SectionExport); s != nil {
		exports, err := wasmbin.DecodeExports(s.Payload, s.PayloadOffset)
		if err != nil {
			return nil, err
		}
		info.exports = exports
	}
	for _, step := range []func(*wasmbin.Module) error{
		func(m *wasmbin.Module) error { return info.readImports(m, types) },
		info.readGlobals,
		info.readMemory,
		info.readTables,
		info.readData,
	} {
		if err := step(m); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// readImports records the imported functions with their signatures and
// refuses imported state (memories, globals, tables): the snapshot could
// not include it.
func (info *moduleInfo) readImports(m *wasmbin.Module, types []wasmbin.TypeEntry) error {
	s := m.Section(wasmbin.SectionImport)
	if s == nil {
		return nil
	}
	imports, err := wasmbin.DecodeImports(s.Payload, s.PayloadOffset)
	if err != nil {
		return err
	}
	for _, im := range imports {
		switch im.Kind {
		case wasmbin.KindFunc:
			fi, err := importSignature(im, types)
			if err != nil {
				return err
			}
			info.funcImports = append(info.funcImports, fi)
		case wasmbin.KindMemory, wasmbin.KindGlobal, wasmbin.KindTable:
			return fmt.Errorf("%w: the module imports %s %q.%q; only a module that defines its own memories, globals and tables can be pre-initialized",
				ErrImportedState, im.Kind, im.Module, im.Name)
		default:
			return fmt.Errorf("%w: the module imports %s %q.%q", ErrUnsupported, im.Kind, im.Module, im.Name)
		}
	}
	return nil
}

// readGlobals records the globals; a mutable one must have a type the
// snapshot can capture.
func (info *moduleInfo) readGlobals(m *wasmbin.Module) error {
	s := m.Section(wasmbin.SectionGlobal)
	if s == nil {
		return nil
	}
	globals, err := wasmbin.DecodeGlobals(s.Payload, s.PayloadOffset)
	if err != nil {
		return err
	}
	for i, g := range globals {
		if g.Type.Mutable && !snapshotTypes[g.Type.ValType] {
			return fmt.Errorf("%w: mutable global %d has type %s; only i32, i64, f32 and f64 globals can be snapshotted",
				ErrUnsupported, i, g.Type.ValType)
		}
	}
	info.globals = globals
	return nil
}

// readMemory records the memory: at most one, 32-bit, unshared, with the
// default page size.
func (info *moduleInfo) readMemory(m *wasmbin.Module) error {
	s := m.Section(wasmbin.SectionMemory)
	if s == nil {
		return nil
	}
	mems, err := wasmbin.DecodeMemories(s.Payload, s.PayloadOffset)
	if err != nil {
		return err
	}
	switch {
	case len(mems) > 1:
		return fmt.Errorf("%w: the module defines %d memories; at most one is supported", ErrUnsupported, len(mems))
	case len(mems) == 1 && (mems[0].Is64 || mems[0].Shared || mems[0].PageSizeLog2 != nil):
		return fmt.Errorf("%w: memory %s (64-bit, shared or custom page size)", ErrUnsupported, mems[0])
	case len(mems) == 1:
		info.memory = &mems[0]
	}
	return nil
}

// readTables records the tables: 32-bit funcref or externref ones.
func (info *moduleInfo) readTables(m *wasmbin.Module) error {
	s := m.Section(wasmbin.SectionTable)
	if s == nil {
		return nil
	}
	tables, err := wasmbin.DecodeTables(s.Payload, s.PayloadOffset)
	if err != nil {
		return err
	}
	for i, t := range tables {
		if t.Elem != "funcref" && t.Elem != "externref" {
			return fmt.Errorf("%w: table %d has element type %s; only funcref and externref tables are supported",
				ErrUnsupported, i, t.Elem)
		}
		if t.Limits.Is64 {
			return fmt.Errorf("%w: table %d is a 64-bit table", ErrUnsupported, i)
		}
	}
	info.tables = tables
	return nil
}

// readData notes whether there are data segments; a passive one is
// refused (memory.init and data.drop would refer to segments the snapshot
// replaces).
func (info *moduleInfo) readData(m *wasmbin.Module) error {
	s := m.Section(wasmbin.SectionData)
	if s == nil {
		return nil
	}
	data, err := wasmbin.DecodeData(s.Payload, s.PayloadOffset)
	if err != nil {
		return err
	}
	for i, seg := range data.Segments {
		if seg.Passive {
			return fmt.Errorf("%w: data segment %d is passive; memory.init and data.drop would refer to segments the snapshot replaces",
				ErrUnsupported, i)
		}
	}
	info.hasData = true
	return nil
}

func importSignature(im wasmbin.Import, types []wasmbin.TypeEntry) (funcImport, error) {
	fi := funcImport{module: im.Module, name: im.Name}
	if int(im.Index) >= len(types) || types[im.Index].Func == nil {
		return fi, fmt.Errorf("%w: function import %q.%q has type index %d, which is not a function type",
			wasmbin.ErrMalformed, im.Module, im.Name, im.Index)
	}
	conv := func(vs []wasmbin.ValType) ([]api.ValueType, error) {
		out := make([]api.ValueType, len(vs))
		for i, v := range vs {
			t, ok := apiTypes[v]
			if !ok {
				return nil, fmt.Errorf("%w: function import %q.%q uses value type %s", ErrUnsupported, im.Module, im.Name, v)
			}
			out[i] = t
		}
		return out, nil
	}
	var err error
	f := types[im.Index].Func
	if fi.params, err = conv(f.Params); err != nil {
		return fi, err
	}
	fi.results, err = conv(f.Results)
	return fi, err
}

// export returns the export with the name and kind, or nil.
func (info *moduleInfo) export(name string, kind wasmbin.ExternKind) *wasmbin.Export {
	for i := range info.exports {
		if e := &info.exports[i]; e.Name == name && e.Kind == kind {
			return e
		}
	}
	return nil
}
