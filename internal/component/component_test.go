package component

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

var hdr = []byte("\x00asm\x0d\x00\x01\x00")

func section(id byte, payload []byte) []byte {
	return append(wasmbin.AppendU32([]byte{id}, uint32(len(payload))), payload...)
}

func comp(sections ...[]byte) []byte {
	b := append([]byte{}, hdr...)
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

// TestHostile: counts larger than the bytes left, truncated sections and
// nesting past MaxDepth are errors, not allocations or recursion.
func TestHostile(t *testing.T) {
	nested := comp()
	for range MaxDepth + 2 {
		nested = comp(section(0x04, nested))
	}
	deepType := []byte{0x01}
	for range 40 {
		deepType = append([]byte{0x42, 0x01, 0x01}, deepType...) // instance type { type ... }
	}
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"import count":    {comp(section(0x0a, []byte{0xff, 0xff, 0xff, 0xff, 0x0f})), wasmbin.ErrTruncated},
		"core instances":  {comp(section(0x02, []byte{0xf0, 0xff, 0xff, 0xff, 0x0f, 0x00})), wasmbin.ErrTruncated},
		"section size":    {append(comp(), 0x0b, 0xff, 0xff, 0x03), wasmbin.ErrTruncated},
		"nested":          {nested, wasmbin.ErrLimit},
		"type nesting":    {comp(section(0x07, append([]byte{0x01}, deepType...))), wasmbin.ErrLimit},
		"bad instantiate": {comp(section(0x02, []byte{0x01, 0x00, 0x05, 0x00})), wasmbin.ErrMalformed},
		"name length":     {comp(section(0x0b, []byte{0x01, 0x00, 0xff, 0x01})), wasmbin.ErrTruncated},
	} {
		_, err := Parse(tc.b)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := Parse(append([]byte("\x00asm"), 1, 0, 0, 0)); !errors.Is(err, ErrNotComponent) {
		t.Errorf("core module: %v", err)
	}
}

// adapt wraps the test guest (e.g. "c/hello") into a component with jco's
// wasi_snapshot_preview1 command adapter, and parses and classifies it.
func adapt(t *testing.T, guest string) ([]byte, *Component, *Shape) {
	t.Helper()
	j := testenv.NpmTool(t, "jco", "@bytecodealliance/jco", "1.35.0", "node_modules/.bin/jco")
	out := filepath.Join(t.TempDir(), "adapted.wasm")
	if b, err := exec.Command(j, "new", testenv.GuestPath(guest), "--wasi-command", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("jco new %s: %v\n%s", guest, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, c, Classify(c)
}

// TestClassifyJco: a real component made by jco from a C guest is a
// p1-adapted command whose main module is the guest, byte for byte; the
// same component with its main module's instantiation argument renamed is
// no longer taken for one.
func TestClassifyJco(t *testing.T) {
	b, c, s := adapt(t, "c/hello")
	if !s.Runnable() || strings.Join(s.Roles, ",") != "main,adapter,shim,fixups" {
		t.Fatalf("shape %+v (%s)", s, s.Why)
	}
	if string(s.Main.Bytes) != string(testenv.GuestBytes(t, "c/hello")) {
		t.Error("the main module is not the guest")
	}
	if imps := c.WASIImports(); len(imps) < 5 || !strings.HasPrefix(imps[0], "wasi:cli/environment@0.2.") {
		t.Errorf("WASI imports %v", imps)
	}
	// Rename the main module's "wasi_snapshot_preview1" argument (the
	// first occurrence after the modules is in the core instance section).
	after := c.Modules[2].Offset + len(c.Modules[2].Bytes)
	i := strings.Index(string(b[after:]), "wasi_snapshot_preview1")
	tampered := append([]byte{}, b...)
	copy(tampered[after+i:], "wasi_snapshot_previewX")
	c2, err := Parse(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if s2 := Classify(c2); s2.Runnable() || !strings.Contains(s2.Why, "wasi_snapshot_preview1") {
		t.Errorf("a component wired otherwise: %+v", s2)
	}
}

// TestCoreGo: jco gives the Go guest's second fd_write import the name
// "fd_write [v2]" (and re-encodes the section sizes Go's linker pads to 5
// bytes minimally); Core gives the original module back: the same
// sections with the same payloads.
func TestCoreGo(t *testing.T) {
	_, _, s := adapt(t, "go/echo")
	if !s.Runnable() {
		t.Fatalf("not runnable: %s", s.Why)
	}
	renamed := false
	for _, im := range s.Main.Imports {
		renamed = renamed || strings.HasSuffix(im.Name, " [v2]")
	}
	core, err := s.Core()
	if err != nil {
		t.Fatal(err)
	}
	if !renamed {
		t.Error("jco no longer renames duplicate imports: the test does not test Core")
	}
	got, err := wasmbin.Parse(core)
	if err != nil {
		t.Fatal(err)
	}
	want, err := wasmbin.Parse(testenv.GuestBytes(t, "go/echo"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sections) != len(want.Sections) {
		t.Fatalf("%d sections, want %d", len(got.Sections), len(want.Sections))
	}
	for i, w := range want.Sections {
		g := got.Sections[i]
		if g.ID != w.ID || g.Name != w.Name || string(g.Payload) != string(w.Payload) {
			t.Errorf("section %d (%s) differs from the original module's", i, want.SectionName(&w))
		}
	}
	for name, want := range map[string]string{"fd_write [v2]": "fd_write", "fd_write": "fd_write", "x [v0]": "x [v0]", "x [v2": "x [v2", " [v3]": " [v3]", "a [v12]": "a"} {
		if got := BaseName(name); got != want {
			t.Errorf("BaseName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestWhyQuotesNames: names from the binary that reach Shape.Why (which
// wrun prints) are quoted when they hold control characters. The adapted
// component's __main_module__ instance gets an export named with a
// terminal escape, made a global, so that the wiring check names it.
func TestWhyQuotesNames(t *testing.T) {
	b, _, _ := adapt(t, "c/hello")
	named := false
	for i := 0; ; i++ {
		k := strings.Index(string(b[i:]), "\x06_start")
		if k < 0 {
			break
		}
		i += k
		tampered := append([]byte{}, b...)
		copy(tampered[i+1:], "\x1b]0;X\x07")
		tampered[i+7] = SortGlobal
		c2, err := Parse(tampered)
		if err != nil {
			continue
		}
		s := Classify(c2)
		named = named || strings.Contains(s.Why, "__main_module__")
		if strings.ContainsAny(s.Why, "\x1b\x07") {
			t.Errorf("Why holds a raw control character: %q", s.Why)
		}
	}
	if !named {
		t.Error("no tampering reached the __main_module__ check: the test does not test it")
	}
}
