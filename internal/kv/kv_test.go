package kv

import (
	"errors"
	"testing"
)

// TestParse pins the rule where the copies it replaced disagreed: a NUL
// byte passed the --env checks (and failed later, in wazero) but not the
// manifest's; everything else (first '=' splits, empty value) they agreed
// on and stays.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		k, v    string
		invalid bool
	}{
		{in: "A=1", k: "A", v: "1"},
		{in: "A=", k: "A", v: ""},
		{in: "A==", k: "A", v: "="},
		{in: "A=b=c", k: "A", v: "b=c"},
		{in: "PATH=/bin:/usr/bin", k: "PATH", v: "/bin:/usr/bin"},
		{in: "lower.dot-dash=x y", k: "lower.dot-dash", v: "x y"},
		{in: "é=ü", k: "é", v: "ü"},
		{in: "A", invalid: true},
		{in: "", invalid: true},
		{in: "=", invalid: true},
		{in: "=x", invalid: true},
		{in: "=C:=C:\\", invalid: true}, // a Windows per-drive entry of os.Environ
		{in: "A\x00B=1", invalid: true},
		{in: "A=1\x00", invalid: true},
	} {
		k, v, err := Parse(tc.in)
		if tc.invalid {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) = %q, %q, %v; want ErrInvalid", tc.in, k, v, err)
			}
			continue
		}
		if err != nil || k != tc.k || v != tc.v {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tc.in, k, v, err, tc.k, tc.v)
		}
	}
	if err := CheckName("A=B"); !errors.Is(err, ErrInvalid) {
		t.Errorf("CheckName(A=B) = %v", err)
	}
}
