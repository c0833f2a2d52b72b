package pywheel

import (
	"errors"
	"testing"
)

func TestEvalMarker(t *testing.T) {
	env := WASI()
	for _, c := range []struct {
		marker string
		want   bool
	}{
		{`python_version >= "3.8"`, true},
		{`python_version < "3.10"`, false},
		{`python_full_version == "3.11.2"`, true},
		{`python_version ~= "3.11"`, true},
		{`sys_platform == "win32"`, false},
		{`sys_platform == "wasi"`, true},
		{`platform_system == "Windows"`, false},
		{`platform_system != "Windows"`, true},
		{`os_name == "nt"`, false},
		{`os_name == 'posix'`, true},
		{`platform_machine == "wasm32"`, true},
		{`implementation_name == "cpython"`, true},
		{`platform_python_implementation == "PyPy"`, false},
		{`"linux" in sys_platform`, false},
		{`"wa" in sys_platform`, true},
		{`sys_platform not in "win32 cygwin"`, true},
		{`python_version > "3.6" and (sys_platform == "win32" or os_name == "posix")`, true},
		{`python_version < "3" or python_version >= "3.12"`, false},
		{`extra == "test"`, false},
		{`os.name == "posix"`, true},
	} {
		got, err := EvalMarker(c.marker, env)
		if err != nil || got != c.want {
			t.Errorf("EvalMarker(%s) = %t, %v; want %t", c.marker, got, err, c.want)
		}
	}
	if got, _ := EvalMarker(`extra == "Test_Extra"`, env.WithExtra("test-extra")); !got {
		t.Error(`extra == "Test_Extra" with extra test-extra is false; extras compare normalized`)
	}
	for _, bad := range []string{`python_version >=`, `(python_version > "3"`, `foo == "1"`, `sys_platform < "linux"`, `python_version >= "3" xor`, `"a" ?? "b"`} {
		if _, err := EvalMarker(bad, env); !errors.Is(err, ErrMarker) {
			t.Errorf("EvalMarker(%s): %v, want an ErrMarker", bad, err)
		}
	}
}

func TestPackageName(t *testing.T) {
	for in, want := range map[string]string{"six": "pypi:six", "Zope.Interface": "pypi:zope-interface", "python_dateutil": "pypi:python-dateutil", "Jinja2": "pypi:jinja2", "more--itertools": "pypi:more-itertools"} {
		if got, err := PackageName(in); err != nil || got != want {
			t.Errorf("PackageName(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"2to3", "py-3x", "a_1b"} {
		if got, err := PackageName(in); err == nil {
			t.Errorf("PackageName(%s) = %q, want an error", in, got)
		}
	}
}
