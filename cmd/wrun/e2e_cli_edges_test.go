package main

// End-to-end tests of the CLI's rough edges (issue 14): one argument rule
// for `wrun REF`, `wrun run` and `wrun test`; cache ls/prune over every
// cache; symlinks and empty directories in asset trees; --mount FILE:GUEST.

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestE2EArgumentRule: wrun's flags may come anywhere before the first
// "--", everything after it goes to the program verbatim, and a word
// before it that looks like a flag but is not wrun's is an error saying
// how to write the command.
func TestE2EArgumentRule(t *testing.T) {
	c := newCLI(t)
	data := writeTree(t, map[string]string{"x.txt": "from the mount\n"})
	cat := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "hi\n"})
	if r := c.run("publish", cat); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	// The first command: --mount after REF is wrun's, the words
	// after -- are the program's.
	c.run("example:cat@1.0.0", "--mount", data+":/data", "--", "/data/x.txt").ok(t, "wrun REF --mount ... -- ARGS",
		"hi\nfrom the mount\n")
	c.run("run", cat, "--mount", data+":/data:ro", "/data/x.txt").ok(t, "wrun run TARGET --mount ... ARGS", "hi\nfrom the mount\n")

	echo := guest(t, "c/echo")
	// The second command: -e is not wrun's, so it is an error
	// that shows the command written right.
	r := c.run("run", echo, "-e", "p ARGV", "a", "--", "b")
	r.wantError(t, "unknown flag -e for wrun run: program arguments go after --, e.g. wrun run "+echo+" -- -e 'p ARGV' a -- b")
	if r.stdout != "" {
		t.Errorf("the program ran: %q", r.stdout)
	}
	// Written that way, the program gets every word after the first --,
	// a later -- included.
	c.run("run", echo, "--", "-e", "p ARGV", "a", "--", "b").ok(t, "after --",
		"arg[0]=echo.wasm\narg[1]=-e\narg[2]=p ARGV\narg[3]=a\narg[4]=--\narg[5]=b\nenvc=0\n")
	// Plain words before -- are program arguments; flags in between are
	// wrun's, in any order.
	c.run("run", echo, "a", "--env", "K=V", "b", "--", "--env", "c").ok(t, "plain words and flags",
		"arg[0]=echo.wasm\narg[1]=a\narg[2]=b\narg[3]=--env\narg[4]=c\nenvc=1\nenv K=V\n")
	// The shorthand and wrun test say the same, with their own names.
	c.run("example:cat@1.0.0", "a", "--verbose").wantError(t, "unknown flag --verbose for wrun: program arguments go after --, e.g. wrun example:cat@1.0.0 -- a --verbose")
	c.run("test", cat, "-k", "x").wantError(t, "unknown flag -k for wrun test: program arguments go after --, e.g. wrun test "+cat+" -- -k x")
	c.run("--offline", "run", "--bogus", echo).wantError(t, "unknown flag --bogus for wrun run", "wrun run --help")
	// The existing forms keep working.
	c.run("run", echo, "--", "--name", "world").ok(t, "run -- ARGS", "arg[0]=echo.wasm\narg[1]=--name\narg[2]=world\nenvc=0\n")
	// --help shows the rule.
	for _, cmd := range [][]string{{"--help"}, {"run", "--help"}, {"test", "--help"}} {
		if h := c.run(cmd...); !strings.Contains(h.stdout, `everything after the first "--" goes to the program verbatim`) {
			t.Errorf("wrun %v does not state the argument rule:\n%s", cmd, h.stdout)
		}
	}
}

// TestE2ECacheAllCaches: cache ls lists the compiled-code and
// pre-initialization caches with their sizes, and a directory it does not
// know as "other"; cache prune empties wrun's caches (and keeps the other
// one), after which runs compile and pre-initialize again.
func TestE2ECacheAllCaches(t *testing.T) {
	c := newCLI(t)
	c.run(guest(t, "c/hello")).ok(t, "a run fills the compiled-code cache", "hello, world, from C on wasm32-wasi\n")
	pre := preinitPackage(t, "wat/preglobal")
	if r := c.run("run", pre); r.code != 0 {
		t.Fatalf("preinit run: %+v", r)
	}
	other := filepath.Join(c.home, "cache", "somebody-elses")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "f"), make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	r := c.run("cache", "ls")
	for _, want := range []string{"CACHE ", "\ncompiled ", "\npreinit ", "\nother (somebody-elses)  2.0 KiB  1\n", "\ntotal "} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("cache ls does not show %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "compiled  0 B") || strings.Contains(r.stdout, "preinit  0 B") {
		t.Errorf("cache ls shows an empty cache:\n%s", r.stdout)
	}
	j := c.run("cache", "ls", "--json")
	for _, want := range []string{`"name": "compiled"`, `"name": "preinit"`, `"name": "other"`, `"bytes": 2048`} {
		if !strings.Contains(j.stdout, want) {
			t.Errorf("cache ls --json does not say %s:\n%s", want, j.stdout)
		}
	}
	p := c.run("cache", "prune")
	if p.code != 0 || !strings.HasPrefix(p.stdout, "freed ") || strings.HasPrefix(p.stdout, "freed 0 B") ||
		!strings.Contains(p.stdout, "kept other (somebody-elses): 2.0 KiB") {
		t.Errorf("cache prune: %+v", p)
	}
	for _, dir := range []string{"compiled", "preinit"} {
		n := 0
		filepath.WalkDir(filepath.Join(c.home, "cache", dir), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		if n != 0 {
			t.Errorf("%d files left in the %s cache after prune", n, dir)
		}
	}
	if _, err := os.Stat(filepath.Join(other, "f")); err != nil {
		t.Errorf("prune removed a directory that is not wrun's: %v", err)
	}
	c.run("cache", "ls").ok(t, "cache ls after prune", "PACKAGE  VERSION  SIZE  FROM\n0 blobs, 0 B\nCACHE                   SIZE     FILES\nother (somebody-elses)  2.0 KiB  1\ntotal                   2.0 KiB  1\n")
	// Runs work again after the prune and fill the caches again.
	c.run(guest(t, "c/hello")).ok(t, "a run after prune", "hello, world, from C on wasm32-wasi\n")
	if r := c.run("run", pre); r.code != 0 {
		t.Fatalf("preinit run after prune: %+v", r)
	}
	if r := c.run("cache", "ls"); !strings.Contains(r.stdout, "\ncompiled ") || !strings.Contains(r.stdout, "\npreinit ") {
		t.Errorf("cache ls after runs following a prune:\n%s", r.stdout)
	}
}

// TestE2EAssetSymlinks: relative symlinks inside an [[assets]] tree are
// packaged as copies: build, run DIR, publish and run by reference all
// read through them alike, the bundle's digest is the one of the tree with
// the links copied, and the pulled package holds regular files. Escaping
// links are refused by each, naming the link and its target.
func TestE2EAssetSymlinks(t *testing.T) {
	c := newCLI(t)
	files := map[string]string{"static/hello.txt": "hello\n", "static/real/a.txt": "a\n"}
	dir := catPackage(t, catManifest("example:lnk", "1.0.0"), files)
	for link, target := range map[string]string{"static/link.txt": "hello.txt", "static/sub": "real", "static/real/up.txt": "../link.txt"} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	copied := catPackage(t, catManifest("example:lnk", "1.0.0"), map[string]string{
		"static/hello.txt": "hello\n", "static/real/a.txt": "a\n", "static/link.txt": "hello\n",
		"static/sub/a.txt": "a\n", "static/sub/up.txt": "hello\n", "static/real/up.txt": "hello\n"})
	want := "hello\nhello\na\nhello\n"
	args := []string{"--", "/static/link.txt", "/static/sub/a.txt", "/static/sub/up.txt"}
	c.run(append([]string{"run", dir}, args...)...).ok(t, "run DIR", want)
	c.dir = t.TempDir()
	b := c.run("build", dir, "-o", "lnk.wrun")
	d := c.run("digest", copied)
	if b.code != 0 || b.stdout != d.stdout || b.stderr != "" {
		t.Errorf("build: %+v; the copied tree's digest is %q", b, d.stdout)
	}
	c.run(append([]string{"run", "lnk.wrun"}, args...)...).ok(t, "run the bundle", want)
	if r := c.run("publish", dir); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	c.run(append([]string{"example:lnk@1.0.0"}, args...)...).ok(t, "run by reference", want)
	if r := c.run("pull", "example:lnk@1.0.0"); r.code != 0 || !strings.Contains(r.stdout, strings.TrimSpace(d.stdout)) {
		t.Errorf("pull: %+v, want digest %s", r, d.stdout)
	}
	filepath.WalkDir(filepath.Join(c.home, "cache", "packages"), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type()&os.ModeSymlink != 0 {
			t.Errorf("the pulled package holds a symlink: %s", p)
		}
		return nil
	})

	// Escaping links are refused by build, run and publish alike.
	secret := writeTree(t, map[string]string{"key": "secret\n"})
	for name, target := range map[string]string{"abs": filepath.Join(secret, "key"), "climb": "../../../../../../../../" + secret + "/key", "other-asset-dir": "../wrun.toml"} {
		t.Run(name, func(t *testing.T) {
			bad := catPackage(t, catManifest("example:bad", "1.0.0"), files)
			if err := os.Symlink(target, filepath.Join(bad, "static", "esc")); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range [][]string{{"build", bad, "-o", "bad.wrun"}, {"run", bad}, {"publish", bad}} {
				r := c.on(t).run(cmd...)
				r.wantError(t, `"static/esc" is a symlink to `, "relative symlinks that stay inside their asset directory")
				if strings.Contains(r.stdout+r.stderr, "secret\n") {
					t.Errorf("wrun %s showed the target: %+v", cmd[0], r)
				}
			}
		})
	}
}

// TestE2EAssetEmptyDirs: wrun build warns about each empty directory in an
// asset tree (a package holds files only, so they are left out), naming it.
func TestE2EAssetEmptyDirs(t *testing.T) {
	c := newCLI(t)
	dir := catPackage(t, catManifest("example:e", "1.0.0"), map[string]string{"static/hello.txt": "hello\n"})
	for _, d := range []string{"static/empty", "static/x/y"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c.dir = t.TempDir()
	r := c.run("build", dir, "-o", "e.wrun")
	if r.code != 0 || strings.Count(r.stderr, "\n") != 2 ||
		!strings.Contains(r.stderr, "wrun: warning: "+dir+": static/empty is an empty directory") ||
		!strings.Contains(r.stderr, "wrun: warning: "+dir+": static/x/y is an empty directory") ||
		!strings.Contains(r.stderr, "put a file in it (such as .keep) to keep it") {
		t.Errorf("build: %+v", r)
	}
	c.run("run", "e.wrun", "/static/").ok(t, "the bundle leaves them out", "hello\n/static/hello.txt\n")
}

// TestE2EMountFile: --mount FILE:GUEST mounts one host file at a guest
// path, read-write unless :ro; the guest reads and appends to it, cannot
// reach its siblings, and the guest directory holding it lists it.
func TestE2EMountFile(t *testing.T) {
	c := newCLI(t)
	host := writeTree(t, map[string]string{"app.conf": "line1\n", "secret": "secret\n"})
	conf := filepath.Join(host, "app.conf")
	app := guest(t, "c/appendfile")
	c.run("run", app, "--mount", conf+":/etc/app.conf", "--", "/etc/app.conf", "line2\n").ok(t, "read-write file mount",
		"/etc/app.conf (6 bytes, file): line1\n/etc/app.conf (12 bytes, file): line1\nline2\ncreate /etc/app.conf/x: ENOTDIR\n")
	if got := readFile(t, conf); got != "line1\nline2\n" {
		t.Errorf("the append did not reach the host file: %q", got)
	}
	r := c.run("run", app, "--mount", conf+":/etc/app.conf:ro", "--", "/etc/app.conf", "x")
	if r.code != 1 || r.stdout != "/etc/app.conf (12 bytes, file): line1\nline2\nappend /etc/app.conf: Read-only file system\n" {
		t.Errorf("read-only file mount: %+v", r)
	}
	if got := readFile(t, conf); got != "line1\nline2\n" {
		t.Errorf("a read-only mount changed the host file: %q", got)
	}
	// Beside a directory mount, and listed in the synthesized /etc.
	data := writeTree(t, map[string]string{"d.txt": "d\n"})
	c.run("run", guest(t, "c/cat"), "--mount", conf+":/etc/app.conf:ro", "--mount", data+":/data", "--",
		"/etc/", "/etc/app.conf", "/data/d.txt").ok(t, "file and directory mounts", "/etc/app.conf\nline1\nline2\nd\n")
	r = c.run("run", guest(t, "c/cat"), "--mount", conf+":/etc/app.conf", "--", "/etc/secret")
	if r.code != 1 || strings.Contains(r.stdout, "secret\n") {
		t.Errorf("a sibling of the mounted file was reachable: %+v", r)
	}
	c.run("run", app, "--mount", conf+":/").wantError(t, "--mount", "is a file, and / must be a directory")
	c.run("run", app, "--mount", filepath.Join(host, "nothing")+":/x").wantError(t, "--mount", "does not exist")
}

// TestE2EWorkdir: --workdir sets the guest's working directory (conveyed
// as PWD) for wrun run and wrun REF, anywhere before --.
func TestE2EWorkdir(t *testing.T) {
	c := newCLI(t)
	data := t.TempDir()
	c.stdin = ""
	c.run("run", guest(t, "c/echo"), "--mount", data+":/data", "--workdir", "/data", "--", "a").ok(t, "run --workdir",
		"arg[0]=echo.wasm\narg[1]=a\nenvc=1\nenv PWD=/data\n")
	dir := writeTree(t, map[string]string{"component.wasm": readFile(t, guest(t, "c/echo")),
		"wrun.toml": "[package]\nname = \"example:wd\"\nversion = \"1.0.0\"\n[run]\nwasm = \"component.wasm\"\n"})
	if r := c.run("publish", dir); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	c.run("example:wd@1.0.0", "--workdir=/data", "--mount", data+":/data").ok(t, "REF --workdir",
		"arg[0]=example:wd@1.0.0\nenvc=1\nenv PWD=/data\n")
	c.run("run", guest(t, "c/echo"), "--workdir", "data").wantError(t, "--workdir", "want a guest path like /data")
}

// `wrun --version` and `wrun version` say which wrun, which wazero and
// which Go, as wasmtime --version and wazero version do; there was
// neither ("version" was taken for a package reference).
func TestVersion(t *testing.T) {
	c := newCLI(t)
	flag, cmd := c.run("--version"), c.run("version")
	for _, r := range []result{flag, cmd} {
		if r.code != 0 || !strings.HasPrefix(r.stdout, "wrun ") || !strings.Contains(r.stdout, ", wazero v1.") || !strings.Contains(r.stdout, runtime.Version()) {
			t.Errorf("version: %+v", r)
		}
	}
	if flag.stdout != cmd.stdout {
		t.Errorf("--version %q, version %q", flag.stdout, cmd.stdout)
	}
	// -v is not --version: written before --, a program's flag is refused
	// with the rule, as every other one is (cobra's -v shorthand printed the
	// version and exited 0).
	if r := c.run(guest(t, "c/hello"), "-v"); r.code == 0 || !strings.Contains(r.stderr, "program arguments go after --") {
		t.Errorf("wrun hello.wasm -v: %+v", r)
	}
}
