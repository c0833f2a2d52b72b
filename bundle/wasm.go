package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// WasmMetadata is the metadata a wasm carries in the custom sections
// `wasm-tools metadata` reads and writes: the module's (or component's)
// name from the "name" ("component-name") section, the producers section,
// and the raw UTF-8 sections authors, description, licenses, source,
// homepage, revision and version.
type WasmMetadata struct {
	Component   bool            `json:"component"`
	Name        string          `json:"name,omitempty"`
	Authors     string          `json:"authors,omitempty"`
	Description string          `json:"description,omitempty"`
	Licenses    string          `json:"licenses,omitempty"`
	Source      string          `json:"source,omitempty"`
	Homepage    string          `json:"homepage,omitempty"`
	Revision    string          `json:"revision,omitempty"`
	Version     string          `json:"version,omitempty"`
	Producers   []ProducerField `json:"producers,omitempty"`
}

// ProducerField is one field of a wasm's producers section ("language",
// "processed-by" or "sdk") with its values, in section order.
type ProducerField struct {
	Name   string          `json:"name"`
	Values []ProducerValue `json:"values"`
}

// ProducerValue is one entry of a producers field: a language or tool
// name and its version ("" when none is recorded).
type ProducerValue struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (md *WasmMetadata) field(section string) *string {
	switch section {
	case "authors":
		return &md.Authors
	case "description":
		return &md.Description
	case "licenses":
		return &md.Licenses
	case "source":
		return &md.Source
	case "homepage":
		return &md.Homepage
	case "revision":
		return &md.Revision
	case "version":
		return &md.Version
	}
	return nil
}

// componentNameSection is the custom section a component's name lives in.
const componentNameSection = "component-name"

// ReadMetadata reads a wasm's metadata custom sections (the outermost
// module or component only).
func ReadMetadata(wasm []byte) (*WasmMetadata, error) {
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return nil, err
	}
	md := &WasmMetadata{Component: m.IsComponent()}
	nameSec := "name"
	if md.Component {
		nameSec = componentNameSection
	}
	if s := m.Custom(nameSec); s != nil {
		if n, err := wasmbin.DecodeNames(s.Payload, s.PayloadOffset); err == nil && n.Module != nil {
			md.Name = *n.Module
		}
	}
	if s := m.Custom("producers"); s != nil {
		p, err := wasmbin.DecodeProducers(s.Payload, s.PayloadOffset)
		if err != nil {
			return nil, fmt.Errorf("producers section: %w", err)
		}
		for _, f := range p.Fields {
			pf := ProducerField{Name: f.Name, Values: make([]ProducerValue, len(f.Values))}
			for i, v := range f.Values {
				pf.Values[i] = ProducerValue(v)
			}
			md.Producers = append(md.Producers, pf)
		}
	}
	for _, name := range wasmbin.MetadataSections {
		if s := m.Custom(name); s != nil {
			if !utf8.Valid(s.Payload) {
				return nil, fmt.Errorf("%s section at offset %d: not valid UTF-8", name, s.Offset)
			}
			*md.field(name) = string(s.Payload)
		}
	}
	return md, nil
}

// MetadataEdit is what AddMetadata sets. Empty strings leave a section as
// it is; producer values are added to (or update) the producers section.
type MetadataEdit struct {
	Name, Authors, Description, Licenses, Source, Homepage, Revision, Version string
	Language, ProcessedBy, SDK                                                []ProducerValue
}

// AddMetadata returns wasm with the metadata sections set as
// `wasm-tools metadata add` sets them: a section that exists is replaced
// in place, a new one is appended at the end. Every other byte is kept.
func AddMetadata(wasm []byte, e MetadataEdit) ([]byte, error) {
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return nil, err
	}
	if e.Name != "" {
		sec := "name"
		if m.IsComponent() {
			sec = componentNameSection
		}
		n := &wasmbin.Names{}
		if s := m.Custom(sec); s != nil {
			if n, err = wasmbin.DecodeNames(s.Payload, s.PayloadOffset); err != nil {
				return nil, fmt.Errorf("%s section: %w", sec, err)
			}
		}
		n.Module = &e.Name
		m.SetCustom(sec, n.Encode())
	}
	if len(e.Language)+len(e.ProcessedBy)+len(e.SDK) > 0 {
		p := &wasmbin.Producers{}
		if s := m.Custom("producers"); s != nil {
			if p, err = wasmbin.DecodeProducers(s.Payload, s.PayloadOffset); err != nil {
				return nil, fmt.Errorf("producers section: %w", err)
			}
		}
		for _, f := range []struct {
			name string
			vals []ProducerValue
		}{{wasmbin.ProducerLanguage, e.Language}, {wasmbin.ProducerProcessedBy, e.ProcessedBy}, {wasmbin.ProducerSDK, e.SDK}} {
			for _, v := range f.vals {
				p.Add(f.name, v.Name, v.Version)
			}
		}
		m.SetCustom("producers", p.Encode())
	}
	src := WasmMetadata{Authors: e.Authors, Description: e.Description, Licenses: e.Licenses, Source: e.Source,
		Homepage: e.Homepage, Revision: e.Revision, Version: e.Version}
	for _, name := range wasmbin.MetadataSections {
		if v := *src.field(name); v != "" {
			m.SetCustom(name, []byte(v))
		}
	}
	return m.Encode(), nil
}

// FillFromWasm fills the [package] fields m leaves empty from a wasm's
// metadata: name (when it is a valid namespace:name), version (when it is
// a semantic version), description, authors, license (licenses), homepage
// and source.
func FillFromWasm(m *Manifest, md *WasmMetadata) {
	p := &m.Package
	if p.Name == "" && ValidateName(md.Name) == nil {
		p.Name = md.Name
	}
	if p.Version == "" && md.Version != "" {
		if _, err := semver.StrictNewVersion(md.Version); err == nil {
			p.Version = md.Version
		}
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&p.Description, md.Description)
	set(&p.License, md.Licenses)
	set(&p.Homepage, md.Homepage)
	set(&p.Source, md.Source)
	if len(p.Authors) == 0 && md.Authors != "" {
		p.Authors = []string{md.Authors}
	}
}

// Exploded wasm format. A wasm explodes into a directory of files:
//
//	layout.json          the preamble and every section in order
//	NNN-KIND.bin         a standard section's payload (NNN: its position)
//	NNN-custom-NAME.bin  a custom section's payload after its name
//	NNN-data/NNNNNN.bin  each data segment's bytes
//	NNN-core-module/     a component's nested core module, exploded
//	NNN-component/       a component's nested component, exploded
//
// layout.json keeps what the files do not: section ids and order, custom
// section names, each data segment's header (flags, memory and offset
// expression) in hex, and the width of any non-minimal LEB128 size. Assemble
// gives back the identical bytes. The content digest of a .wasm is defined
// as the content digest of its exploded files (WasmDigest), so it equals the
// digest of the directory `wrun wasm explode` writes.
const LayoutName = "layout.json"

// LayoutFormat identifies the layout.json format.
const LayoutFormat = "wrun-wasm-explode/1"

type layout struct {
	Format   string          `json:"format"`
	Version  string          `json:"version"`
	Sections []layoutSection `json:"sections"`
}

type layoutSection struct {
	ID         byte            `json:"id"`
	Kind       string          `json:"kind"`
	Name       *string         `json:"name,omitempty"`
	NameHex    string          `json:"nameHex,omitempty"`
	File       string          `json:"file,omitempty"`
	Dir        string          `json:"dir,omitempty"`
	Segments   []layoutSegment `json:"segments,omitempty"`
	CountWidth int             `json:"countWidth,omitempty"`
	SizeWidth  int             `json:"sizeWidth,omitempty"`
	NameWidth  int             `json:"nameWidth,omitempty"`
}

type layoutSegment struct {
	Head     string `json:"head"`
	File     string `json:"file"`
	LenWidth int    `json:"lenWidth,omitempty"`
}

// File is one file of an exploded wasm.
type File struct {
	Path string
	Data []byte
}

// Explode splits a wasm into the files of the exploded format. The files'
// data alias wasm. A binary of more than wasmbin.MaxSections sections, or
// one that would explode into more than MaxExplodeFiles files, is refused
// with an error wrapping wasmbin.ErrLimit.
func Explode(wasm []byte) ([]File, error) {
	n := 0
	return explode(wasm, 0, "", 0, &n)
}

const maxNesting = 16

// MaxExplodeFiles bounds the files Explode makes of one wasm (sections,
// data segments and layouts, nested binaries included), and so what
// `wrun wasm explode` writes and `wrun inspect` and WasmDigest hold.
const MaxExplodeFiles = 100000

func explode(wasm []byte, base int, prefix string, depth int, count *int) ([]File, error) {
	m, err := wasmbin.ParseAt(wasm, base)
	if err != nil {
		return nil, err
	}
	*count += len(m.Sections) + 1
	if *count > MaxExplodeFiles {
		return nil, fmt.Errorf("%w: the wasm would explode into more than %d files", wasmbin.ErrLimit, MaxExplodeFiles)
	}
	lay := layout{Format: LayoutFormat, Version: hex.EncodeToString(m.Version[:])}
	var files []File
	width := 3
	if len(m.Sections) > 999 {
		width = len(fmt.Sprint(len(m.Sections) - 1))
	}
	for i := range m.Sections {
		s := &m.Sections[i]
		kind := m.KindName(s.ID)
		ls := layoutSection{ID: byte(s.ID), Kind: kind, SizeWidth: s.SizeWidth, NameWidth: s.NameWidth}
		stem := fmt.Sprintf("%0*d-%s", width, i, kind)
		switch {
		case s.ID == wasmbin.SectionCustom:
			if utf8.ValidString(s.Name) {
				name := s.Name
				ls.Name = &name
			} else {
				ls.NameHex = hex.EncodeToString([]byte(s.Name))
			}
			ls.File = stem + "-" + fileSafe(s.Name) + ".bin"
			files = append(files, File{prefix + ls.File, s.Payload})
		case !m.IsComponent() && s.ID == wasmbin.SectionData:
			d, err := wasmbin.DecodeData(s.Payload, s.PayloadOffset)
			if err != nil { // malformed segments: kept whole
				ls.File = stem + ".bin"
				files = append(files, File{prefix + ls.File, s.Payload})
				break
			}
			if *count += len(d.Segments); *count > MaxExplodeFiles {
				return nil, fmt.Errorf("%w: the wasm would explode into more than %d files (data section of %d segments)", wasmbin.ErrLimit, MaxExplodeFiles, len(d.Segments))
			}
			ls.Dir, ls.CountWidth = stem, d.CountWidth
			for j, seg := range d.Segments {
				f := fmt.Sprintf("%s/%06d.bin", stem, j)
				ls.Segments = append(ls.Segments, layoutSegment{Head: hex.EncodeToString(seg.Head), File: f, LenWidth: seg.LenWidth})
				files = append(files, File{prefix + f, seg.Init})
			}
		case m.IsComponent() && (s.ID == wasmbin.ComponentSectionCoreModule || s.ID == wasmbin.ComponentSectionComponent) && depth < maxNesting:
			sub, err := explode(s.Payload, s.PayloadOffset, prefix+stem+"/", depth+1, count)
			if errors.Is(err, wasmbin.ErrLimit) {
				return nil, err
			}
			if err != nil {
				ls.File = stem + ".bin" // not a parseable binary: kept whole
				files = append(files, File{prefix + ls.File, s.Payload})
				break
			}
			ls.Dir = stem
			files = append(files, sub...)
		default:
			ls.File = stem + ".bin"
			files = append(files, File{prefix + ls.File, s.Payload})
		}
		lay.Sections = append(lay.Sections, ls)
	}
	lj, err := json.MarshalIndent(lay, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(files, File{prefix + LayoutName, append(lj, '\n')}), nil
}

// fileSafe maps a custom section name to a file name fragment: letters,
// digits, '.', '_' and '-' kept, other bytes as %XX, at most 64 bytes.
func fileSafe(name string) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < 64; i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// maxLayoutSize bounds layout.json.
const maxLayoutSize = 64 << 20

// Assemble reads an exploded wasm from fsys (rooted at the exploded
// directory) and returns the binary. Where fsys can tell links apart
// (fs.ReadLinkFS: os.DirFS, os.Root.FS), a file or directory reached
// through a symlink is refused, so an exploded directory cannot pull in
// files from elsewhere; use an os.Root's FS to be sure nothing outside is
// read. At most MaxExplodeFiles files are read.
func Assemble(fsys fs.FS) ([]byte, error) {
	n := 0
	return assemble(fsys, "", 0, &n)
}

func readFS(fsys fs.FS, name string, limit int64) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("%w: %q in %s", ErrInvalidPath, name, LayoutName)
	}
	if lfs, ok := fsys.(fs.ReadLinkFS); ok {
		for i := 0; i <= len(name); i++ {
			if i < len(name) && name[i] != '/' {
				continue
			}
			fi, err := lfs.Lstat(name[:i])
			if err != nil {
				return nil, err
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				return nil, fmt.Errorf("%w: %q is a symlink; an exploded wasm holds only regular files and directories", ErrInvalidPath, name[:i])
			}
			if i == len(name) && !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%w: %q is a %s, not a regular file", ErrInvalidPath, name, typeName(fi.Mode()))
			}
		}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", name, ErrTooLarge, limit)
	}
	return b, nil
}

func assemble(fsys fs.FS, dir string, depth int, count *int) ([]byte, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%s: components nested deeper than %d", dir, maxNesting)
	}
	lname := path.Join(dir, LayoutName)
	lb, err := readFS(fsys, lname, maxLayoutSize)
	if err != nil {
		return nil, err
	}
	var lay layout
	if err := json.Unmarshal(lb, &lay); err != nil {
		return nil, fmt.Errorf("%s: %v", lname, err)
	}
	if len(lay.Sections) > wasmbin.MaxSections {
		return nil, fmt.Errorf("%s: %w: %d sections, more than %d", lname, wasmbin.ErrLimit, len(lay.Sections), wasmbin.MaxSections)
	}
	for _, ls := range lay.Sections {
		*count += 1 + len(ls.Segments)
	}
	if *count > MaxExplodeFiles {
		return nil, fmt.Errorf("%s: %w: more than %d files", lname, wasmbin.ErrLimit, MaxExplodeFiles)
	}
	if lay.Format != LayoutFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", lname, lay.Format, LayoutFormat)
	}
	ver, err := hex.DecodeString(lay.Version)
	if err != nil || len(ver) != 4 {
		return nil, fmt.Errorf("%s: version %q is not 4 bytes of hex", lname, lay.Version)
	}
	m := &wasmbin.Module{}
	copy(m.Version[:], ver)
	const maxFile = 4 << 30
	for i, ls := range lay.Sections {
		where := fmt.Sprintf("%s: sections[%d]", lname, i)
		s := wasmbin.Section{ID: wasmbin.SectionID(ls.ID), SizeWidth: ls.SizeWidth, NameWidth: ls.NameWidth}
		if s.ID == wasmbin.SectionCustom {
			switch {
			case ls.Name != nil:
				s.Name = *ls.Name
			case ls.NameHex != "":
				n, err := hex.DecodeString(ls.NameHex)
				if err != nil {
					return nil, fmt.Errorf("%s: nameHex: %v", where, err)
				}
				s.Name = string(n)
			default:
				return nil, fmt.Errorf("%s: a custom section needs name or nameHex", where)
			}
		}
		switch {
		case ls.File != "":
			if s.Payload, err = readFS(fsys, path.Join(dir, ls.File), maxFile); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		case ls.Segments != nil || (ls.Dir != "" && s.ID == wasmbin.SectionData && !m.IsComponent()):
			d := &wasmbin.DataSection{CountWidth: ls.CountWidth}
			for j, seg := range ls.Segments {
				head, err := hex.DecodeString(seg.Head)
				if err != nil {
					return nil, fmt.Errorf("%s: segments[%d].head: %v", where, j, err)
				}
				init, err := readFS(fsys, path.Join(dir, seg.File), maxFile)
				if err != nil {
					return nil, fmt.Errorf("%s: segments[%d]: %w", where, j, err)
				}
				d.Segments = append(d.Segments, wasmbin.DataSegment{Head: head, Init: init, LenWidth: seg.LenWidth})
			}
			s.Payload = d.Encode()
		case ls.Dir != "":
			if !fs.ValidPath(ls.Dir) {
				return nil, fmt.Errorf("%s: %w: dir %q", where, ErrInvalidPath, ls.Dir)
			}
			if s.Payload, err = assemble(fsys, path.Join(dir, ls.Dir), depth+1, count); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s: needs file, dir or segments", where)
		}
		m.Sections = append(m.Sections, s)
	}
	return m.Encode(), nil
}

// WasmDigest is the content digest of a .wasm: the content digest of the
// files Explode produces.
func WasmDigest(wasm []byte) (Digest, error) {
	files, err := Explode(wasm)
	if err != nil {
		return Digest{}, err
	}
	entries := make([]Entry, len(files))
	for i, f := range files {
		entries[i] = Entry{Path: f.Path, Size: int64(len(f.Data)), Sum: sha256.Sum256(f.Data)}
	}
	return ContentDigest(entries)
}

// CanonicalWasmDigest is SHA-256 over the preamble and the sections in
// canonical order (wasmbin.Module.CanonicalOrder: standard sections in
// specification order, custom sections sorted by name), each encoded with
// minimal LEB128 sizes. It does not change when custom sections move or
// when a size is re-encoded with another width.
func CanonicalWasmDigest(wasm []byte) (Digest, error) {
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return Digest{}, err
	}
	h := sha256.New()
	h.Write(wasmbin.Magic[:])
	h.Write(m.Version[:])
	var buf []byte
	for _, s := range m.CanonicalOrder() {
		s.SizeWidth, s.NameWidth = 0, 0
		buf = s.AppendTo(buf[:0])
		h.Write(buf)
	}
	var d Digest
	h.Sum(d[:0])
	return d, nil
}

// WriteExploded writes files under dir, which must not exist or be empty.
// They are written to a temporary directory beside dir and renamed into
// place, so on error nothing is left.
func WriteExploded(dir string, files []File) (err error) {
	if ents, err := os.ReadDir(dir); err == nil {
		if len(ents) > 0 {
			return fmt.Errorf("%s: the output directory exists and is not empty", dir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, f := range files {
		if err := ValidatePath(f.Path); err != nil {
			return err
		}
		p := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	os.Remove(dir) // an empty directory may stand in the way
	return os.Rename(tmp, dir)
}
