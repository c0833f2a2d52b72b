package preinit

import (
	"fmt"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// Names of the exports the instrumented copy adds. The prefix keeps them
// apart from the module's own exports (checked in instrument).
const (
	exportPrefix    = "__wrun_preinit_"
	memoryExport    = exportPrefix + "memory"
	globalExport    = exportPrefix + "global_%d"
	tableSizeExport = exportPrefix + "table_size_%d"
	tableGetExport  = exportPrefix + "table_get_%d"
)

var elemTypeByte = map[wasmbin.ValType]byte{"funcref": 0x70, "externref": 0x6f}

// instrument returns a copy of the module that exports its memory, every
// mutable global and, per table, a function returning the table's size and
// one returning an element, so the table can be compared before and after
// the init. m is not changed.
func instrument(m *wasmbin.Module, info *moduleInfo) ([]byte, error) {
	for _, e := range info.exports {
		if len(e.Name) >= len(exportPrefix) && e.Name[:len(exportPrefix)] == exportPrefix {
			return nil, fmt.Errorf("%w: export %q uses the prefix %q reserved for pre-initialization", ErrUnsupported, e.Name, exportPrefix)
		}
	}
	c := &wasmbin.Module{Version: m.Version, Sections: append([]wasmbin.Section(nil), m.Sections...)}
	exports := append([]wasmbin.Export(nil), info.exports...)
	if info.memory != nil {
		exports = append(exports, wasmbin.Export{Name: memoryExport, Kind: wasmbin.KindMemory, Index: 0})
	}
	for i, g := range info.globals {
		if g.Type.Mutable {
			exports = append(exports, wasmbin.Export{Name: fmt.Sprintf(globalExport, i), Kind: wasmbin.KindGlobal, Index: uint32(i)})
		}
	}
	if len(info.tables) > 0 {
		// Types: [] -> [i32], then per table [i32] -> [elem].
		var types, funcs, code []byte
		sizeType := info.numTypes
		types = append(types, 0x60, 0, 1, 0x7f)
		nextType := sizeType + 1
		nextFunc := uint32(len(info.funcImports)) + info.numFuncs
		for t, tt := range info.tables {
			types = append(types, 0x60, 1, 0x7f, 1, elemTypeByte[tt.Elem])
			// table.size t
			body := wasmbin.AppendU32([]byte{0x00, 0xfc, 0x10}, uint32(t))
			body = append(body, 0x0b)
			code = wasmbin.AppendU32(code, uint32(len(body)))
			code = append(code, body...)
			// local.get 0; table.get t
			body = wasmbin.AppendU32([]byte{0x00, 0x20, 0x00, 0x25}, uint32(t))
			body = append(body, 0x0b)
			code = wasmbin.AppendU32(code, uint32(len(body)))
			code = append(code, body...)
			funcs = wasmbin.AppendU32(funcs, sizeType)
			funcs = wasmbin.AppendU32(funcs, nextType)
			exports = append(exports,
				wasmbin.Export{Name: fmt.Sprintf(tableSizeExport, t), Kind: wasmbin.KindFunc, Index: nextFunc},
				wasmbin.Export{Name: fmt.Sprintf(tableGetExport, t), Kind: wasmbin.KindFunc, Index: nextFunc + 1})
			nextType++
			nextFunc += 2
		}
		n := uint32(len(info.tables))
		for _, add := range []struct {
			id      wasmbin.SectionID
			n       uint32
			entries []byte
		}{
			{wasmbin.SectionType, n + 1, types},
			{wasmbin.SectionFunction, 2 * n, funcs},
			{wasmbin.SectionCode, 2 * n, code},
		} {
			var payload []byte
			base := 0
			if s := c.Section(add.id); s != nil {
				payload, base = s.Payload, s.PayloadOffset
			}
			p, err := wasmbin.AppendVector(payload, base, add.n, add.entries)
			if err != nil {
				return nil, err
			}
			c.SetSection(add.id, p)
		}
	}
	c.SetSection(wasmbin.SectionExport, wasmbin.EncodeExports(exports))
	return c.Encode(), nil
}
