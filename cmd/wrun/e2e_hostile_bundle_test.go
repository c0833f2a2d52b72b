package main

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/internal/registrytest"
)

// Issue 10: hostile package directories, bundles and modules through the
// real binary: each is refused in one line, or bounded, and nothing outside
// the package, the output or the store is read or written.

// secretDir is a directory outside every package, holding what a
// symlink in a package would leak: sub/key and x.wasm (a real guest).
func secretDir(t *testing.T) string {
	t.Helper()
	return writeTree(t, map[string]string{
		"sub/key": "SECRET-KEY-MATERIAL\n",
		"x.wasm":  readFile(t, guest(t, "c/cat")),
	})
}

// storeFiles lists the local store, for "nothing was published" checks.
func storeFiles(t *testing.T, c *cli) []string {
	t.Helper()
	return entries(t, filepath.Join(c.home, "store"))
}

func TestHostileBundleSymlinkedFolder(t *testing.T) {
	secret := secretDir(t)
	cases := map[string]struct {
		manifest string
		key      string
	}{
		"assets under a link": {catManifest("example:leak", "1.0.0") + "[[assets]]\nfrom = \"lnk/sub\"\nto = \"/keys\"\n", `assets[1].from "lnk/sub"`},
		"wasm under a link": {`[package]
name = "example:leak"
version = "1.0.0"
[run]
wasm = "lnk/x.wasm"
`, `run.wasm "lnk/x.wasm"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newCLI(t)
			dir := catPackage(t, tc.manifest, map[string]string{"static/hello.txt": "hi\n"})
			if err := os.Symlink(secret, filepath.Join(dir, "lnk")); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			os.MkdirAll(out, 0o755)
			c.dir = out
			before := storeFiles(t, c)
			for _, args := range [][]string{
				{"build", dir, "-o", "leak.wrun"},
				{"run", dir, "/keys/key"},
				{"publish", dir},
				{"inspect", dir},
				{"digest", dir},
			} {
				r := c.run(args...)
				r.wantError(t, tc.key, `"lnk" is a symlink`)
				if strings.Contains(r.stdout+r.stderr, "SECRET") {
					t.Errorf("%v leaked the secret: %+v", args, r)
				}
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Errorf("build wrote %v", ents)
			}
			if after := storeFiles(t, c); len(after) != len(before) {
				t.Errorf("publish changed the store: %v", after)
			}
		})
	}
}

func TestHostileBundleAssembleSymlink(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	if r := c.run("wasm", "explode", guest(t, "wat/reactor"), "-o", "x"); r.code != 0 {
		t.Fatalf("explode: %+v", r)
	}
	ents, err := os.ReadDir(filepath.Join(work, "x"))
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".bin") {
			victim = e.Name()
		}
	}
	secret := filepath.Join(secretDir(t), "sub", "key")
	os.Remove(filepath.Join(work, "x", victim))
	if err := os.Symlink(secret, filepath.Join(work, "x", victim)); err != nil {
		t.Fatal(err)
	}
	c.run("wasm", "assemble", "x", "-o", "y.wasm").wantError(t, "x: ", victim, "is a symlink")
	if _, err := os.Stat(filepath.Join(work, "y.wasm")); err == nil {
		t.Error("assemble wrote y.wasm")
	}
}

// hostileModules are modules whose declared counts exceed their bytes
// (issue 10's 15-byte module first); wazero's decoder allocated from
// each count before, and the process died of "out of memory".
var hostileModules = map[string]struct{ wasm, says string }{
	"data segments":  {"\x00asm\x01\x00\x00\x00\x0b\x05\xff\xff\xff\xff\x0f", "data section: segments (declares 4294967295 elements"},
	"data count":     {"\x00asm\x01\x00\x00\x00\x0c\x05\xff\xff\xff\xff\x0f", "data count section declares 4294967295 data segments"},
	"locals":         {"\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x0a\x01\x08\x01\xff\xff\xff\xff\x0f\x7f\x0b", "declares 4294967295 locals or more, more than 50000"},
	"types":          {"\x00asm\x01\x00\x00\x00\x01\x05\xff\xff\xff\xff\x0f", "type section: types (declares 4294967295 elements"},
	"type params":    {"\x00asm\x01\x00\x00\x00\x01\x08\x01\x60\xff\xff\xff\xff\x0f\x00", "function type: parameters (declares 4294967295 elements"},
	"imports":        {"\x00asm\x01\x00\x00\x00\x02\x05\xff\xff\xff\xff\x0f", "import section: imports (declares 4294967295 elements"},
	"function names": {"\x00asm\x01\x00\x00\x00\x00\x0c\x04name\x01\x05\xff\xff\xff\xff\x0f", "name map (declares 4294967295 elements"},
}

func TestHostileBundleCounts(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	for name, m := range hostileModules {
		file := strings.ReplaceAll(name, " ", "_") + ".wasm"
		if err := os.WriteFile(filepath.Join(work, file), []byte(m.wasm), 0o644); err != nil {
			t.Fatal(err)
		}
		c.run("run", file).wantError(t, file, m.says)
		c.run("inspect", file).wantError(t, file, m.says)
		c.run("preinit", file, "-o", "out.wasm").wantError(t, file, m.says)
	}
	// In a package: build, run DIR and publish refuse it, naming the wasm.
	dir := writeTree(t, map[string]string{
		"wrun.toml":      "[package]\nname = \"example:oom\"\nversion = \"1.0.0\"\n[run]\nwasm = \"component.wasm\"\n",
		"component.wasm": hostileModules["data segments"].wasm,
	})
	for _, args := range [][]string{{"build", dir, "-o", "oom.wrun"}, {"run", dir}, {"publish", dir}} {
		c.run(args...).wantError(t, `run.wasm "component.wasm"`, "declares 4294967295 elements")
	}
	if _, err := os.Stat(filepath.Join(work, "oom.wrun")); err == nil {
		t.Error("build wrote oom.wrun")
	}
}

func TestHostileBundleInspectSignature(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	if r := c.run("key", "generate", "-o", "k1"); r.code != 0 {
		t.Fatalf("key generate: %+v", r)
	}
	dir := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "signed\n"})
	if r := c.run("build", dir, "-o", "s1.wrun", "--sign", "k1"); r.code != 0 {
		t.Fatalf("build: %+v", r)
	}
	b := readFile(t, filepath.Join(work, "s1.wrun"))
	i := strings.Index(b, "signed\n")
	tampered := b[:i] + "SIGNED\n" + b[i+7:]
	os.WriteFile(filepath.Join(work, "tampered.wrun"), []byte(tampered), 0o644)

	signedLine := func(r result) string {
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, "signed ") {
				return l
			}
		}
		t.Fatalf("no signed line: %+v", r)
		return ""
	}
	if l := signedLine(c.run("inspect", "tampered.wrun")); !strings.Contains(l, "invalid") || !strings.Contains(l, "digest mismatch") {
		t.Errorf("tampered: %q", l)
	}
	if l := signedLine(c.run("inspect", "s1.wrun")); !strings.Contains(l, "unverified") || !strings.Contains(l, `no key is trusted for namespace "example"`) {
		t.Errorf("no trusted key: %q", l)
	}
	if r := c.run("key", "trust", "example", "k1.pub"); r.code != 0 {
		t.Fatalf("key trust: %+v", r)
	}
	id := keyID(t, c)
	if l := signedLine(c.run("inspect", "s1.wrun")); !strings.Contains(l, "verified") || strings.Contains(l, "unverified") || !strings.Contains(l, id) {
		t.Errorf("trusted key %s: %q", id, l)
	}
	if l := signedLine(c.run("inspect", "tampered.wrun")); !strings.Contains(l, "invalid") {
		t.Errorf("tampered, trusted key: %q", l)
	}
	if r := c.run("inspect", "--json", "tampered.wrun"); !strings.Contains(r.stdout, `"status": "invalid"`) {
		t.Errorf("--json: %s", r.stdout)
	}
}

func TestHostileBundleInspectEscapes(t *testing.T) {
	c := newCLI(t)
	dir := catPackage(t, `[package]
name = "example:esc"
version = "1.0.0"
description = "fine\u001b]0;owned\u0007 \u202eevil"
[run]
wasm = "component.wasm"
[[assets]]
from = "static"
to = "/static"
`, map[string]string{"static/a\x1b[31mb": "red\n", "static/x\ny": "newline\n"})
	for _, target := range []string{dir, "esc.wrun"} {
		if target == "esc.wrun" {
			c.dir = t.TempDir()
			if r := c.run("build", dir, "-o", "esc.wrun"); r.code != 0 {
				t.Fatalf("build: %+v", r)
			}
		}
		r := c.run("inspect", target)
		if r.code != 0 {
			t.Fatalf("inspect %s: %+v", target, r)
		}
		if strings.ContainsAny(r.stdout, "\x1b\x07\u202e") {
			t.Errorf("inspect %s printed raw control characters: %q", target, r.stdout)
		}
		for _, want := range []string{`static/a\x1b[31mb`, `static/x\ny`, `fine\x1b]0;owned\x07 \u202eevil`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("inspect %s does not show %s: %q", target, want, r.stdout)
			}
		}
	}
}

func TestHostileBundleNUL(t *testing.T) {
	c := newCLI(t)
	c.dir = t.TempDir()
	dir := catPackage(t, `[package]
name = "example:nul"
version = "1.0.0"
[run]
wasm = "component.wasm"
args = ["/static/hello.txt", "bad\u0000arg"]
[[assets]]
from = "static"
to = "/static"
`, map[string]string{"static/hello.txt": "hi\n"})
	for _, args := range [][]string{{"build", dir, "-o", "nul.wrun"}, {"run", dir}, {"publish", dir}} {
		r := c.run(args...)
		r.wantError(t, "wrun.toml:6: run.args[1]", "NUL")
		if strings.Contains(r.stderr, " @") || strings.Contains(r.stderr, "package @") {
			t.Errorf("%v names an empty package: %q", args, r.stderr)
		}
	}
	noName := catPackage(t, "[run]\nwasm = \"component.wasm\"\nenv = { K = \"v\\u0000\" }\n", nil)
	c.run("run", noName).wantError(t, "wrun.toml:3: run.env.K", "NUL")
}

// tarBundle writes a bundle by hand, entries in the order given.
func tarBundle(t *testing.T, name string, files ...[2]string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f[0], Size: int64(len(f[1])), Mode: 0o644, Format: tar.FormatUSTAR})
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHostileBundleFileAndDirectory(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	tarBundle(t, filepath.Join(work, "fd.wrun"),
		[2]string{"wrun.toml", catManifest("example:fd", "1.0.0")},
		[2]string{"component.wasm", readFile(t, guest(t, "c/cat"))},
		[2]string{"static/a", "file\n"},
		[2]string{"static/a/b", "a file under the file\n"},
	)
	before := storeFiles(t, c)
	for _, cmd := range []string{"publish", "inspect", "run"} {
		c.run(cmd, "fd.wrun").wantError(t, "fd.wrun", `"static/a" is a file and also a directory`)
	}
	if after := storeFiles(t, c); len(after) != len(before) {
		t.Errorf("publish changed the store: %v", after)
	}
}

func TestHostileBundleEmpty(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	os.WriteFile(filepath.Join(work, "empty.wrun"), nil, 0o644)
	for _, cmd := range []string{"inspect", "publish", "digest", "run"} {
		c.run(cmd, "empty.wrun").wantError(t, "empty.wrun", "the file is empty", "is a tar archive of a package's files", "wrun build DIR")
	}
}

func TestHostileBundleManySections(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	b := []byte("\x00asm\x01\x00\x00\x00")
	for len(b) < 1500000 { // 500,000 empty custom sections
		b = append(b, 0, 1, 0)
	}
	os.WriteFile(filepath.Join(work, "many.wasm"), b, 0o644)
	c.run("inspect", "many.wasm").wantError(t, "many.wasm", "more than 10000 sections")
	c.run("wasm", "explode", "many.wasm", "-o", "x").wantError(t, "many.wasm", "more than 10000 sections")
	c.run("digest", "many.wasm").wantError(t, "many.wasm", "more than 10000 sections")
	if _, err := os.Stat(filepath.Join(work, "x")); err == nil {
		t.Error("explode wrote x")
	}
}

// TestHostileBundleStaleTemp: a build killed with SIGKILL mid-write leaves
// its temporary bundle; the next successful build of the same output
// removes it once it is older than a minute (its writer's lock is gone).
func TestHostileBundleStaleTemp(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	dir := catPackage(t, catManifest("example:big", "1.0.0"), map[string]string{"static/hello.txt": "hi\n"})
	big, err := os.Create(filepath.Join(dir, "static", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(256 << 20)
	big.Close()

	leftover := ""
	for attempt := 0; attempt < 5 && leftover == ""; attempt++ {
		cmd := exec.Command(wrunBin, "build", dir, "-o", "out.wrun")
		cmd.Env = []string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}
		cmd.Dir = work
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			m, _ := filepath.Glob(filepath.Join(work, ".out.wrun.tmp-*"))
			if len(m) > 0 {
				if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 1<<20 {
					cmd.Process.Kill() // SIGKILL
					leftover = m[0]
					break
				}
			}
		}
		cmd.Wait()
		os.Remove(filepath.Join(work, "out.wrun"))
	}
	if leftover == "" {
		t.Fatal("could not catch the build mid-write")
	}
	if _, err := os.Stat(leftover); err != nil {
		t.Fatalf("kill -9 left no temporary file: %v", err)
	}
	// A minute later (moved back rather than waited for):
	old := time.Now().Add(-2 * time.Minute)
	os.Chtimes(leftover, old, old)
	os.Remove(filepath.Join(dir, "static", "big.bin"))
	if r := c.run("build", dir, "-o", "out.wrun"); r.code != 0 {
		t.Fatalf("build: %+v", r)
	}
	if _, err := os.Stat(leftover); err == nil {
		t.Errorf("the stale %s is still there after a successful build", filepath.Base(leftover))
	}
	if _, err := os.Stat(filepath.Join(work, "out.wrun")); err != nil {
		t.Errorf("build wrote no out.wrun: %v", err)
	}
}

// TestHostileBundleCountsPull: the 15-byte module pushed to a real registry
// as a CNCF Wasm artifact (by oras) is refused by pull and run, naming it.
func TestHostileBundleCountsPull(t *testing.T) {
	reg := registrytest.Start(t)
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	os.WriteFile(filepath.Join(work, "oom.wasm"), []byte(hostileModules["data segments"].wasm), 0o644)
	os.WriteFile(filepath.Join(work, "config.json"), []byte(`{"architecture":"wasm","os":"wasip1","layerDigests":[]}`), 0o644)
	oras(t, work, "push", "--plain-http", reg.Host+"/ext/oom:1.0.0",
		"--config", "config.json:application/vnd.wasm.config.v0+json", "oom.wasm:application/wasm")
	ref := reg.Host + "/ext/oom:1.0.0"
	c.run("pull", ref).wantError(t, ref, `run.wasm "oom.wasm"`, "declares 4294967295 elements")
	c.run("run", ref).wantError(t, ref, `run.wasm "oom.wasm"`, "declares 4294967295 elements")
}
