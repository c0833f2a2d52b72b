package bundle_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
)

const goodManifest = `[package]
name = "example:hello"        # namespace:name
version = "1.0.0"
kind = "component"
description = "Says hello"
authors = ["A. Author <a@example.com>"]
license = "Apache-2.0"
homepage = "https://example.com"
source = "https://example.com/src"

[run]
wasm = "component.wasm"
args = ["/app/main.py"]
env = { KEY = "value" }

[[assets]]
from = "static"
to = "/static"

[[assets]]
from = "app"
to = "/app"

[dependencies]
"example:lib" = { version = "^1.0", to = "/usr/local/lib/python3.11/site-packages/lib" }

[[mounts]]
to = "/data"
access = "rw"
required = true

[preinit]
init = "wizer.initialize"
mounts = ["/static"]

[test]
args = ["-m", "unittest", "discover", "-s", "/app"]
`

func TestParseManifest(t *testing.T) {
	m, err := bundle.ParseManifest("wrun.toml", []byte(goodManifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Package.Name != "example:hello" || m.Run.Env["KEY"] != "value" || len(m.Assets) != 2 ||
		m.Dependencies["example:lib"].Version != "^1.0" || !m.Mounts[0].Required || m.Preinit.Init != "wizer.initialize" ||
		len(m.Test.Args) != 5 {
		t.Fatalf("%+v", m)
	}
}

func TestParseManifestErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
		line            int
	}{
		{"syntax", "[package]\nname = \"example:x\n", "wrun.toml:2", 2},
		{"unknown key", "[package]\nkind = \"assets\"\nnmae = \"x\"\n", `package.nmae: unknown key "nmae" (did you mean "name"?); [package] allows: name, version`, 3},
		{"unknown table", "[pacakge]\nname = \"a:b\"\n", `unknown key "pacakge" (did you mean "package"?)`, 1},
		{"unknown asset key", "[[assets]]\nfrom = \"a\"\nto = \"/a\"\n[[assets]]\nfrom = \"b\"\ntoo = \"/b\"\n", `assets.too: unknown key "too" (did you mean "to"?)`, 6},
		{"unknown dep key", "[dependencies]\n\"a:b\" = { version = \"1\", too = \"/x\" }\n", `unknown key "too"`, 2},
		{"bad kind", "[package]\nkind = \"app\"\n", `package.kind: "app" is not a package kind; allowed: component, module, assets`, 2},
		{"bad name", "[package]\nname = \"Hello\"\nkind = \"assets\"\n", `package.name: "Hello" is not a package name`, 2},
		{"bad version", "[package]\nkind = \"assets\"\nversion = \"1.0\"\n", `package.version: "1.0" is not a semantic version`, 3},
		{"wrong type", "[package]\nname = 3\n", `wrun.toml:2: package.name: wrong type: the value is a TOML int64, want string`, 2},
		{"no wasm", "[package]\nkind = \"component\"\n", "run.wasm: a component package needs run.wasm", 0},
		{"both", "[run]\nwasm = \"a.wasm\"\nruntime = \"python:cpython@^3.11\"\n", "set either run.wasm", 3},
		{"bad wasm path", "[run]\nwasm = \"../a.wasm\"\n", `run.wasm: invalid path "../a.wasm": ".." segment`, 2},
		{"bad runtime", "[run]\nruntime = \"python\"\n", `run.runtime: "python" is not a package reference`, 2},
		{"bad asset to", "[run]\nwasm = \"a.wasm\"\n[[assets]]\nfrom = \"s\"\nto = \"static\"\n[[assets]]\nfrom = \"t\"\nto = \"rel\"\n", `assets[0].to: "static" is not a clean absolute guest path`, 5},
		{"second asset", "[run]\nwasm = \"a.wasm\"\n[[assets]]\nfrom = \"s\"\nto = \"/s\"\n[[assets]]\nfrom = \"t\"\nto = \"rel\"\n", `assets[1].to: "rel" is not a clean absolute guest path`, 8},
		{"dup guest path", "[run]\nwasm = \"a.wasm\"\n[[assets]]\nfrom = \"s\"\nto = \"/s\"\n[[mounts]]\nto = \"/s\"\n", `mounts[0].to: guest path "/s" is already used by assets[0].to`, 7},
		{"bad access", "[run]\nwasm = \"a.wasm\"\n[[mounts]]\nto = \"/d\"\naccess = \"x\"\n", `mounts[0].access: "x" is not an access mode; allowed: ro, rw`, 5},
		{"bad dep range", "[run]\nwasm = \"a.wasm\"\n[dependencies]\n\"a:b\" = { version = \"^^1\", to = \"/x\" }\n", `dependencies."a:b".version: "^^1" is not a version range`, 4},
		{"bad dep name", "[run]\nwasm = \"a.wasm\"\n[dependencies]\nlib = { version = \"1\", to = \"/x\" }\n", `dependencies.lib: "lib" is not a package name`, 4},
		{"preinit no init", "[run]\nwasm = \"a.wasm\"\n[preinit]\nmounts = []\n", "preinit.init: missing", 3},
		{"reserved", "[run]\nwasm = \".wrun/a.wasm\"\n", "reserved directory", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := bundle.ParseManifest("wrun.toml", []byte(c.src))
			if !errors.Is(err, bundle.ErrInvalidManifest) {
				t.Fatalf("err = %v, want ErrInvalidManifest", err)
			}
			var me *bundle.ManifestError
			if !errors.As(err, &me) || me.Line != c.line || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %q (line %d), want %q at line %d", err, me.Line, c.want, c.line)
			}
			t.Log(err)
		})
	}
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(goodManifest))
	f.Add([]byte("[package]\nkind = \"assets\"\n"))
	f.Add([]byte("[[assets]]\nfrom = \"a\"\nto = \"/a\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := bundle.ParseManifest("wrun.toml", b)
		if err != nil {
			var me *bundle.ManifestError
			if !errors.As(err, &me) || !errors.Is(err, bundle.ErrInvalidManifest) {
				t.Fatalf("error of the wrong type: %v", err)
			}
			return
		}
		if m.Package.Kind == "" {
			t.Fatal("kind not defaulted")
		}
	})
}

func TestCheckMounts(t *testing.T) {
	m, err := bundle.ParseManifest("wrun.toml", []byte(goodManifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckMounts(func(to string) bool { return to == "/data" }); err != nil {
		t.Fatal(err)
	}
	err = m.CheckMounts(func(string) bool { return false })
	var me *bundle.MissingMountError
	if !errors.As(err, &me) || err.Error() != "example:hello requires a host directory at /data (rw): add --mount HOST_DIR:/data" {
		t.Fatalf("%v", err)
	}
}

func TestAssetsPackageMountsAtItsRoot(t *testing.T) {
	lib := "[package]\nname = \"example:lib\"\nversion = \"1.0.0\"\nkind = \"assets\"\n[[assets]]\nfrom = \"lib\"\nto = \"/\"\n"
	if _, err := bundle.ParseManifest("wrun.toml", []byte(lib)); err != nil {
		t.Fatalf("an assets package may place its files at its mount point: %v", err)
	}
	app := "[package]\nname = \"example:app\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nwasm = \"a.wasm\"\n[[assets]]\nfrom = \"lib\"\nto = \"/\"\n"
	if _, err := bundle.ParseManifest("wrun.toml", []byte(app)); err == nil || !strings.Contains(err.Error(), "cannot be mounted over") {
		t.Fatalf("a component mounting over /: %v", err)
	}
}
