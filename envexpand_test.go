package wrun_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun"
	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/registryclient"
)

// ${NAME} in an app's [run] env expands to the value its runtime package
// sets, so the app extends PYTHONPATH-like lists instead of replacing
// them; an unset name expands to nothing and takes its ':' along; "$$" is
// a "$"; [test] env expands against the run's environment; the host's
// environment never shows through.
func TestEnvExpansion(t *testing.T) {
	t.Setenv("WRUN_HOME", t.TempDir())
	t.Setenv("HOSTONLY", "leaked")
	client, err := registryclient.New(registryclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, client, writePkg(t, `[package]
name = "test:rt"
version = "1.0.0"
kind = "module"
[run]
wasm = "module.wasm"
env = { LIST = "/rt/lib", KEEP = "kept", SELF = "${SELF}x" }
`, map[string][]byte{"module.wasm": testenv.GuestBytes(t, "c/echo")}))

	app := writePkg(t, `[package]
name = "test:envapp"
version = "1.0.0"
[run]
runtime = "test:rt@^1"
[run.env]
LIST = "/app/src:${LIST}"
AFTER = "${LIST}:/after"
UNSET = "/app/src:${NOPE}"
UNSET2 = "${NOPE}:/app/src"
MIDDLE = "a:${NOPE}:b"
HOST = "${HOSTONLY}"
DOLLAR = "$$HOME costs $$5"
[test]
args = ["t"]
[test.env]
LIST = "/tests:${LIST}"
`, map[string][]byte{"app/x.txt": []byte("x")})
	p := loadPackage(t, app)
	got := envOf(t, func(cfg wrun.RunConfig) error { return p.Run(context.Background(), cfg) })
	want := map[string]string{
		"LIST": "/app/src:/rt/lib", "AFTER": "/rt/lib:/after", "KEEP": "kept", "SELF": "x",
		"UNSET": "/app/src", "UNSET2": "/app/src", "MIDDLE": "a:b", "HOST": "", "DOLLAR": "$HOME costs $5",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	got = envOf(t, func(cfg wrun.RunConfig) error { return p.Test(context.Background(), cfg) })
	if got["LIST"] != "/tests:/app/src:/rt/lib" || got["KEEP"] != "kept" {
		t.Errorf("[test] env: LIST = %q, KEEP = %q", got["LIST"], got["KEEP"])
	}
}

// envOf runs the echo guest through do and returns the environment it saw.
func envOf(t *testing.T, do func(wrun.RunConfig) error) map[string]string {
	t.Helper()
	var out bytes.Buffer
	if err := do(wrun.NewRunConfig().WithStdout(&out).WithStdin(strings.NewReader(""))); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	env := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if kv, ok := strings.CutPrefix(line, "env "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	return env
}
