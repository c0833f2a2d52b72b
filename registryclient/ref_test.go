package registryclient

import (
	"errors"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
		want string // String()
	}{
		{"example:hello", KindPackage, "example:hello"},
		{"example:hello@1.2.3", KindPackage, "example:hello@1.2.3"},
		{"example:hello@^1.2", KindPackage, "example:hello@^1.2"},
		{"example:hello@~1.2.3", KindPackage, "example:hello@~1.2.3"},
		{"example:hello@>=1.0, <2", KindPackage, "example:hello@>=1.0, <2"},
		{"python:cpython@1.0.0-rc.1", KindPackage, "python:cpython@1.0.0-rc.1"},
		{"my-ns:my-pkg2", KindPackage, "my-ns:my-pkg2"},
		{"127.0.0.1:5000/example/hello:1.0.0", KindOCI, "127.0.0.1:5000/example/hello:1.0.0"},
		{"ghcr.io/org/app@sha256:" + strings.Repeat("a", 64), KindOCI, "ghcr.io/org/app@sha256:" + strings.Repeat("a", 64)},
		{"localhost:5000/app:latest", KindOCI, "localhost:5000/app:latest"},
		{"./app.wasm", KindPath, "./app.wasm"},
		{"app.wasm", KindPath, "app.wasm"},
		{"dir/app", KindPath, "dir/app"},
		{"/abs/dir", KindPath, "/abs/dir"},
		{".", KindPath, "."},
		{"bundle.tar", KindPath, "bundle.tar"},
		{"hello.wrun", KindPath, "hello.wrun"},
		{"ghcr.io/org/app", KindPath, "ghcr.io/org/app"}, // no tag: not OCI
	} {
		r, err := ParseRef(tc.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tc.in, err)
			continue
		}
		if r.Kind != tc.kind || r.String() != tc.want {
			t.Errorf("ParseRef(%q) = %v %q, want %v %q", tc.in, r.Kind, r.String(), tc.kind, tc.want)
		}
	}
}

func TestParseRefErrors(t *testing.T) {
	for _, in := range []string{"", "hello", "Example:hello", "example:", "example:hello@", "example:hello@not-a-version", "example:hello@>=banana", "ex_ample:hello"} {
		_, err := ParseRef(in)
		if !errors.Is(err, ErrInvalidRef) {
			t.Errorf("ParseRef(%q) = %v, want ErrInvalidRef", in, err)
			continue
		}
		if in != "" && !strings.Contains(err.Error(), in) {
			t.Errorf("ParseRef(%q): error %q does not name the input", in, err)
		}
	}
}

func TestVersionSpec(t *testing.T) {
	tags := []string{"0.9.0", "1.0.0", "1.2.0", "1.2.5", "1.3.0", "2.0.0", "2.1.0-rc.1", "latest", "v3"}
	for _, tc := range []struct{ spec, want string }{
		{"", "2.0.0"},
		{"1.2.0", "1.2.0"},
		{"^1.2", "1.3.0"},
		{"~1.2.3", "1.2.5"},
		{">=1.0, <2", "1.3.0"},
		{"^0.9", "0.9.0"},
		{">=2.1.0-rc.0", "2.1.0-rc.1"},
		{"^3", ""},
	} {
		spec, err := ParseVersionSpec(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := newestMatching(tags, spec)
		if tc.want == "" {
			if ok {
				t.Errorf("%q matched %s, want nothing", tc.spec, got)
			}
			continue
		}
		if !ok || got.Original() != tc.want {
			t.Errorf("newest for %q = %v, want %s", tc.spec, got, tc.want)
		}
	}
	if _, ok := ExactVersion(semver.MustParse("1.0.0")).Exact(); !ok {
		t.Error("ExactVersion is not exact")
	}
}
