package wasmbin

import (
	"errors"
	"testing"
)

// TestSniff pins the header rule on the inputs where the copies it
// replaced disagreed: short files (a non-Wasm file of under 8 bytes was
// "truncated" to Parse but "not Wasm" to the runtime), a component whose
// version is not 0x0d, and versions that are neither.
func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    string
		want Kind
		err  error // of CheckCounts and Parse
	}{
		{"empty", "", NotWasm, ErrNotWasm},
		{"three bytes", "\x00as", NotWasm, ErrNotWasm},
		{"short text", "hello", NotWasm, ErrNotWasm},
		{"seven bytes of text", "#!/bin/", NotWasm, ErrNotWasm},
		{"text", "#!/bin/sh\necho hi\n", NotWasm, ErrNotWasm},
		{"magic only", "\x00asm", Truncated, ErrTruncated},
		{"magic and 3 bytes", "\x00asm\x01\x00\x00", Truncated, ErrTruncated},
		{"core module", "\x00asm\x01\x00\x00\x00", CoreModule, nil},
		{"component 0x0d", "\x00asm\x0d\x00\x01\x00", Component, nil},
		{"component, later version", "\x00asm\x0e\x00\x01\x00", Component, nil},
		{"version 2", "\x00asm\x02\x00\x00\x00", UnknownVersion, ErrMalformed},
		{"version 0x0d, layer 0", "\x00asm\x0d\x00\x00\x00", UnknownVersion, ErrMalformed},
		{"layer 2", "\x00asm\x0d\x00\x02\x00", UnknownVersion, ErrMalformed},
		{"layer 0x0100", "\x00asm\x0d\x00\x00\x01", UnknownVersion, ErrMalformed},
		{"wrong magic case", "\x00ASM\x01\x00\x00\x00", NotWasm, ErrNotWasm},
	} {
		if got := Sniff([]byte(tc.b)); got != tc.want {
			t.Errorf("%s: Sniff = %d, want %d", tc.name, got, tc.want)
		}
		if err := CheckCounts([]byte(tc.b)); !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("%s: CheckCounts = %v, want %v", tc.name, err, tc.err)
		}
		m, err := Parse([]byte(tc.b))
		if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("%s: Parse = %v, want %v", tc.name, err, tc.err)
		}
		if err == nil && m.IsComponent() != (tc.want == Component) {
			t.Errorf("%s: IsComponent = %v", tc.name, m.IsComponent())
		}
	}
}
