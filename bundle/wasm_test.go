package bundle_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// roundTripMem explodes wasm in memory and assembles it back.
func roundTripMem(t *testing.T, name string, wasm []byte) {
	t.Helper()
	files, err := bundle.Explode(wasm)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	fsys := fstest.MapFS{}
	for _, f := range files {
		fsys[f.Path] = &fstest.MapFile{Data: f.Data}
	}
	got, err := bundle.Assemble(fsys)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(got, wasm) {
		t.Fatalf("%s: explode → assemble is not byte-identical (%d vs %d bytes)", name, len(got), len(wasm))
	}
	t.Logf("%s: %d bytes, %d files", name, len(wasm), len(files))
}

// roundTrip explodes wasm into a directory on disk, assembles it back and
// checks the bytes and the digests.
func roundTrip(t *testing.T, name string, wasm []byte) {
	t.Helper()
	files, err := bundle.Explode(wasm)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	dir := filepath.Join(t.TempDir(), "exploded")
	if err := bundle.WriteExploded(dir, files); err != nil {
		t.Fatal(err)
	}
	got, err := bundle.Assemble(os.DirFS(dir))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(got, wasm) {
		t.Fatalf("%s: explode → assemble is not byte-identical (%d vs %d bytes)", name, len(got), len(wasm))
	}
	dw, err := bundle.WasmDigest(wasm)
	if err != nil {
		t.Fatal(err)
	}
	dd, err := bundle.DigestDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if dw != dd {
		t.Fatalf("%s: digest of the wasm %s, of the exploded directory %s", name, dw, dd)
	}
	t.Logf("%s: %d bytes, %d files, %s", name, len(wasm), len(files), dw)
}

func TestExplodeAssembleFixture(t *testing.T) {
	wasm := fixtureWasm(t)
	roundTrip(t, "sections.wat", wasm)
	files, _ := bundle.Explode(wasm)
	var names []string
	for _, f := range files {
		names = append(names, f.Path)
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"layout.json", "-type.bin", "-data/000000.bin", "-data/000002.bin", "-custom-name.bin"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("no %q among %v", want, names)
		}
	}
}

func TestExplodeAssembleGuests(t *testing.T) {
	for _, g := range guests(t) {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		roundTripMem(t, g, b)
	}
	big := largestGoGuest(t)
	b, _ := os.ReadFile(big)
	if len(b) < 1<<20 {
		t.Fatalf("largest Go guest %s is only %d bytes", big, len(b))
	}
	roundTrip(t, "largest Go guest "+big, b)
}

// TestExplodeAssembleCPython round-trips the largest real binary there is:
// the CPython interpreter of the python:cpython runtime package.
func TestExplodeAssembleCPython(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.PythonRuntime(t), "module.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, "CPython module.wasm", b)
}

// TestExplodePadded keeps non-minimal LEB128 widths and custom section
// names that are not file-name safe or not UTF-8.
func TestExplodePadded(t *testing.T) {
	m, err := wasmbin.Parse(fixtureWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Sections {
		m.Sections[i].SizeWidth = 5
	}
	m.Sections = append(m.Sections,
		wasmbin.Section{ID: 0, Name: "../../etc/passwd", Payload: []byte("x"), NameWidth: 3},
		wasmbin.Section{ID: 0, Name: "\xff\xfe", Payload: []byte("y")},
		wasmbin.Section{ID: 0, Name: "dup", Payload: []byte("1")},
		wasmbin.Section{ID: 0, Name: "dup", Payload: []byte("2")})
	roundTrip(t, "padded", m.Encode())
}

func TestCanonicalWasmDigest(t *testing.T) {
	wasm := fixtureWasm(t)
	m, _ := wasmbin.Parse(wasm)
	m.SetCustom("zzz", []byte("z"))
	m.SetCustom("aaa", []byte("a"))
	a := m.Encode()
	// Move the custom sections to the front.
	var custom, std []wasmbin.Section
	for _, s := range m.Sections {
		if s.ID == wasmbin.SectionCustom {
			custom = append(custom, s)
		} else {
			std = append(std, s)
		}
	}
	m.Sections = append(custom, std...)
	b := m.Encode()
	if bytes.Equal(a, b) {
		t.Fatal("the move changed nothing")
	}
	da, _ := bundle.CanonicalWasmDigest(a)
	db, _ := bundle.CanonicalWasmDigest(b)
	if da != db || da.IsZero() {
		t.Fatalf("canonical digest changed when custom sections moved: %s %s", da, db)
	}
	wa, _ := bundle.WasmDigest(a)
	wb, _ := bundle.WasmDigest(b)
	if wa == wb {
		t.Fatal("content digests of different binaries agree")
	}
	m.SetCustom("aaa", []byte("changed"))
	if dc, _ := bundle.CanonicalWasmDigest(m.Encode()); dc == da {
		t.Fatal("canonical digest ignores custom section content")
	}
}

func TestAssembleErrors(t *testing.T) {
	files, err := bundle.Explode(fixtureWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "x")
	if err := bundle.WriteExploded(dir, files); err != nil {
		t.Fatal(err)
	}
	// Into an existing non-empty directory: refused, nothing written.
	if err := bundle.WriteExploded(dir, files); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("WriteExploded into non-empty dir: %v", err)
	}
	if l := listDir(t, filepath.Dir(dir)); len(l) != len(listDir(t, dir))+1 {
		t.Fatalf("stray files: %v", l)
	}
	lay := filepath.Join(dir, "layout.json")
	orig, _ := os.ReadFile(lay)
	os.WriteFile(lay, bytes.Replace(orig, []byte(`"file": "000-type.bin"`), []byte(`"file": "../../etc/passwd"`), 1), 0o644)
	if _, err := bundle.Assemble(os.DirFS(dir)); !errors.Is(err, bundle.ErrInvalidPath) {
		t.Fatalf("escaping layout path: %v", err)
	}
	os.WriteFile(lay, []byte("{"), 0o644)
	if _, err := bundle.Assemble(os.DirFS(dir)); err == nil {
		t.Fatal("bad layout accepted")
	}
}

func TestMalformedWasm(t *testing.T) {
	pre := "\x00asm\x01\x00\x00\x00"
	for _, c := range []struct{ name, in, want string }{
		{"section past end", pre + "\x01\x10\x00", "type section (id 1) declares 16 bytes but 1 remain"},
		{"malformed section length", pre + "\x01\x80\x80\x80\x80\x80", "malformed encoding"},
		{"not wasm", "hello world", "not a WebAssembly binary"},
	} {
		_, err := bundle.WasmDigest([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "offset") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		t.Log(err)
	}
}

func TestMetadata(t *testing.T) {
	wasm := fixtureWasm(t)
	out, err := bundle.AddMetadata(wasm, bundle.MetadataEdit{
		Name:        "example:hello",
		Authors:     "A. Author",
		Description: "Says hello",
		Licenses:    "Apache-2.0",
		Source:      "https://example.com/src",
		Homepage:    "https://example.com",
		Revision:    "abc123",
		Version:     "1.2.3",
		Language:    []bundle.ProducerValue{{Name: "Go", Version: "1.26"}},
		ProcessedBy: []bundle.ProducerValue{{Name: "wrun", Version: "0.1.0"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	md, err := bundle.ReadMetadata(out)
	if err != nil {
		t.Fatal(err)
	}
	if md.Name != "example:hello" || md.Authors != "A. Author" || md.Version != "1.2.3" || md.Revision != "abc123" ||
		len(md.Producers) != 2 || md.Producers[0].Name != "language" || md.Producers[1].Values[0].Name != "wrun" {
		t.Fatalf("%+v", md)
	}
	// The rest of the module is untouched: the original sections come
	// first, byte for byte.
	mo, _ := wasmbin.Parse(out)
	mi, _ := wasmbin.Parse(wasm)
	for i := range mi.Sections {
		if mi.Sections[i].ID != 0 && !bytes.Equal(mi.Sections[i].Payload, mo.Sections[i].Payload) {
			t.Fatalf("section %d changed", i)
		}
	}
	// [package] fields are filled from the metadata when left out.
	m := &bundle.Manifest{}
	m.Package.Description = "kept"
	bundle.FillFromWasm(m, md)
	if m.Package.Name != "example:hello" || m.Package.Version != "1.2.3" || m.Package.Description != "kept" ||
		m.Package.License != "Apache-2.0" || m.Package.Authors[0] != "A. Author" {
		t.Fatalf("%+v", m.Package)
	}
}

// TestExplodeComponent explodes a component's nested core modules and
// components into their own directories. The component is put together
// here from the fixture module (no component toolchain is installed):
// a core module section holding it, a nested component holding it again,
// and custom sections.
func TestExplodeComponent(t *testing.T) {
	core := fixtureWasm(t)
	inner := &wasmbin.Module{Version: wasmbin.VersionComponent, Sections: []wasmbin.Section{
		{ID: wasmbin.ComponentSectionCoreModule, Payload: core},
		{ID: wasmbin.SectionCustom, Name: "component-name", Payload: []byte{0, 6, 5, 'i', 'n', 'n', 'e', 'r'}},
	}}
	outer := &wasmbin.Module{Version: wasmbin.VersionComponent, Sections: []wasmbin.Section{
		{ID: wasmbin.ComponentSectionCoreModule, Payload: core},
		{ID: wasmbin.ComponentSectionComponent, Payload: inner.Encode()},
		{ID: wasmbin.ComponentSectionCoreModule, Payload: []byte("not a module")},
		{ID: wasmbin.SectionCustom, Name: "producers", Payload: (&wasmbin.Producers{}).Encode()},
	}}
	wasm := outer.Encode()
	roundTrip(t, "component", wasm)
	files, _ := bundle.Explode(wasm)
	var names []string
	for _, f := range files {
		names = append(names, f.Path)
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"000-core-module/layout.json", "000-core-module/009-data/000000.bin",
		"001-component/000-core-module/layout.json", "001-component/001-custom-component-name.bin", "002-core-module.bin"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("no %s among %v", want, names)
		}
	}
	md, err := bundle.ReadMetadata(wasm)
	if err != nil || !md.Component {
		t.Fatalf("%+v %v", md, err)
	}
	named, err := bundle.AddMetadata(wasm, bundle.MetadataEdit{Name: "my-component", Version: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if md, err := bundle.ReadMetadata(named); err != nil || md.Name != "my-component" || md.Version != "0.1.0" {
		t.Fatalf("%+v %v", md, err)
	}
	if m, _ := wasmbin.Parse(named); m.Custom("component-name") == nil || m.Custom("name") != nil {
		t.Fatal("a component's name belongs in the component-name section")
	}
}

// FuzzExplode checks that every binary the section parser accepts explodes
// and assembles back to the same bytes, and that the digests are defined.
func FuzzExplode(f *testing.F) {
	f.Add(fixtureWasm(f))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x00\x04\x03abc"))
	f.Add((&wasmbin.Module{Version: wasmbin.VersionComponent, Sections: []wasmbin.Section{
		{ID: wasmbin.ComponentSectionCoreModule, Payload: []byte("\x00asm\x01\x00\x00\x00")}}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := bundle.Explode(b)
		if err != nil {
			return
		}
		fsys := fstest.MapFS{}
		for _, fl := range files {
			if err := bundle.ValidatePath(fl.Path); err != nil {
				t.Fatal(err)
			}
			if _, dup := fsys[fl.Path]; dup {
				t.Fatalf("duplicate exploded path %q", fl.Path)
			}
			fsys[fl.Path] = &fstest.MapFile{Data: fl.Data}
		}
		got, err := bundle.Assemble(fsys)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip: %v", err)
		}
		if _, err := bundle.WasmDigest(b); err != nil {
			t.Fatal(err)
		}
		if _, err := bundle.CanonicalWasmDigest(b); err != nil {
			t.Fatal(err)
		}
	})
}
