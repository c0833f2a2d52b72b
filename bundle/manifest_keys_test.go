package bundle

import (
	"errors"
	"strings"
	"testing"
)

// [run] cwd and [test] cwd are clean absolute guest paths; env values use
// "$" only as ${NAME} or "$$"; dependencies may share a guest directory
// (they are stacked there), but not with [[assets]] or [[mounts]].
func TestManifestCwdEnvSharedTo(t *testing.T) {
	const head = "[package]\nname = \"a:b\"\nversion = \"1.0.0\"\n[run]\nwasm = \"a.wasm\"\n"
	good := []string{
		head + "cwd = \"/app\"\n",
		head + "cwd = \"/\"\n[test]\ncwd = \"/app/tests\"\n",
		head + "env = { P = \"/a:${P}\", Q = \"$$x\", R = \"${_R1}${P}\" }\n",
		head + "[dependencies]\n\"a:x\" = { version = \"1\", to = \"/lib\" }\n\"a:y\" = { version = \"1\", to = \"/lib\" }\n",
	}
	for _, m := range good {
		if _, err := ParseManifest("wrun.toml", []byte(m)); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	bad := []struct{ manifest, want string }{
		{head + "cwd = \"app\"\n", `run.cwd: "app" is not a clean absolute guest path`},
		{head + "cwd = \"/app/../x\"\n", `run.cwd: "/app/../x" is not a clean absolute guest path`},
		{head + "[test]\ncwd = \"/a/\"\n", `test.cwd: "/a/" is not a clean absolute guest path`},
		{head + "env = { P = \"$HOME\" }\n", `run.env.P: "$HOME": a '$' at byte 0 starts neither ${NAME}`},
		{head + "env = { P = \"${A:-x}\" }\n", `run.env.P: "${A:-x}"`},
		{head + "env = { P = \"x${\" }\n", `run.env.P`},
		{head + "[test]\nenv = { P = \"${1A}\" }\n", `test.env.P`},
		{head + "[[assets]]\nfrom = \"s\"\nto = \"/lib\"\n[dependencies]\n\"a:x\" = { version = \"1\", to = \"/lib\" }\n", `guest path "/lib" is already used by assets[0].to`},
	}
	for _, c := range bad {
		_, err := ParseManifest("wrun.toml", []byte(c.manifest))
		if !errors.Is(err, ErrInvalidManifest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.manifest, err, c.want)
		}
	}
}

func TestExpandEnv(t *testing.T) {
	base := map[string]string{"P": "/rt", "E": ""}
	for in, want := range map[string]string{
		"/a:${P}":      "/a:/rt",
		"${P}:/a":      "/rt:/a",
		"/a:${E}":      "/a",
		"${NOPE}:/a":   "/a",
		"a:${NOPE}:b":  "a:b",
		"${E}:${NOPE}": "",
		"$$${P}$$":     "$/rt$",
		"no dollar":    "no dollar",
		"x${P}y":       "x/rty",
		"::${NOPE}":    ":",
	} {
		if got := ExpandEnv(in, base); got != want {
			t.Errorf("ExpandEnv(%q) = %q, want %q", in, got, want)
		}
	}
}
