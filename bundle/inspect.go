package bundle

import (
	"fmt"
	"io"
	"os"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// WasmInfo summarizes a wasm binary for `wrun inspect`.
type WasmInfo struct {
	Component bool          `json:"component"`
	Size      int64         `json:"size"`
	Sections  []SectionInfo `json:"sections"`
	Imports   []WasmImport  `json:"imports,omitempty"`
	Exports   []WasmExport  `json:"exports,omitempty"`
	Memories  []WasmLimits  `json:"memories,omitempty"`
	Types     int           `json:"types"`
	Metadata  *WasmMetadata `json:"metadata,omitempty"`
	Digest    Digest        `json:"digest"`
	Canonical Digest        `json:"canonicalDigest"`
	Segments  int           `json:"dataSegments"`
}

// WasmImport is one import of a core module.
type WasmImport struct {
	Module, Name string
	// Kind is "func", "table", "memory", "global" or "tag" ("kind-N" for
	// a kind this version does not know).
	Kind string
	// Index is the type index of a function or tag import.
	Index  uint32          `json:",omitempty"`
	Table  *WasmTableType  `json:",omitempty"`
	Memory *WasmLimits     `json:",omitempty"`
	Global *WasmGlobalType `json:",omitempty"`
}

// WasmExport is one export of a core module: its name, its kind (as in
// WasmImport) and the index of what it exports in that kind's index space.
type WasmExport struct {
	Name  string
	Kind  string
	Index uint32
}

// WasmLimits are the limits of a memory or table, in pages or elements.
type WasmLimits struct {
	Min    uint64
	Max    *uint64 `json:",omitempty"`
	Shared bool    `json:",omitempty"`
	Is64   bool    `json:",omitempty"` // memory64 / table64
	// PageSizeLog2 is set by the custom-page-sizes proposal.
	PageSizeLog2 *uint32 `json:",omitempty"`
}

// String renders the limits as "MIN..MAX" with "i64 " and " shared"
// when they apply.
func (l WasmLimits) String() string { return wasmbin.Limits(l).String() }

// WasmTableType is an imported table's element type ("funcref",
// "externref", …) and limits.
type WasmTableType struct {
	Elem   string
	Limits WasmLimits
}

// WasmGlobalType is an imported global's value type ("i32", "f64", …) and
// mutability.
type WasmGlobalType struct {
	ValType string
	Mutable bool
}

func wasmImports(in []wasmbin.Import) []WasmImport {
	out := make([]WasmImport, len(in))
	for i, im := range in {
		out[i] = WasmImport{Module: im.Module, Name: im.Name, Kind: im.Kind.String(), Index: im.Index}
		if t := im.Table; t != nil {
			out[i].Table = &WasmTableType{Elem: string(t.Elem), Limits: WasmLimits(t.Limits)}
		}
		if m := im.Memory; m != nil {
			l := WasmLimits(*m)
			out[i].Memory = &l
		}
		if g := im.Global; g != nil {
			out[i].Global = &WasmGlobalType{ValType: string(g.ValType), Mutable: g.Mutable}
		}
	}
	return out
}

func wasmExports(in []wasmbin.Export) []WasmExport {
	out := make([]WasmExport, len(in))
	for i, e := range in {
		out[i] = WasmExport{Name: e.Name, Kind: e.Kind.String(), Index: e.Index}
	}
	return out
}

// SectionInfo is one section: its readable name, offset and size.
type SectionInfo struct {
	Name   string `json:"name"`
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
}

// InspectWasm decodes what `wrun inspect` shows of a wasm. Sections it
// cannot decode are listed but not summarized.
func InspectWasm(wasm []byte) (*WasmInfo, error) {
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return nil, err
	}
	if err := CheckWasm(wasm); err != nil {
		return nil, err
	}
	info := &WasmInfo{Component: m.IsComponent(), Size: int64(len(wasm))}
	for i := range m.Sections {
		s := &m.Sections[i]
		info.Sections = append(info.Sections, SectionInfo{Name: m.SectionName(s), Offset: s.Offset, Size: len(s.Payload)})
	}
	if !m.IsComponent() {
		if s := m.Section(wasmbin.SectionImport); s != nil {
			imports, err := wasmbin.DecodeImports(s.Payload, s.PayloadOffset)
			if err != nil {
				return nil, err
			}
			info.Imports = wasmImports(imports)
		}
		if s := m.Section(wasmbin.SectionExport); s != nil {
			exports, err := wasmbin.DecodeExports(s.Payload, s.PayloadOffset)
			if err != nil {
				return nil, err
			}
			info.Exports = wasmExports(exports)
		}
		if s := m.Section(wasmbin.SectionMemory); s != nil {
			mems, err := wasmbin.DecodeMemories(s.Payload, s.PayloadOffset)
			if err != nil {
				return nil, err
			}
			for _, m := range mems {
				info.Memories = append(info.Memories, WasmLimits(m))
			}
		}
		if s := m.Section(wasmbin.SectionType); s != nil {
			t, err := wasmbin.DecodeTypes(s.Payload, s.PayloadOffset)
			if err != nil {
				return nil, err
			}
			info.Types = len(t)
		}
		if s := m.Section(wasmbin.SectionData); s != nil {
			d, err := wasmbin.DecodeData(s.Payload, s.PayloadOffset)
			if err != nil {
				return nil, err
			}
			info.Segments = len(d.Segments)
		}
	}
	if info.Metadata, err = ReadMetadata(wasm); err != nil {
		return nil, err
	}
	if info.Digest, err = WasmDigest(wasm); err != nil {
		return nil, err
	}
	if info.Canonical, err = CanonicalWasmDigest(wasm); err != nil {
		return nil, err
	}
	return info, nil
}

// PathKind is what a path given on the command line holds.
type PathKind int

// Path kinds, as DetectPath tells them apart.
const (
	PathPackageDir PathKind = iota // a directory with wrun.toml
	PathDir                        // any other directory
	PathWasm                       // a file starting with the Wasm magic number
	PathBundle                     // any other file: a bundle
)

// DetectPath tells what name is by looking at it (not at its extension).
func DetectPath(name string) (PathKind, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	if fi.IsDir() {
		if _, err := os.Stat(name + string(os.PathSeparator) + ManifestName); err == nil {
			return PathPackageDir, nil
		}
		return PathDir, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [8]byte
	n, _ := io.ReadFull(f, h[:])
	if wasmbin.Sniff(h[:n]) != wasmbin.NotWasm {
		return PathWasm, nil
	}
	return PathBundle, nil
}

// Load opens a package from a directory with wrun.toml or a bundle file.
func Load(name string) (*Package, error) {
	kind, err := DetectPath(name)
	if err != nil {
		return nil, err
	}
	switch kind {
	case PathPackageDir:
		return LoadDir(name)
	case PathBundle:
		return OpenFile(name)
	case PathDir:
		return nil, fmt.Errorf("%s: %w: a package directory needs %s at its root", name, ErrMissingFile, ManifestName)
	}
	return nil, fmt.Errorf("%s is a wasm binary, not a package (run it directly, or give it a %s)", name, ManifestName)
}

// DigestPath is the content digest of a package directory, any other
// directory (every regular file), a .wasm (WasmDigest) or a bundle.
func DigestPath(name string) (Digest, error) {
	kind, err := DetectPath(name)
	if err != nil {
		return Digest{}, err
	}
	switch kind {
	case PathDir:
		return DigestDir(name)
	case PathWasm:
		b, err := os.ReadFile(name)
		if err != nil {
			return Digest{}, err
		}
		d, err := WasmDigest(b)
		if err != nil {
			return Digest{}, fmt.Errorf("%s: %w", name, err)
		}
		return d, nil
	}
	p, err := Load(name)
	if err != nil {
		return Digest{}, err
	}
	defer p.Close()
	return p.Digest(), nil
}
