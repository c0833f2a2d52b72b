package wasmbin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// hostile are modules whose declared counts exceed their bytes; each made
// wazero v1.12's decoder allocate gigabytes (the first is issue 10's
// 15-byte module: 2^32-1 data segments).
var hostile = map[string]string{
	"data segments":    "\x00asm\x01\x00\x00\x00\x0b\x05\xff\xff\xff\xff\x0f",
	"data bytes":       "\x00asm\x01\x00\x00\x00\x0b\x09\x01\x01\xff\xff\xff\xff\x0f\x00\x00",
	"data count":       "\x00asm\x01\x00\x00\x00\x0c\x05\xff\xff\xff\xff\x0f",
	"types":            "\x00asm\x01\x00\x00\x00\x01\x05\xff\xff\xff\xff\x0f",
	"type params":      "\x00asm\x01\x00\x00\x00\x01\x08\x01\x60\xff\xff\xff\xff\x0f\x00",
	"imports":          "\x00asm\x01\x00\x00\x00\x02\x05\xff\xff\xff\xff\x0f",
	"import name":      "\x00asm\x01\x00\x00\x00\x02\x07\x01\xff\xff\xff\xff\x0f\x00",
	"functions":        "\x00asm\x01\x00\x00\x00\x03\x05\xff\xff\xff\xff\x0f",
	"globals":          "\x00asm\x01\x00\x00\x00\x06\x05\xff\xff\xff\xff\x0f",
	"exports":          "\x00asm\x01\x00\x00\x00\x07\x05\xff\xff\xff\xff\x0f",
	"elements":         "\x00asm\x01\x00\x00\x00\x09\x05\xff\xff\xff\xff\x0f",
	"element indices":  "\x00asm\x01\x00\x00\x00\x09\x0a\x01\x00\x41\x00\x0b\xff\xff\xff\xff\x0f",
	"bodies":           "\x00asm\x01\x00\x00\x00\x0a\x05\xff\xff\xff\xff\x0f",
	"body size":        "\x00asm\x01\x00\x00\x00\x0a\x06\x01\xff\xff\xff\xff\x0f",
	"locals":           "\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x0a\x01\x08\x01\xff\xff\xff\xff\x0f\x7f\x0b",
	"function names":   "\x00asm\x01\x00\x00\x00\x00\x0c\x04name\x01\x05\xff\xff\xff\xff\x0f",
	"local names":      "\x00asm\x01\x00\x00\x00\x00\x0e\x04name\x02\x07\x01\x00\xff\xff\xff\xff\x0f",
	"module name":      "\x00asm\x01\x00\x00\x00\x00\x0c\x04name\x00\x05\xff\xff\xff\xff\x0f",
	"name subsection":  "\x00asm\x01\x00\x00\x00\x00\x0d\x04name\x01\x00\x01\xff\xff\xff\xff\x0f",
	"rec group":        "\x00asm\x01\x00\x00\x00\x01\x07\x01\x4e\xff\xff\xff\xff\x0f",
	"tags":             "\x00asm\x01\x00\x00\x00\x0d\x05\xff\xff\xff\xff\x0f",
	"table of exprs":   "\x00asm\x01\x00\x00\x00\x09\x08\x01\x05\x70\xff\xff\xff\xff\x0f",
	"body past end":    "\x00asm\x01\x00\x00\x00\x0a\x04\x01\x7f\x00\x0b",
	"section past end": "\x00asm\x01\x00\x00\x00\x0b\xff\xff\xff\xff\x0f",
}

func TestCheckCountsHostile(t *testing.T) {
	for name, mod := range hostile {
		err := wasmbin.CheckCounts([]byte(mod))
		var we *wasmbin.Error
		if !errors.As(err, &we) || !(errors.Is(err, wasmbin.ErrTruncated) || errors.Is(err, wasmbin.ErrLimit)) {
			t.Errorf("%s: CheckCounts = %v, want a *wasmbin.Error wrapping ErrTruncated or ErrLimit", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestCheckCountsLocalsLimit(t *testing.T) {
	// One function declaring 25,000 + 25,001 locals.
	mod := "\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x0c\x01\x0a\x02\xa8\xc3\x01\x7f\xa9\xc3\x01\x7e\x0b"
	err := wasmbin.CheckCounts([]byte(mod))
	if !errors.Is(err, wasmbin.ErrLimit) || !strings.Contains(err.Error(), "50000") {
		t.Fatalf("CheckCounts = %v, want ErrLimit naming 50000", err)
	}
	// 50,000 is allowed.
	ok := "\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x08\x01\x06\x01\xd0\x86\x03\x7f\x0b"
	if err := wasmbin.CheckCounts([]byte(ok)); err != nil {
		t.Fatalf("50,000 locals: %v", err)
	}
}

// TestCheckCountsTableLimit: five bytes of table minimum made wazero
// allocate 1 GiB at instantiation.
func TestCheckCountsTableLimit(t *testing.T) {
	table := func(min uint32) []byte {
		var leb []byte
		for {
			b := byte(min & 0x7f)
			min >>= 7
			if min == 0 {
				leb = append(leb, b)
				break
			}
			leb = append(leb, b|0x80)
		}
		body := append([]byte{1, 0x70, 0}, leb...)
		return append([]byte("\x00asm\x01\x00\x00\x00\x04"), append([]byte{byte(len(body))}, body...)...)
	}
	err := wasmbin.CheckCounts(table(1 << 27))
	if !errors.Is(err, wasmbin.ErrLimit) || !strings.Contains(err.Error(), "10000000") {
		t.Fatalf("CheckCounts = %v, want ErrLimit naming 10000000", err)
	}
	if err := wasmbin.CheckCounts(table(wasmbin.MaxTableElements)); err != nil {
		t.Fatalf("%d elements: %v", wasmbin.MaxTableElements, err)
	}
}

func TestParseMaxSections(t *testing.T) {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for i := 0; i <= wasmbin.MaxSections; i++ {
		b = append(b, 0, 1, 0) // an empty custom section named ""
	}
	_, err := wasmbin.Parse(b)
	if !errors.Is(err, wasmbin.ErrLimit) || !strings.Contains(err.Error(), "10000 sections") {
		t.Fatalf("Parse = %v, want ErrLimit naming 10000 sections", err)
	}
	if _, err := wasmbin.Parse(b[:len(b)-3]); err != nil {
		t.Fatalf("%d sections: %v", wasmbin.MaxSections, err)
	}
}

// TestCheckCountsGuests: every real module passes, and wazero compiles it.
func TestCheckCountsGuests(t *testing.T) {
	paths := guests(t)
	if p := os.Getenv("WRUN_CPYTHON_WASM"); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := wasmbin.CheckCounts(b); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
	if err := wasmbin.CheckCounts(fixture(t)); err != nil {
		t.Errorf("sections.wat: %v", err)
	}
}

// FuzzFrontDoor feeds arbitrary bytes through CheckCounts and, when it
// accepts them, wazero's CompileModule: neither may panic or run out of
// memory, and what CheckCounts accepts compiles with bounded allocation.
func FuzzFrontDoor(f *testing.F) {
	for _, m := range hostile {
		f.Add([]byte(m))
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add(fixture(f))
	for _, p := range testenv.Guests(f) {
		if b, err := os.ReadFile(p); err == nil && len(b) < 8<<10 {
			f.Add(b)
		}
	}
	// wazero's default configuration (its compiler where there is one),
	// memory capped at 16 pages; one runtime per fuzzing process.
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithMemoryLimitPages(16))
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, b []byte) {
		check := wasmbin.CheckCounts(b)
		if check != nil {
			var we *wasmbin.Error
			if !errors.As(check, &we) {
				t.Fatalf("CheckCounts error is not a *wasmbin.Error: %v", check)
			}
			if !errors.Is(check, wasmbin.ErrMalformed) {
				return // a count past the bytes, or a limit: wazero must not see it
			}
			// Malformed where wazero reads the same grammar: wazero must
			// refuse it too (CheckCounts refuses nothing wazero accepts).
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		cm, err := rt.CompileModule(cctx, b)
		if err == nil {
			cm.Close(ctx)
			if check != nil {
				t.Fatalf("CheckCounts refused a module wazero compiles: %v", check)
			}
		}
		runtime.ReadMemStats(&after)
		// wazero's own structures, per input byte, and its fixed costs.
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(64<<20)+uint64(len(b))*2048; got > limit {
			t.Fatalf("compiling %d bytes allocated %d bytes (limit %d)", len(b), got, limit)
		}
	})
}
