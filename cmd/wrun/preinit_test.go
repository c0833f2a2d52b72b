package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPreinitTable(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(t.TempDir(), "pretable.pre.wasm")
	r := c.run("preinit", guest(t, "c/pretable"), "-o", out)
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "data segments") {
		t.Fatalf("preinit: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = c.run("run", out)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "initialized by snapshot\ninit calls 1\n") {
		t.Errorf("run after preinit: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	plain := c.run("run", guest(t, "c/pretable"))
	if want := strings.Replace(plain.stdout, "by main", "by snapshot", 1); r.stdout != want {
		t.Errorf("run after preinit: got %q, want %q", r.stdout, want)
	}
	// No temporary file is left beside the output.
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("output directory holds %d entries, want only the output", len(entries))
	}
}

func TestPreinitMountEnvAndKeep(t *testing.T) {
	c := newCLI(t)
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "config.txt"), []byte("mode = fast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "prefile.pre.wasm")
	r := c.run("preinit", "--mount", data+":/data:ro", "--keep-init-func", guest(t, "c/prefile"), "-o", out)
	if r.code != 0 {
		t.Fatalf("preinit: code %d stderr %q", r.code, r.stderr)
	}
	r = c.run("run", out)
	if want := "initialized by snapshot\ninit calls 1\nconfig: mode = fast\n"; r.stdout != want {
		t.Errorf("run after preinit: got %q, want %q (stderr %q)", r.stdout, want, r.stderr)
	}

	// --asset gives the init the directory read-only behind an overlay.
	out2 := filepath.Join(t.TempDir(), "prefile.asset.wasm")
	if r := c.run("preinit", "--asset", data+":/data", guest(t, "c/prefile"), "-o", out2); r.code != 0 {
		t.Fatalf("preinit --asset: %+v", r)
	}
	if r := c.run("run", out2); r.stdout != "initialized by snapshot\ninit calls 1\nconfig: mode = fast\n" {
		t.Errorf("run after preinit --asset: %+v", r)
	}

	// The init leaves the file open: refused, and the existing output stays.
	r = c.run("preinit", "--mount", data+":/data:ro", "--env", "PREFILE_LEAK=1", guest(t, "c/prefile"), "-o", out)
	r.wantError(t, "init left files open", "config.txt", "prefile.wasm")
	r = c.run("run", out)
	if !strings.Contains(r.stdout, "mode = fast") {
		t.Errorf("the previous output was damaged by a failed preinit: %q", r.stdout)
	}
}

func TestPreinitRandomWarning(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(t.TempDir(), "prerandom.pre.wasm")
	r := c.run("preinit", guest(t, "c/prerandom"), "-o", out)
	if r.code != 0 || !strings.HasPrefix(r.stderr, "wrun: warning: ") || !strings.Contains(r.stderr, "random_get") ||
		!strings.Contains(r.stderr, "--allow-random") {
		t.Errorf("preinit: code %d stderr %q, want a warning naming random_get and --allow-random", r.code, r.stderr)
	}
	r = c.run("preinit", "--allow-random", guest(t, "c/prerandom"), "-o", out)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("--allow-random: code %d stderr %q, want no warning", r.code, r.stderr)
	}
}

func TestPreinitInheritStdio(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(t.TempDir(), "out.wasm")
	r := c.run("preinit", "--inherit-stdio", guest(t, "c/prefile"), "-o", out)
	// The init's own stderr comes first, then wrun's error.
	if r.code != 1 || !strings.HasPrefix(r.stderr, "open /data/config.txt: ") || !strings.Contains(r.stderr, "\nwrun: ") ||
		!strings.Contains(r.stderr, "exited with code 2") {
		t.Errorf("code %d stderr %q, want the init's message then wrun's error", r.code, r.stderr)
	}
}

func TestPreinitErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.wasm")
	for _, tc := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"no output", []string{"preinit", guest(t, "c/pretable")}, []string{"--output (-o) is required"}},
		{"no input", []string{"preinit", filepath.Join(dir, "missing.wasm"), "-o", out}, []string{"missing.wasm", "no such file"}},
		{"not wasm", []string{"preinit", "preinit.go", "-o", out}, []string{"preinit.go", "not a WebAssembly binary"}},
		{"bad env", []string{"preinit", "--env", "NOVALUE", guest(t, "c/pretable"), "-o", out}, []string{`--env "NOVALUE"`, "KEY=VALUE"}},
		{"bad mount", []string{"preinit", "--mount", "nocolon", guest(t, "c/pretable"), "-o", out}, []string{`--mount "nocolon"`}},
		{"bad max segments", []string{"preinit", "--max-segments", "0", guest(t, "c/pretable"), "-o", out}, []string{"--max-segments 0", "at least 1"}},
		{"no init export", []string{"preinit", "--init-func", "setup", guest(t, "c/pretable"), "-o", out}, []string{`no function export "setup"`}},
		{"missing mount", []string{"preinit", guest(t, "c/prefile"), "-o", out}, []string{"prefile.wasm", "init failed", "exited with code 2"}},
		{"trap", []string{"preinit", guest(t, "wat/pretrap"), "-o", out}, []string{"pretrap.wasm", "init failed", "unreachable"}},
		{"non-WASI import", []string{"preinit", guest(t, "wat/prehostcall"), "-o", out}, []string{"not WASI", `"env"."host_log"`}},
		{"imported memory", []string{"preinit", guest(t, "wat/preimpmem"), "-o", out}, []string{"cannot be snapshotted", `memory "env"."memory"`}},
		{"table changed", []string{"preinit", guest(t, "wat/pretablemut"), "-o", out}, []string{"changed element 1 of table 0"}},
		{"output directory missing", []string{"preinit", guest(t, "c/pretable"), "-o", filepath.Join(dir, "no", "out.wasm")}, []string{"no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newCLI(t).run(tc.args...).wantError(t, tc.fragments...)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a failed preinit wrote %s", out)
			}
		})
	}
}
