package bundle_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// TestInspectWasmPublicTypes checks that InspectWasm and ReadMetadata, which
// report in bundle's own types rather than internal/wasmbin's, lose nothing
// in the conversion: each list marshals to the same JSON as the decoder's
// (what `wrun inspect --json` printed before), and limits print the same.
func TestInspectWasmPublicTypes(t *testing.T) {
	for _, c := range []struct {
		wat                        string
		imports, exports, memories int
	}{
		{`(module
			(import "env" "f" (func (param i32) (result i64)))
			(import "env" "t" (table 1 8 funcref))
			(import "env" "m" (memory 2 16))
			(import "env" "g" (global (mut f64)))
			(import "env" "c" (global i32))
			(func (export "run") (result i64) (i64.const 0))
			(export "mem" (memory 0)))`, 5, 2, 0},
		{`(module (memory (export "memory") 3 5) (func (export "_start")))`, 0, 2, 1},
	} {
		m, err := wasmbin.Parse(wat2wasm(t, c.wat))
		if err != nil {
			t.Fatal(err)
		}
		p := &wasmbin.Producers{}
		p.Add(wasmbin.ProducerLanguage, "C11", "")
		p.Add(wasmbin.ProducerProcessedBy, "clang", "19")
		p.Add(wasmbin.ProducerProcessedBy, "wrun", "0.1.0")
		p.Add(wasmbin.ProducerSDK, "wasi-libc", "25")
		m.SetCustom("producers", p.Encode())
		info, err := bundle.InspectWasm(m.Encode())
		if err != nil {
			t.Fatal(err)
		}
		var (
			imports  []wasmbin.Import
			exports  []wasmbin.Export
			memories []wasmbin.Limits
		)
		if s := m.Section(wasmbin.SectionImport); s != nil {
			if imports, err = wasmbin.DecodeImports(s.Payload, s.PayloadOffset); err != nil {
				t.Fatal(err)
			}
		}
		if s := m.Section(wasmbin.SectionExport); s != nil {
			if exports, err = wasmbin.DecodeExports(s.Payload, s.PayloadOffset); err != nil {
				t.Fatal(err)
			}
		}
		if s := m.Section(wasmbin.SectionMemory); s != nil {
			if memories, err = wasmbin.DecodeMemories(s.Payload, s.PayloadOffset); err != nil {
				t.Fatal(err)
			}
		}
		prod, err := wasmbin.DecodeProducers(m.Custom("producers").Payload, m.Custom("producers").PayloadOffset)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Imports) != c.imports || len(info.Exports) != c.exports || len(info.Memories) != c.memories || len(info.Metadata.Producers) != 3 {
			t.Fatalf("InspectWasm: %d imports, %d exports, %d memories, %d producer fields; want %d, %d, %d, 3",
				len(info.Imports), len(info.Exports), len(info.Memories), len(info.Metadata.Producers), c.imports, c.exports, c.memories)
		}
		for _, l := range []struct {
			name      string
			got, want any
		}{
			{"imports", info.Imports, imports},
			{"exports", info.Exports, exports},
			{"memories", info.Memories, memories},
			{"producers", info.Metadata.Producers, prod.Fields},
		} {
			got, _ := json.Marshal(l.got)
			want, _ := json.Marshal(l.want)
			if string(got) != string(want) {
				t.Errorf("%s marshal to\n%s\nwant (as internal/wasmbin's)\n%s", l.name, got, want)
			}
		}
		for i, l := range info.Memories {
			if l.String() != memories[i].String() {
				t.Errorf("memory %d prints %q, want %q", i, l, memories[i])
			}
		}
		for i, im := range info.Imports {
			if im.Memory != nil && im.Memory.String() != imports[i].Memory.String() {
				t.Errorf("imported memory prints %q, want %q", im.Memory, imports[i].Memory)
			}
		}
	}
}

// wat2wasm compiles WAT source with wabt's wat2wasm (all features on).
func wat2wasm(t *testing.T, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(testenv.Tool(t, "wat2wasm"), "--enable-all", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
