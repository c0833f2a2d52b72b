package preinit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
	"github.com/wrun-dev/wrun/preinit"
)

func TestGlobals(t *testing.T) {
	wasm := testenv.GuestBytes(t, "wat/preglobal")
	if got, want := runGuest(t, wasm, nil), "calls=1 started=1 ok m\n"; got != want {
		t.Fatalf("plain run: got %q, want %q", got, want)
	}
	out, rep := mustPreinit(t, wasm, preinit.Options{})
	// calls=1: the init is not run again; started=1: nor is the start
	// function (its section is gone, its effect is in the snapshot).
	if got, want := runGuest(t, out, nil), "calls=1 started=1 ok s\n"; got != want {
		t.Errorf("after pre-init: got %q, want %q", got, want)
	}
	if rep.Globals != 6 {
		t.Errorf("rewrote %d globals, want the 6 mutable ones", rep.Globals)
	}
	m, err := wasmbin.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Section(wasmbin.SectionStart) != nil {
		t.Error("the start section is still there")
	}
	s := m.Section(wasmbin.SectionGlobal)
	globals, err := wasmbin.DecodeGlobals(s.Payload, s.PayloadOffset)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := wasmbin.ConstI64(globals[0].Init); !ok || v != 1 {
		t.Errorf("global 0 (calls) initializer % x, want i32.const 1", globals[0].Init)
	}
	if v, ok := wasmbin.ConstI64(globals[2].Init); !ok || v != 1<<40 {
		t.Errorf("global 2 (big) initializer % x, want i64.const 2^40", globals[2].Init)
	}
}

func TestTableUnchangedAccepted(t *testing.T) {
	wasm := testenv.GuestBytes(t, "wat/pretablemut")
	out, rep, err := preinit.Preinit(context.Background(), wasm, preinit.Options{InitFunc: "same"})
	if err != nil {
		t.Fatalf("init that leaves the table as it was: %v", err)
	}
	if rep == nil || rep.InitFunc != "same" || rep.Globals != 0 || rep.Segments != 0 {
		t.Errorf("report %+v: want InitFunc \"same\", no globals rewritten, no data segments", rep)
	}
	// The snapshot holds the table, its element segment and the code as they
	// were: only the exports may differ.
	for _, id := range []wasmbin.SectionID{wasmbin.SectionTable, wasmbin.SectionElement} {
		if len(sectionsOf(t, out, id)) != 1 {
			t.Errorf("section %d: want it kept once in the snapshot", id)
		}
	}
	if !equalSections(sectionsBesides(t, wasm, wasmbin.SectionExport, wasmbin.SectionStart),
		sectionsBesides(t, out, wasmbin.SectionExport, wasmbin.SectionStart)) {
		t.Error("the snapshot changed the table, its elements or the code")
	}
	runGuest(t, out, nil) // the snapshot instantiates
}

// sectionsOf returns the encoded sections of wasm with the given id.
func sectionsOf(t *testing.T, wasm []byte, id wasmbin.SectionID) [][]byte {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := range m.Sections {
		if m.Sections[i].ID == id {
			out = append(out, m.Sections[i].AppendTo(nil))
		}
	}
	return out
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		guest    string
		opts     preinit.Options
		want     error
		contains string
	}{
		{"wat/preimpmem", preinit.Options{}, preinit.ErrImportedState, `imports memory "env"."memory"`},
		{"wat/preimpglobal", preinit.Options{}, preinit.ErrImportedState, `imports global "env"."counter"`},
		{"wat/preimptable", preinit.Options{}, preinit.ErrImportedState, `imports table "env"."table"`},
		{"wat/pretrap", preinit.Options{}, preinit.ErrInitFailed, `calling "wizer.initialize"`},
		{"wat/prehostcall", preinit.Options{}, preinit.ErrNonWASIImport, `"env"."host_log"`},
		{"wat/pretablemut", preinit.Options{}, preinit.ErrUnsupported, "changed element 1 of table 0"},
		{"wat/pretablemut", preinit.Options{InitFunc: "grow"}, preinit.ErrUnsupported, "grew table 0 from 2 to 5"},
		{"wat/prerefglobal", preinit.Options{}, preinit.ErrUnsupported, "mutable global 0 has type externref"},
		{"wat/prepassive", preinit.Options{}, preinit.ErrUnsupported, "data segment 0 is passive"},
		{"wat/preexit", preinit.Options{}, preinit.ErrInitFailed, "exited with code 3"},
		{"wat/preexit", preinit.Options{InitFunc: "typed"}, preinit.ErrNoInitFunc, `"typed" has type [i32] -> [i32]`},
		{"wat/preexit", preinit.Options{InitFunc: "missing"}, preinit.ErrNoInitFunc, `no function export "missing"`},
		{"c/pretable", preinit.Options{MaxSegments: -1}, nil, "MaxSegments -1"},
		{"c/pretable", preinit.Options{Env: []string{"NOEQUALS"}}, nil, `environment entry "NOEQUALS"`},
	} {
		t.Run(tc.guest+"/"+tc.contains, func(t *testing.T) {
			out, rep, err := preinit.Preinit(context.Background(), testenv.GuestBytes(t, tc.guest), tc.opts)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.contains)
			}
			if out != nil || rep != nil {
				t.Error("output or report returned with an error")
			}
			t.Log(err)
		})
	}
}
