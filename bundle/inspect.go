package bundle

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// WasmInfo summarizes a wasm binary for `wrun inspect`.
type WasmInfo struct {
	Component bool             `json:"component"`
	Size      int64            `json:"size"`
	Sections  []SectionInfo    `json:"sections"`
	Imports   []wasmbin.Import `json:"imports,omitempty"`
	Exports   []wasmbin.Export `json:"exports,omitempty"`
	Memories  []wasmbin.Limits `json:"memories,omitempty"`
	Types     int              `json:"types"`
	Metadata  *WasmMetadata    `json:"metadata,omitempty"`
	Digest    Digest           `json:"digest"`
	Canonical Digest           `json:"canonicalDigest"`
	Segments  int              `json:"dataSegments"`
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
			if info.Imports, err = wasmbin.DecodeImports(s.Payload, s.PayloadOffset); err != nil {
				return nil, err
			}
		}
		if s := m.Section(wasmbin.SectionExport); s != nil {
			if info.Exports, err = wasmbin.DecodeExports(s.Payload, s.PayloadOffset); err != nil {
				return nil, err
			}
		}
		if s := m.Section(wasmbin.SectionMemory); s != nil {
			if info.Memories, err = wasmbin.DecodeMemories(s.Payload, s.PayloadOffset); err != nil {
				return nil, err
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
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err == nil && bytes.Equal(magic[:], wasmbin.Magic[:]) {
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
