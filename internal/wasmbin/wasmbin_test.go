package wasmbin_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// fixture compiles testdata/bundle/sections.wat with wat2wasm.
func fixture(t testing.TB) []byte {
	return testenv.Wat2Wasm(t, "testdata/bundle/sections.wat", "--enable-annotations", "--debug-names")
}

// guests returns every guest `make testdata` built.
func guests(t testing.TB) []string { return testenv.Guests(t) }

func TestRoundTripFixture(t *testing.T) {
	b := fixture(t)
	m, err := wasmbin.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Encode(); !bytes.Equal(got, b) {
		t.Fatal("Encode(Parse(b)) differs from b")
	}
	var kinds []string
	for i := range m.Sections {
		kinds = append(kinds, m.SectionName(&m.Sections[i]))
	}
	t.Logf("sections: %v", kinds)

	imps, err := wasmbin.DecodeImports(m.Section(wasmbin.SectionImport).Payload, 0)
	if err != nil || len(imps) != 3 || imps[0].Name != "proc_exit" || imps[1].Table == nil || imps[2].Global == nil {
		t.Fatalf("imports %+v, %v", imps, err)
	}
	exps, err := wasmbin.DecodeExports(m.Section(wasmbin.SectionExport).Payload, 0)
	if err != nil || len(exps) != 3 || exps[0].Name != "memory" || exps[0].Kind != wasmbin.KindMemory {
		t.Fatalf("exports %+v, %v", exps, err)
	}
	mems, err := wasmbin.DecodeMemories(m.Section(wasmbin.SectionMemory).Payload, 0)
	if err != nil || len(mems) != 1 || mems[0].Min != 2 || mems[0].Max == nil || *mems[0].Max != 16 {
		t.Fatalf("memories %+v, %v", mems, err)
	}
	if got := wasmbin.EncodeMemories(mems); !bytes.Equal(got, m.Section(wasmbin.SectionMemory).Payload) {
		t.Fatal("EncodeMemories changed the memory section")
	}
	globs, err := wasmbin.DecodeGlobals(m.Section(wasmbin.SectionGlobal).Payload, 0)
	if err != nil || len(globs) != 3 || !globs[0].Type.Mutable {
		t.Fatalf("globals %+v, %v", globs, err)
	}
	if v, ok := wasmbin.ConstI64(globs[0].Init); !ok || v != 42 {
		t.Fatalf("global 0 init = %d, %v", v, ok)
	}
	if v, ok := wasmbin.ConstI64(globs[1].Init); !ok || v != -1234567890123 {
		t.Fatalf("global 1 init = %d, %v", v, ok)
	}
	if enc, err := wasmbin.EncodeGlobals(globs); err != nil || !bytes.Equal(enc, m.Section(wasmbin.SectionGlobal).Payload) {
		t.Fatalf("EncodeGlobals changed the global section: %v", err)
	}
	types, err := wasmbin.DecodeTypes(m.Section(wasmbin.SectionType).Payload, 0)
	if err != nil || len(types) == 0 {
		t.Fatalf("types %+v, %v", types, err)
	}
	ds := m.Section(wasmbin.SectionData)
	data, err := wasmbin.DecodeData(ds.Payload, ds.PayloadOffset)
	if err != nil || len(data.Segments) != 3 || !data.Segments[1].Passive || string(data.Segments[0].Init) != "hello, active segment" {
		t.Fatalf("data %+v, %v", data, err)
	}
	if off := data.Segments[0].InitOffset; !bytes.Equal(b[off:off+5], []byte("hello")) {
		t.Fatalf("InitOffset %d does not point at the segment bytes", off)
	}
	if !bytes.Equal(data.Encode(), ds.Payload) {
		t.Fatal("DataSection.Encode changed the data section")
	}
	// A segment without Head is encoded from its fields.
	seg := data.Segments[0]
	seg.Head = nil
	if got := (&wasmbin.DataSection{Segments: []wasmbin.DataSegment{seg}}).Encode(); !bytes.Contains(ds.Payload, got[1:]) {
		t.Fatalf("segment re-encoded from fields differs: % x", got)
	}
	if n, err := wasmbin.DecodeU32Section(m.Section(wasmbin.SectionDataCount).Payload, 0); err != nil || n != 3 {
		t.Fatalf("datacount %d, %v", n, err)
	}
	if n, err := wasmbin.DecodeU32Section(m.Section(wasmbin.SectionStart).Payload, 0); err != nil || n != 1 {
		t.Fatalf("start %d, %v", n, err)
	}
	names, err := wasmbin.DecodeNames(m.Custom("name").Payload, 0)
	if err != nil || names.Module == nil || *names.Module != "sections" || len(names.Functions) == 0 {
		t.Fatalf("names %+v, %v", names, err)
	}
	if !bytes.Equal(names.Encode(), m.Custom("name").Payload) {
		t.Fatal("Names.Encode changed the name section")
	}
	m.SetCustom("wrun-test", []byte("raw custom bytes"))
	m2, err := wasmbin.Parse(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if c := m2.Custom("wrun-test"); c == nil || string(c.Payload) != "raw custom bytes" {
		t.Fatalf("custom section wrun-test = %+v", c)
	}
}

func TestProducersAndMetadata(t *testing.T) {
	m, err := wasmbin.Parse(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	p := &wasmbin.Producers{}
	p.Add(wasmbin.ProducerSDK, "wrun", "0.1.0")
	p.Add(wasmbin.ProducerLanguage, "Go", "1.26")
	p.Add(wasmbin.ProducerLanguage, "Go", "1.27")
	m.SetCustom("producers", p.Encode())
	m.SetCustom("version", []byte("1.2.3"))
	m2, err := wasmbin.Parse(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	got, err := wasmbin.DecodeProducers(m2.Custom("producers").Payload, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Fields) != 2 || got.Fields[0].Name != "language" || got.Fields[0].Values[0].Version != "1.27" || got.Fields[1].Name != "sdk" {
		t.Fatalf("producers = %+v", got)
	}
	if string(m2.Custom("version").Payload) != "1.2.3" {
		t.Fatal("version section lost")
	}
	m2.RemoveCustom("version")
	if m2.Custom("version") != nil {
		t.Fatal("RemoveCustom left the section")
	}
}

func TestRoundTripGuests(t *testing.T) {
	for _, p := range guests(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wasmbin.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatalf("%s: Encode(Parse(b)) differs", p)
		}
		for _, id := range []wasmbin.SectionID{wasmbin.SectionData} {
			if s := m.Section(id); s != nil && !m.IsComponent() {
				d, err := wasmbin.DecodeData(s.Payload, s.PayloadOffset)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if !bytes.Equal(d.Encode(), s.Payload) {
					t.Fatalf("%s: data section re-encoding differs", p)
				}
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	pre := []byte("\x00asm\x01\x00\x00\x00")
	cases := []struct {
		name   string
		in     []byte
		offset int
		err    error
	}{
		{"empty", nil, 0, wasmbin.ErrNotWasm}, // as Sniff says: no magic number (TestSniff)
		{"bad magic", []byte("\x00wat\x01\x00\x00\x00"), 0, wasmbin.ErrNotWasm},
		{"section past end", append(pre, 1, 10, 0, 0), 8, wasmbin.ErrTruncated},
		{"malformed section length", append(pre, 1, 0x80, 0x80, 0x80, 0x80, 0x80), 9, wasmbin.ErrMalformed},
		{"truncated section length", append(pre, 1, 0x80), 9, wasmbin.ErrTruncated},
		{"huge section length", append(pre, 1, 0xff, 0xff, 0xff, 0xff, 0x0f), 8, wasmbin.ErrTruncated},
		{"custom name past end", append(pre, 0, 2, 5, 'a'), 11, wasmbin.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := wasmbin.Parse(c.in)
			var werr *wasmbin.Error
			if !errors.As(err, &werr) || !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if werr.Offset != c.offset {
				t.Fatalf("offset = %d, want %d (%v)", werr.Offset, c.offset, err)
			}
			t.Log(err)
		})
	}
	// A data section declaring more segments than bytes remain fails before
	// allocating.
	if _, err := wasmbin.DecodeData([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 100); !errors.Is(err, wasmbin.ErrTruncated) {
		t.Fatalf("DecodeData huge count: %v", err)
	}
}

func TestLEB(t *testing.T) {
	for _, v := range []uint32{0, 1, 127, 128, 16383, 16384, 1<<32 - 1} {
		b := wasmbin.AppendU32(nil, v)
		got, n, err := wasmbin.DecodeU32(b)
		if err != nil || got != v || n != len(b) || n != wasmbin.SizeU32(v) {
			t.Fatalf("%d: %v %d %v", v, got, n, err)
		}
		p := wasmbin.AppendU32Width(nil, v, 5)
		if got, n, err := wasmbin.DecodeU32(p); err != nil || got != v || n != 5 {
			t.Fatalf("padded %d: %v %d %v", v, got, n, err)
		}
	}
	for _, v := range []int64{0, -1, 63, 64, -64, -65, 1 << 40, -1 << 63} {
		b := wasmbin.AppendS64(nil, v)
		if got, n, err := wasmbin.DecodeS64(b); err != nil || got != v || n != len(b) {
			t.Fatalf("%d: %v %d %v", v, got, n, err)
		}
	}
}

func TestCanonicalOrder(t *testing.T) {
	m, err := wasmbin.Parse(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	a := m.CanonicalOrder()
	// Move the first custom section to the front.
	for i, s := range m.Sections {
		if s.ID == wasmbin.SectionCustom {
			moved := append([]wasmbin.Section{s}, append(append([]wasmbin.Section{}, m.Sections[:i]...), m.Sections[i+1:]...)...)
			m.Sections = moved
			break
		}
	}
	b := m.CanonicalOrder()
	if len(a) != len(b) {
		t.Fatal("length differs")
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name {
			t.Fatalf("canonical order changed at %d", i)
		}
	}
}

// FuzzParse checks that Parse never panics or over-allocates and that every
// accepted input round-trips, along with the section decoders.
func FuzzParse(f *testing.F) {
	f.Add(fixture(f))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x0d\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wasmbin.Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatal("round trip differs")
		}
		for i := range m.Sections {
			s := &m.Sections[i]
			switch s.ID {
			case wasmbin.SectionType:
				_, _ = wasmbin.DecodeTypes(s.Payload, s.PayloadOffset)
			case wasmbin.SectionImport:
				_, _ = wasmbin.DecodeImports(s.Payload, s.PayloadOffset)
			case wasmbin.SectionExport:
				_, _ = wasmbin.DecodeExports(s.Payload, s.PayloadOffset)
			case wasmbin.SectionMemory:
				if l, err := wasmbin.DecodeMemories(s.Payload, s.PayloadOffset); err == nil {
					_ = wasmbin.EncodeMemories(l)
				}
			case wasmbin.SectionGlobal:
				if g, err := wasmbin.DecodeGlobals(s.Payload, s.PayloadOffset); err == nil {
					_, _ = wasmbin.EncodeGlobals(g)
				}
			case wasmbin.SectionData:
				if d, err := wasmbin.DecodeData(s.Payload, s.PayloadOffset); err == nil && !bytes.Equal(d.Encode(), s.Payload) {
					t.Fatal("data round trip differs")
				}
			case wasmbin.SectionCustom:
				_, _ = wasmbin.DecodeProducers(s.Payload, s.PayloadOffset)
				_, _ = wasmbin.DecodeNames(s.Payload, s.PayloadOffset)
			}
		}
	})
}
