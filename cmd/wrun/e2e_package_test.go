package main

// End-to-end tests of packages through the real wrun binary: package
// directories and bundles, assets and mounts, signatures, the embedded local
// store and dependencies. Registry tests are in e2e_registry_test.go.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (relative path → content) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// catPackage writes a package directory running the cat guest with
// manifest as wrun.toml and files beside it.
func catPackage(t *testing.T, manifest string, files map[string]string) string {
	t.Helper()
	wasm, err := os.ReadFile(guest(t, "c/cat"))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"wrun.toml": manifest, "component.wasm": string(wasm)}
	for p, c := range files {
		all[p] = c
	}
	return writeTree(t, all)
}

// ok checks a successful run with the exact stdout and nothing on stderr
// (no progress bar either: stderr is not a terminal).
func (r result) ok(t *testing.T, what, stdout string) {
	t.Helper()
	if r.code != 0 || r.stdout != stdout || r.stderr != "" {
		t.Errorf("%s: exit %d, stdout %q, stderr %q, want exit 0, %q and no stderr", what, r.code, r.stdout, r.stderr, stdout)
	}
}

// readFile returns a file's content, failing the test if it is unreadable.
func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func catManifest(name, version string) string {
	return `[package]
name = "` + name + `"
version = "` + version + `"
kind = "component"
[run]
wasm = "component.wasm"
args = ["/static/hello.txt"]
[[assets]]
from = "static"
to = "/static"
`
}

func TestE2EPackageDirAndBundle(t *testing.T) {
	c := newCLI(t)
	dir := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{
		"static/hello.txt": "hello from an asset\n", "static/sub/a.txt": "a\n"})
	out := filepath.Join(t.TempDir(), "x.wrun")
	r := c.run("build", dir, "-o", out)
	digest := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(digest, "sha256:") || len(digest) != 71 {
		t.Fatalf("build: %+v", r)
	}
	if d := c.run("digest", dir); strings.TrimSpace(d.stdout) != digest {
		t.Errorf("digest of the directory %q, build printed %q", d.stdout, digest)
	}

	// The bundle and the directory run the same: [run] args, then the user's.
	for _, target := range []string{out, dir} {
		c.run("run", target).ok(t, "run "+target, "hello from an asset\n")
		c.run("run", target, "/static/", "/static/sub/a.txt").ok(t, "run "+target+" with args",
			"hello from an asset\n/static/hello.txt\n/static/sub\na\n")
		// The guest writes over an asset and adds a file: it sees its writes,
		// the next run and the package directory do not.
		c.run("run", target, "--", "-w", "/static/hello.txt", "changed\n", "-w", "/static/sub/new.txt", "new\n",
			"/static/hello.txt", "/static/sub/").ok(t, "writes under an asset path",
			"hello from an asset\nchanged\n/static/sub/a.txt\n/static/sub/new.txt\n")
		c.run("run", target, "/static/sub/").ok(t, "the next run", "hello from an asset\n/static/sub/a.txt\n")
	}
	if got := readFile(t, filepath.Join(dir, "static", "hello.txt")); got != "hello from an asset\n" {
		t.Errorf("a guest write changed the package directory: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "static", "sub", "new.txt")); !os.IsNotExist(err) {
		t.Errorf("a guest write created a file in the package directory (%v)", err)
	}
	if d := c.run("digest", dir); strings.TrimSpace(d.stdout) != digest {
		t.Errorf("the directory's digest changed after runs: %q", d.stdout)
	}
}

func TestE2EPackageArgsEnvMounts(t *testing.T) {
	c := newCLI(t)
	wasm := readFile(t, guest(t, "c/echo"))
	dir := writeTree(t, map[string]string{"component.wasm": wasm, "wrun.toml": `[package]
name = "example:echo"
version = "1.0.0"
[run]
wasm = "component.wasm"
args = ["--from-run", "two words"]
env = { GREETING = "hi there" }
[[mounts]]
to = "/data"
access = "rw"
required = true
`})
	// A required mount that was not granted stops the run before start.
	r := c.run("run", dir, "user")
	r.wantError(t, "example:echo", "/data", "--mount HOST_DIR:/data")
	if r.stdout != "" {
		t.Errorf("the guest started without its required mount: %q", r.stdout)
	}
	host := t.TempDir()
	r = c.run("run", "--mount", host+":/data", dir, "--", "u1", "--u2")
	want := "arg[0]=example:echo@1.0.0\narg[1]=--from-run\narg[2]=two words\narg[3]=u1\narg[4]=--u2\nenvc=1\nenv GREETING=hi there\n"
	r.ok(t, "granted mount", want)
	// --env adds to [run] env.
	r = c.run("run", "--mount", host+":/data", "--env", "EXTRA=1", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "envc=2\n") || !strings.Contains(r.stdout, "env GREETING=hi there\n") || !strings.Contains(r.stdout, "env EXTRA=1\n") {
		t.Errorf("[run] env with --env: %+v", r)
	}

	// The same published, through the shorthand with run flags before REF.
	if r := c.run("publish", dir); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	c.run("example:echo@1.0.0", "u1").wantError(t, "--mount HOST_DIR:/data")
	c.run("--mount", host+":/data", "example:echo@1.0.0", "--", "u1", "--u2").ok(t, "wrun FLAGS REF -- ARGS", want)

	// The granted mount is the host directory: the guest's writes land there.
	cat := catPackage(t, catManifest("example:cat", "1.0.0")+"[[mounts]]\nto = \"/data\"\naccess = \"rw\"\nrequired = true\n",
		map[string]string{"static/hello.txt": "hi\n"})
	c.run("run", cat).wantError(t, "--mount HOST_DIR:/data")
	c.run("run", "--mount", host+":/data", cat, "--", "-w", "/data/out.txt", "kept\n", "/data/out.txt").ok(t, "write to the mount", "hi\nkept\n")
	if got := readFile(t, filepath.Join(host, "out.txt")); got != "kept\n" {
		t.Errorf("the write did not reach the host: %q", got)
	}
}

func TestE2EHostAssetAndTmp(t *testing.T) {
	c := newCLI(t)
	host := writeTree(t, map[string]string{"index.html": "<h1>hi</h1>\n"})
	cat := guest(t, "c/cat")
	c.run("run", "--asset", host+":/static", cat,
		"--", "-w", "/static/index.html", "changed\n", "-w", "/static/new.txt", "new\n",
		"/static/index.html", "/static/").ok(t, "--asset", "changed\n/static/index.html\n/static/new.txt\n")
	if got := readFile(t, filepath.Join(host, "index.html")); got != "<h1>hi</h1>\n" {
		t.Errorf("--asset: the host file changed: %q", got)
	}
	if ents, _ := os.ReadDir(host); len(ents) != 1 {
		t.Errorf("--asset: the host dir holds %d entries, want 1", len(ents))
	}
	c.run("run", "--asset", host+":/static", cat, "/static/index.html").ok(t, "--asset next run", "<h1>hi</h1>\n")
	c.run("run", "--asset", host, cat).wantError(t, "--asset", "want DIR:GUEST")

	// /tmp: none for a plain .wasm unless --tmp asks (as under wazero's
	// CLI), there for a package; absent with --tmp 0, capped by --tmp SIZE.
	r := c.run("run", cat, "--", "-w", "/tmp/x", "y")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "write /tmp/x: ") {
		t.Errorf("a .wasm has no /tmp by default: %+v", r)
	}
	c.run("run", "--tmp", "16MiB", cat, "--", "-w", "/tmp/x", "scratch\n", "/tmp/x").ok(t, "/tmp", "scratch\n")
	r = c.run("run", "--tmp", "0", cat, "--", "-w", "/tmp/x", "y")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "write /tmp/x: ") {
		t.Errorf("--tmp 0: %+v", r)
	}
	big := strings.Repeat("a", 4096)
	r = c.run("run", "--tmp", "1KiB", cat, "--", "-w", "/tmp/x", big)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "write /tmp/x: ") {
		t.Errorf("--tmp 1KiB, 4 KiB write: %+v", r)
	}
	c.run("run", "--tmp", "1KiB", cat, "--", "-w", "/tmp/x", "small\n", "/tmp/x").ok(t, "--tmp 1KiB, small write", "small\n")
	c.run("run", "--tmp", "lots", cat).wantError(t, `--tmp "lots"`)
}

func TestE2ESignatures(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	c.dir = work
	for _, k := range []string{"k1", "k2"} {
		r := c.run("key", "generate", "-o", k)
		if r.code != 0 || !strings.HasPrefix(r.stdout, k+"\t"+k+".pub\t") {
			t.Fatalf("key generate: %+v", r)
		}
	}
	c.run("key", "generate", "-o", "k1").wantError(t, "k1 exists")
	dir := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "signed\n"})
	build := func(out string, args ...string) {
		t.Helper()
		if r := c.run(append([]string{"build", dir, "-o", out}, args...)...); r.code != 0 {
			t.Fatalf("build %s: %+v", out, r)
		}
	}
	build("s1.wrun", "--sign", "k1")
	build("s2.wrun", "--sign", "k2")
	build("unsigned.wrun")
	// A signed bundle whose content was changed never runs, trusted keys or not.
	b := readFile(t, filepath.Join(work, "s1.wrun"))
	i := strings.Index(b, "signed\n")
	if i < 0 {
		t.Fatal("asset not found in the bundle")
	}
	tampered := b[:i] + "SIGNED\n" + b[i+7:]
	if err := os.WriteFile(filepath.Join(work, "tampered.wrun"), []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each step is a subtest so that one failure does not hide the rest
	// (they share c's home, in order).
	t.Run("tampered", func(t *testing.T) {
		r := c.on(t).run("run", "tampered.wrun")
		r.wantError(t, "tampered.wrun", "digest mismatch")
		if r.stdout != "" {
			t.Errorf("a tampered bundle ran: %q", r.stdout)
		}
	})

	// No trusted keys: everything runs.
	t.Run("no trusted keys", func(t *testing.T) {
		for _, f := range []string{"s1.wrun", "s2.wrun", "unsigned.wrun"} {
			c.on(t).run("run", f).ok(t, f+" with no trusted keys", "signed\n")
		}
	})
	t.Run("trusted key", func(t *testing.T) {
		c := c.on(t)
		if r := c.run("key", "trust", "example", "k1.pub"); r.code != 0 || !strings.HasSuffix(r.stdout, ".pub\n") {
			t.Fatalf("key trust: %+v", r)
		}
		c.run("run", "s1.wrun").ok(t, "signed by the trusted key", "signed\n")
		c.run("run", "s2.wrun").wantError(t, "s2.wrun", "signature does not verify", `trusted for namespace "example"`)
		c.run("run", "unsigned.wrun").wantError(t, "unsigned.wrun", "unsigned", `namespace "example" has trusted keys`, "--sign")
		c.run("run", "tampered.wrun").wantError(t, "tampered.wrun", "digest mismatch")
	})

	// Through the local store: a signed publish runs, an unsigned one and one
	// signed by another key are refused.
	t.Run("store", func(t *testing.T) {
		c := c.on(t)
		if r := c.run("publish", "--sign", "k1", dir); r.code != 0 || !strings.HasPrefix(r.stdout, "published example:cat@1.0.0\n") {
			t.Fatalf("publish --sign: %+v", r)
		}
		c.run("example:cat@1.0.0").ok(t, "signed package from the store", "signed\n")
		if r := c.run("pull", "example:cat@1.0.0"); r.code != 0 || !strings.HasSuffix(r.stdout, "(signed by "+keyID(t, c)+")\n") {
			t.Errorf("pull of a signed package: %+v", r)
		}
		dir11 := catPackage(t, catManifest("example:cat", "1.1.0"), map[string]string{"static/hello.txt": "unsigned\n"})
		dir12 := catPackage(t, catManifest("example:cat", "1.2.0"), map[string]string{"static/hello.txt": "other key\n"})
		if r := c.run("publish", dir11); r.code != 0 {
			t.Fatalf("publish unsigned: %+v", r)
		}
		if r := c.run("publish", "--sign", "k2", dir12); r.code != 0 {
			t.Fatalf("publish signed by k2: %+v", r)
		}
		c.run("example:cat@1.1.0").wantError(t, "example", "unsigned", "--sign")
		c.run("example:cat@1.2.0").wantError(t, "example", "signature does not verify")
		c.run("run", "unsigned.wrun").wantError(t, "unsigned")
	})

	// A signed bundle publishes with its own signature; --sign replaces it.
	t.Run("signed bundle", func(t *testing.T) {
		c := c.on(t)
		dir2 := catPackage(t, catManifest("example:cat", "2.0.0"), map[string]string{"static/hello.txt": "two\n"})
		if r := c.run("build", dir2, "-o", "v2-k2.wrun", "--sign", "k2"); r.code != 0 {
			t.Fatalf("build: %+v", r)
		}
		if r := c.run("publish", "--sign", "k1", "v2-k2.wrun"); r.code != 0 {
			t.Fatalf("publish --sign k1 of a bundle signed by k2: %+v", r)
		}
		c.run("example:cat@2.0.0").ok(t, "re-signed by --sign", "two\n")
		dir3 := catPackage(t, catManifest("example:cat", "3.0.0"), map[string]string{"static/hello.txt": "three\n"})
		if r := c.run("build", dir3, "-o", "v3-k1.wrun", "--sign", "k1"); r.code != 0 {
			t.Fatalf("build: %+v", r)
		}
		if r := c.run("publish", "v3-k1.wrun"); r.code != 0 {
			t.Fatalf("publish a signed bundle: %+v", r)
		}
		c.run("example:cat@3.0.0").ok(t, "the bundle's own signature", "three\n")
	})
}

// keyID returns the id of the one key trusted for namespace example, read
// back from the trust store's file name.
func keyID(t *testing.T, c *cli) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(c.home, "keys", "example"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("trust store: %v %v", ents, err)
	}
	return strings.TrimSuffix(ents[0].Name(), ".pub")
}

func TestE2ELocalStore(t *testing.T) {
	c := newCLI(t)
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0-rc.1"} {
		dir := catPackage(t, catManifest("example:x", v), map[string]string{"static/hello.txt": "x " + v + "\n"})
		r := c.run("publish", dir)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "published example:x@"+v+"\ncontent sha256:") {
			t.Fatalf("publish %s: %+v", v, r)
		}
	}
	store := filepath.Join(c.home, "store")
	lsWant := "PACKAGE    VERSIONS                REGISTRY\nexample:x  1.0.0 1.1.0 2.0.0-rc.1  local store " + store + "\n"
	r := c.run("ls")
	if r.code != 0 || r.stdout != lsWant {
		t.Errorf("ls: %+v", r)
	}
	if r2 := c.run("ls", "example:x"); r2.stdout != r.stdout {
		t.Errorf("ls example:x: %+v", r2)
	}
	if r := c.run("ls", "other"); r.code != 0 || r.stdout != "" || r.stderr != "no packages\n" {
		t.Errorf("ls other: %+v", r)
	}
	r = c.run("ls", "--json")
	var ls []struct {
		Name     string   `json:"name"`
		Registry string   `json:"registry"`
		Versions []string `json:"versions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ls); err != nil || r.code != 0 {
		t.Fatalf("ls --json: %v %+v", err, r)
	}
	if len(ls) != 1 || ls[0].Name != "example:x" || strings.Join(ls[0].Versions, " ") != "1.0.0 1.1.0 2.0.0-rc.1" || !strings.Contains(ls[0].Registry, store) {
		t.Errorf("ls --json: %+v", ls)
	}

	c.run("example:x@1.0.0").ok(t, "exact", "x 1.0.0\n")
	c.run("example:x@^1").ok(t, "range", "x 1.1.0\n")
	c.run("example:x@~1.0").ok(t, "tilde range", "x 1.0.0\n")
	c.run("example:x").ok(t, "newest non-prerelease", "x 1.1.0\n")
	c.run("example:x@2.0.0-rc.1").ok(t, "exact prerelease", "x 2.0.0-rc.1\n")
	c.run("run", "example:x@1.0.0", "--", "/static/").ok(t, "run REF -- ARGS", "x 1.0.0\n/static/hello.txt\n")
	c.run("example:x@1.0.0", "--", "/static/").ok(t, "REF -- ARGS", "x 1.0.0\n/static/hello.txt\n")
	c.run("example:x@3.0.0").wantError(t, "example:x", "3.0.0", "versions: 1.0.0, 1.1.0, 2.0.0-rc.1")
	c.run("example:x@^3").wantError(t, "example:x", "^3", "versions: 1.0.0, 1.1.0")
	c.run("example:nope").wantError(t, "example:nope", "has no versions", "local store")
	c.run("example:nope@1.0.0").wantError(t, "example:nope", "has no versions")
	c.run("example:x@not-a-version").wantError(t, "not-a-version")

	r = c.run("pull", "example:x@^1")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "example:x@1.1.0 sha256:") || !strings.HasSuffix(r.stdout, " (unsigned)\n") {
		t.Errorf("pull: %+v", r)
	}
	r = c.run("cache", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "example:x  1.0.0") || !strings.Contains(r.stdout, "example:x  1.1.0") || strings.Contains(r.stdout, "partial") {
		t.Errorf("cache ls: %+v", r)
	}
	if r := c.run("cache", "prune"); r.code != 0 || !strings.HasPrefix(r.stdout, "freed ") {
		t.Errorf("cache prune: %+v", r)
	}
	if r := c.run("cache", "ls"); r.code != 0 || r.stdout != "PACKAGE  VERSION  SIZE  FROM\n0 blobs, 0 B\n" {
		t.Errorf("cache ls after prune: %+v", r)
	}
	if r := c.run("cache", "ls", "--json"); r.code != 0 || r.stdout != "{\n  \"packages\": [],\n  \"blobs\": 0,\n  \"blobBytes\": 0,\n  \"partial\": 0\n}\n" {
		t.Errorf("cache ls --json after prune: %+v", r)
	}
	// The local store is not a cache: prune keeps it, and it needs no network.
	c.run("--offline", "example:x@1.0.0").ok(t, "offline from the local store after prune", "x 1.0.0\n")
	c.run("ls").ok(t, "ls after prune", lsWant)
}

func TestE2EDependencies(t *testing.T) {
	c := newCLI(t)
	lib := func(version, text string, deps string) string {
		return writeTree(t, map[string]string{"files/lib.txt": text, "wrun.toml": `[package]
name = "example:lib"
version = "` + version + `"
kind = "assets"
[[assets]]
from = "files"
to = "/"
` + deps})
	}
	publish := func(t *testing.T, dir string) {
		t.Helper()
		if r := c.on(t).run("publish", dir); r.code != 0 {
			t.Fatalf("publish %s: %+v", dir, r)
		}
	}
	publish(t, lib("1.0.0", "lib 1.0.0\n", ""))
	publish(t, lib("2.0.0", "lib 2.0.0\n", ""))
	app := catPackage(t, catManifest("example:app", "1.0.0")+`[dependencies]
"example:lib" = { version = "^1.0", to = "/static/lib" }
`, map[string]string{"static/hello.txt": "app\n"})
	lock := filepath.Join(app, "wrun.lock")

	// Each step is a subtest so that one failure does not hide the rest
	// (they share c's home and the app's lock, in order).
	// The dependency mounts inside the app's own asset directory.
	t.Run("lock", func(t *testing.T) {
		c := c.on(t)
		c.run("run", app, "/static/", "/static/lib/lib.txt").ok(t, "nested dependency", "app\n/static/hello.txt\n/static/lib\nlib 1.0.0\n")
		locked := readFile(t, lock)
		if fi, err := os.Stat(lock); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("wrun.lock is a project file: mode %v (%v), want 0644", fi.Mode(), err)
		}
		if !strings.Contains(locked, `name = "example:lib"`) || !strings.Contains(locked, `version = "1.0.0"`) {
			t.Fatalf("wrun.lock: %q", locked)
		}
		// A newer matching version: the lock holds the next run at 1.0.0…
		publish(t, lib("1.1.0", "lib 1.1.0\n", ""))
		c.run("run", app, "/static/lib/lib.txt").ok(t, "locked", "app\nlib 1.0.0\n")
		if got := readFile(t, lock); got != locked {
			t.Errorf("a locked run rewrote wrun.lock:\n%s\nwas\n%s", got, locked)
		}
		// …and works offline; --refresh resolves again and updates the lock.
		c.run("--offline", "run", app, "/static/lib/lib.txt").ok(t, "locked, offline", "app\nlib 1.0.0\n")
		c.run("--refresh", "run", app, "/static/lib/lib.txt").ok(t, "--refresh", "app\nlib 1.1.0\n")
		if got := readFile(t, lock); !strings.Contains(got, `version = "1.1.0"`) {
			t.Errorf("--refresh did not update wrun.lock: %q", got)
		}
		c.run("run", app, "/static/lib/lib.txt").ok(t, "relocked", "app\nlib 1.1.0\n")
	})

	// A bundle of the app resolves its dependencies the same way.
	t.Run("bundle", func(t *testing.T) {
		c := c.on(t)
		bundlePath := filepath.Join(t.TempDir(), "app.wrun")
		if r := c.run("build", app, "-o", bundlePath); r.code != 0 {
			t.Fatalf("build: %+v", r)
		}
		c.run("run", bundlePath, "/static/lib/lib.txt").ok(t, "bundle with a dependency", "app\nlib 1.1.0\n")

	})

	// Published, the app pulls its dependency too.
	t.Run("published", func(t *testing.T) {
		c := c.on(t)
		publish(t, app)
		r := c.run("pull", "example:app@1.0.0")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "example:app@1.0.0 sha256:") || !strings.Contains(r.stdout, "\nexample:lib@1.1.0 sha256:") {
			t.Errorf("pull with a dependency: %+v", r)
		}
		c.run("example:app@1.0.0", "/static/lib/lib.txt").ok(t, "published app", "app\nlib 1.1.0\n")

	})

	// A conflict names both requirers and both ranges.
	t.Run("conflict", func(t *testing.T) {
		c := c.on(t)
		mid := writeTree(t, map[string]string{"m/m.txt": "mid\n", "wrun.toml": `[package]
name = "example:mid"
version = "1.0.0"
kind = "assets"
[[assets]]
from = "m"
to = "/"
[dependencies]
"example:lib" = { version = "^2", to = "/lib2" }
`})
		publish(t, mid)
		conflict := catPackage(t, catManifest("example:conflict", "1.0.0")+`[dependencies]
"example:lib" = { version = "^1.0", to = "/static/lib" }
"example:mid" = { version = "^1", to = "/static/mid" }
`, map[string]string{"static/hello.txt": "c\n"})
		c.run("run", conflict).wantError(t, "version conflict", "example:lib", conflict+" requires ^1.0", "example:mid@1.0.0 requires ^2")
		if _, err := os.Stat(filepath.Join(conflict, "wrun.lock")); !os.IsNotExist(err) {
			t.Errorf("a failed resolution wrote wrun.lock (%v)", err)
		}
	})
	// An unknown dependency says who needs it and what exists.
	t.Run("missing", func(t *testing.T) {
		c := c.on(t)
		missing := catPackage(t, catManifest("example:missing", "1.0.0")+`[dependencies]
"example:lib" = { version = "^7", to = "/static/lib" }
`, map[string]string{"static/hello.txt": "m\n"})
		c.run("run", missing).wantError(t, "example:lib", "^7 (required by "+missing+")", "versions: 1.0.0, 1.1.0, 2.0.0")
	})
}

func TestE2ETestCommandAndBareDir(t *testing.T) {
	c := newCLI(t)
	dir := catPackage(t, catManifest("example:cat", "1.0.0")+"[test]\nargs = [\"/static/test.txt\"]\n",
		map[string]string{"static/hello.txt": "run\n", "static/test.txt": "test\n"})
	c.run("test", dir).ok(t, "test DIR", "run\ntest\n")
	c.dir = dir
	c.run("test").ok(t, "test in the package directory", "run\ntest\n")
	c.run("run", ".").ok(t, "run .", "run\n")
	// A bare directory name is a path (no package name lacks a ':').
	c.dir = filepath.Dir(dir)
	c.run("run", filepath.Base(dir)).ok(t, "run DIRNAME", "run\n")
	c.run("test", filepath.Base(dir)).ok(t, "test DIRNAME", "run\ntest\n")
	c.run("run", "no-such-dir").wantError(t, `"no-such-dir" is not namespace:name@version, host/repo:tag nor a path`)
	noTest := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "run\n"})
	c.run("test", noTest).wantError(t, "example:cat has no [test] table")
}
