package main

// End-to-end tests of wrun against a real OCI registry (Debian's
// docker-registry on 127.0.0.1, started by registrytest) and the oras CLI.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wrun-dev/wrun/internal/registrytest"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// helloPackage is a plain-wasm package (published as a CNCF Wasm artifact).
func helloPackage(t *testing.T, name, version string) string {
	t.Helper()
	return writeTree(t, map[string]string{
		"component.wasm": readFile(t, guest(t, "c/hello")),
		"wrun.toml":      fmt.Sprintf("[package]\nname = %q\nversion = %q\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n", name, version),
	})
}

// bigPackage is a cat package with a size-byte pseudo-random asset and a
// small text asset /data/ok.txt.
func bigPackage(t *testing.T, name string, size int) string {
	t.Helper()
	data := make([]byte, size)
	rand.New(rand.NewSource(int64(size))).Read(data)
	return catPackage(t, fmt.Sprintf(`[package]
name = %q
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
[[assets]]
from = "data"
to = "/data"
`, name), map[string]string{"data/big.bin": string(data), "data/ok.txt": "big ok\n"})
}

// oras runs the oras CLI in dir.
func oras(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "oras"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// partials lists the temp files in a WRUN_HOME's blob cache.
func partials(home string) []string {
	ents, _ := os.ReadDir(filepath.Join(home, "cache", "blobs", "tmp"))
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".partial") {
			out = append(out, e.Name())
		}
	}
	return out
}

// blobs lists the complete blobs in a WRUN_HOME's cache.
func blobs(home string) []string {
	ents, _ := os.ReadDir(filepath.Join(home, "cache", "blobs", "sha256"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestE2ERegistry(t *testing.T) {
	reg := registrytest.Start(t)
	pub := newCLI(t)
	r := pub.run("publish", "--registry", reg.Host, helloPackage(t, "example:hello", "1.0.0"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "published example:hello@1.0.0\n") {
		t.Fatalf("publish --registry: %+v", r)
	}
	cat := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "cat from the registry\n"})
	r = pub.run("--registry", reg.Host, "publish", cat)
	_, catManifestDigest, _ := strings.Cut(r.stdout, "\nmanifest ")
	catManifestDigest = strings.TrimSpace(catManifestDigest)
	if r.code != 0 || !strings.HasPrefix(catManifestDigest, "sha256:") {
		t.Fatalf("publish a package with assets: %+v", r)
	}
	// Each step is a subtest so that one failure does not hide the rest;
	// a subtest's clis are the shared ones bound to it (cli.on).
	t.Run("ls", func(t *testing.T) {
		r := pub.on(t).run("ls", "--registry", reg.Host, "example")
		if r.code != 0 || !strings.Contains(r.stdout, "example:cat    1.0.0") || !strings.Contains(r.stdout, "example:hello  1.0.0") || !strings.Contains(r.stdout, reg.Host) {
			t.Errorf("ls --registry: %+v", r)
		}
	})

	// --registry on a fresh machine.
	c := newCLI(t)
	t.Run("fresh machine", func(t *testing.T) {
		c := c.on(t)
		r := c.run("--registry", reg.Host, "example:hello@1.0.0", "--", "Ada")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "hello, Ada, from ") {
			t.Errorf("run --registry: %+v", r)
		}
		c.run("--registry", reg.Host, "run", "example:cat@^1").ok(t, "assets package from the registry", "cat from the registry\n")
		c.run("--registry", reg.Host, "example:cat@2.0.0").wantError(t, "example:cat", "2.0.0", reg.Host, "versions: 1.0.0")
		c.run("--registry", reg.Host, "example:nope").wantError(t, "example:nope", "has no versions", reg.Host)
	})

	// config.toml in the wkg format: default_registry, and a namespace
	// mapped elsewhere (here a registry that is down, so a hit would fail).
	t.Run("config.toml", func(t *testing.T) {
		cfg := newCLI(t)
		if err := os.WriteFile(filepath.Join(cfg.home, "config.toml"), []byte(fmt.Sprintf(
			"default_registry = %q\n\n[namespace_registries]\nother = \"127.0.0.1:1\"\n", reg.Host)), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.run("example:cat@1.0.0").ok(t, "default_registry", "cat from the registry\n")
		cfg.run("other:thing@1.0.0").wantError(t, "127.0.0.1:1")
		wkg := filepath.Join(t.TempDir(), "wkg.toml")
		if err := os.WriteFile(wkg, []byte(fmt.Sprintf(
			"default_registry = \"127.0.0.1:1\"\n\n[namespace_registries]\nexample = %q\n\n[registry.%q.oci]\nprotocol = \"http\"\n", reg.Host, reg.Host)), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg2 := newCLI(t)
		cfg2.run("--config", wkg, "example:cat@1.0.0").ok(t, "[namespace_registries] via --config", "cat from the registry\n")
		cfg2.run("--config", wkg, "other:thing@1.0.0").wantError(t, "127.0.0.1:1")
	})

	// A wrun-published plain wasm pulls with oras, byte-identical.
	t.Run("oras", func(t *testing.T) {
		c := c.on(t)
		work := t.TempDir()
		oras(t, work, "pull", "--plain-http", reg.Host+"/example/hello:1.0.0", "-o", "out")
		if got := readFile(t, filepath.Join(work, "out", "component.wasm")); got != readFile(t, guest(t, "c/hello")) {
			t.Errorf("oras pull of a wrun-published wasm is not byte-identical (%d bytes)", len(got))
		}
		// A wasm pushed by oras with the CNCF media types runs with wrun, both
		// as an image-spec v1.0 manifest with the Wasm config and as a v1.1
		// manifest whose artifactType is the Wasm config type.
		if err := os.WriteFile(filepath.Join(work, "echo.wasm"), []byte(readFile(t, guest(t, "c/echo"))), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "config.json"), []byte(`{"architecture":"wasm","os":"wasip1","layerDigests":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		oras(t, work, "push", "--plain-http", reg.Host+"/ext/echo:1.0.0",
			"--config", "config.json:application/vnd.wasm.config.v0+json", "echo.wasm:application/wasm")
		oras(t, work, "push", "--plain-http", reg.Host+"/ext/echo:1.1.0",
			"--artifact-type", "application/vnd.wasm.config.v0+json", "echo.wasm:application/wasm")
		for _, ref := range []string{reg.Host + "/ext/echo:1.0.0", reg.Host + "/ext/echo:1.1.0"} {
			r := c.run("run", ref, "--", "x", "--y")
			if r.code != 0 || !strings.Contains(r.stdout, "arg[1]=x\narg[2]=--y\nenvc=0\n") {
				t.Errorf("run %s (pushed by oras): %+v", ref, r)
			}
		}
		r := c.run("--registry", reg.Host, "ext:echo", "z")
		if r.code != 0 || !strings.Contains(r.stdout, "arg[1]=z\n") {
			t.Errorf("oras-pushed wasm by name: %+v", r)
		}
	})

	// The OCI reference of a wrun package (assets) runs and pulls too.
	t.Run("OCI reference", func(t *testing.T) {
		c := c.on(t)
		c.run("run", reg.Host+"/example/cat:1.0.0").ok(t, "OCI reference of a wrun package", "cat from the registry\n")
		if r := c.run("pull", reg.Host+"/example/cat:1.0.0"); r.code != 0 || !strings.HasPrefix(r.stdout, "example:cat@1.0.0 sha256:") {
			t.Errorf("pull of an OCI reference: %+v", r)
		}
		c.run("run", reg.Host+"/example/cat@"+catManifestDigest).ok(t, "OCI reference by digest", "cat from the registry\n")
	})
	// Versions are immutable.
	t.Run("immutable", func(t *testing.T) {
		pub := pub.on(t)
		changed := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "changed\n"})
		pub.run("--registry", reg.Host, "publish", changed).wantError(t, "example/cat:1.0.0", "already published", "bump [package] version")

	})

	// A blob the registry serves with other content is refused; nothing of
	// it is cached.
	t.Run("tampered blob", func(t *testing.T) {
		c, pub := c.on(t), pub.on(t)
		tamper := writeTree(t, map[string]string{ // a wasm no other package here has
			"component.wasm": readFile(t, guest(t, "c/exit")),
			"wrun.toml":      "[package]\nname = \"example:tamper\"\nversion = \"1.0.0\"\n[run]\nwasm = \"component.wasm\"\n",
		})
		if r := pub.run("--registry", reg.Host, "publish", tamper); r.code != 0 {
			t.Fatalf("publish: %+v", r)
		}
		wasmDigest := "sha256:" + sha256File(t, filepath.Join(tamper, "component.wasm"))
		b, err := os.ReadFile(reg.Blob(wasmDigest))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(reg.Blob(wasmDigest), b, 0o644); err != nil {
			t.Fatal(err)
		}
		c.run("--registry", reg.Host, "example:tamper@1.0.0").wantError(t, "digest mismatch", wasmDigest)
		for _, blob := range blobs(c.home) {
			if "sha256:"+blob == wasmDigest {
				t.Errorf("the tampered blob was cached")
			}
		}
		if r := c.run("cache", "ls"); strings.Contains(r.stdout, "tamper") || strings.Contains(r.stdout, "partial") {
			t.Errorf("cache ls after a refused pull: %+v", r)
		}

	})

	// Prune: offline the package is gone, online it is fetched again.
	t.Run("prune", func(t *testing.T) {
		c := c.on(t)
		if r := c.run("cache", "prune"); r.code != 0 {
			t.Fatalf("cache prune: %+v", r)
		}
		if n := len(blobs(c.home)); n != 0 {
			t.Fatalf("prune left %d blobs", n)
		}
		c.run("--registry", reg.Host, "--offline", "example:cat@1.0.0").wantError(t, "offline", "example/cat:1.0.0", "drop --offline")
		c.run("--registry", reg.Host, "example:cat@1.0.0").ok(t, "re-fetched after prune", "cat from the registry\n")
		if r := c.run("cache", "ls"); r.code != 0 || !strings.Contains(r.stdout, "example:cat  1.0.0") {
			t.Errorf("cache ls after the re-fetch: %+v", r)
		}

	})

	// Registry down: a clear error, but a cached exact version still runs,
	// online and --offline.
	t.Run("registry down", func(t *testing.T) {
		c, pub := c.on(t), pub.on(t)
		reg.Stop()
		c.run("--registry", reg.Host, "example:cat@1.0.0").ok(t, "warm run, registry down", "cat from the registry\n")
		c.run("--registry", reg.Host, "--offline", "example:cat@1.0.0").ok(t, "--offline warm run", "cat from the registry\n")
		c.run("run", reg.Host+"/example/cat:1.0.0").ok(t, "warm run of the OCI reference, registry down", "cat from the registry\n")
		c.run("run", reg.Host+"/example/cat@"+catManifestDigest).ok(t, "warm run by digest, registry down", "cat from the registry\n")
		c.run("--registry", reg.Host, "example:cat@^1").wantError(t, reg.Host, "unreachable")
		c.run("--registry", reg.Host, "example:hello@2.0.0").wantError(t, reg.Host, "unreachable")
		c.run("--registry", reg.Host, "--offline", "example:hello@2.0.0").wantError(t, "offline")
		newCLI(t).run("--registry", reg.Host, "example:cat@1.0.0").wantError(t, reg.Host, "unreachable")
		c.run("--registry", reg.Host, "ls").wantError(t, "listing "+reg.Host, "unreachable")
		pub.run("--registry", reg.Host, "publish", cat).wantError(t, reg.Host, "unreachable")
		// --offline lists what the cache knows.
		c.run("--registry", reg.Host, "--offline", "ls", "example").ok(t, "ls --offline",
			"PACKAGE      VERSIONS  REGISTRY\nexample:cat  1.0.0     "+reg.Host+"\n")
	})
}

// on returns a copy of c that reports to t: a subtest's view of a cli the
// parent test made (same home, environment and directory).
func (c *cli) on(t *testing.T) *cli {
	cc := *c
	cc.t = t
	return &cc
}

// TestE2EConcurrentProcesses: 16 wrun processes run one uncached package
// at once; all succeed alike and the cache holds each blob once.
func TestE2EConcurrentProcesses(t *testing.T) {
	reg := registrytest.Start(t)
	pub := newCLI(t)
	if r := pub.run("--registry", reg.Host, "publish", bigPackage(t, "example:big", 8<<20)); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	c := newCLI(t)
	const n = 16
	// The goroutines only record; the test goroutine reports (t.Fatal is
	// for the test goroutine alone).
	results := make([]result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runProcess(c, "--registry", reg.Host, "example:big@1.0.0", "/data/ok.txt", "/data/")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil {
			t.Errorf("process %d: %v", i, errs[i])
			continue
		}
		r.ok(t, fmt.Sprintf("process %d", i), "big ok\n/data/big.bin\n/data/ok.txt\n")
	}
	if t.Failed() {
		t.FailNow()
	}
	if left := tempFiles(t, c.home); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	// Each blob once: the same blobs a single pull stores.
	single := newCLI(t)
	if r := single.run("--registry", reg.Host, "pull", "example:big@1.0.0"); r.code != 0 {
		t.Fatalf("pull: %+v", r)
	}
	if got, want := strings.Join(blobs(c.home), " "), strings.Join(blobs(single.home), " "); got != want || got == "" {
		t.Errorf("blobs after 16 concurrent runs:\n%s\nafter one pull:\n%s", got, want)
	}
	// The packages listed are the same (the runs also filled the
	// compiled-code cache, which the pull did not: compare up to it).
	ls, one := c.run("cache", "ls"), single.run("cache", "ls")
	packages := func(s string) string { s, _, _ = strings.Cut(s, "\nCACHE "); return s }
	if ls.code != 0 || packages(ls.stdout) != packages(one.stdout) || strings.Contains(ls.stdout, "partial") {
		t.Errorf("cache ls after 16 concurrent runs:\n%s\nafter one pull:\n%s", ls.stdout, one.stdout)
	}
}

// stallingServer is a registry (registrytest.Server) that, once armed,
// stalls the first transfer of a large blob after 1 MiB, the download (GET)
// or the upload (PUT) alike, and closes stalled: a kill sent after that
// surely lands mid-transfer.
type stallingServer struct {
	*registrytest.Server
	armed   atomic.Bool
	once    sync.Once
	stalled chan struct{}
	// released is closed once the client is dead: a handler that stopped
	// reading an upload never sees its request's context end.
	released     chan struct{}
	releasedOnce sync.Once
}

func (s *stallingServer) release() { s.releasedOnce.Do(func() { close(s.released) }) }

func newStallingServer(t *testing.T) *stallingServer {
	s := &stallingServer{Server: registrytest.NewServer(t), stalled: make(chan struct{}), released: make(chan struct{})}
	t.Cleanup(s.release) // before the server's Close, which waits for the handlers
	s.Hook = func(w http.ResponseWriter, r *http.Request) bool {
		if !s.armed.Load() {
			return false
		}
		const big, sent = 4 << 20, 1 << 20
		switch {
		case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:"):
			b := s.Blob(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
			if len(b) < big || !s.armed.CompareAndSwap(true, false) {
				return false
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.Write(b[:sent])
			w.(http.Flusher).Flush()
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/"):
			if r.ContentLength < big || !s.armed.CompareAndSwap(true, false) {
				return false
			}
			if _, err := io.CopyN(io.Discard, r.Body, sent); err != nil {
				return false
			}
		default:
			return false
		}
		s.once.Do(func() { close(s.stalled) })
		select { // until the client is killed
		case <-r.Context().Done():
		case <-s.released:
		}
		return true
	}
	return s
}

// killWhenStalled starts cmd, waits until the registry has stalled its
// transfer, then until cond holds (what the transfer leaves on disk while
// it runs), and kills it with SIGKILL.
func killWhenStalled(t *testing.T, s *stallingServer, cmd *exec.Cmd, what string, cond func() bool) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	exited := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- cmd.Wait() }()
	select {
	case <-s.stalled:
	case err := <-exited:
		t.Fatalf("%s ended before the registry stalled it: %v\n%s", what, err, out.String())
	}
	for !cond() { // the transfer is stalled: this is only the file system catching up
		select {
		case err := <-exited:
			t.Fatalf("%s ended while stalled: %v\n%s", what, err, out.String())
		case <-time.After(time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	s.release()
	if err == nil {
		t.Fatalf("%s was not killed: %s", what, out.String())
	}
}

// runProcess is cli.run for goroutines other than the test's: it runs the
// wrun binary as c does and returns what went wrong instead of failing the
// test (a start failure or a Go crash).
func runProcess(c *cli, args ...string) (result, error) {
	cmd := exec.Command(wrunBin, args...)
	cmd.Env = append([]string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}, c.env...)
	cmd.Stdin = strings.NewReader(c.stdin)
	cmd.Dir = c.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	r := result{out.String(), errOut.String(), 0}
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		return r, fmt.Errorf("wrun %v: %w", args, err)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		return r, fmt.Errorf("wrun %v crashed:\n%s", args, r.stderr)
	}
	return r, nil
}

// TestE2EKilledPull: a pull killed with SIGKILL mid-transfer leaves nothing
// that breaks the next run, and no partial blob survives it.
func TestE2EKilledPull(t *testing.T) {
	reg := newStallingServer(t)
	pub := newCLI(t)
	if r := pub.run("--registry", reg.Host, "publish", bigPackage(t, "example:huge", 24<<20)); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	c := newCLI(t)
	cmd := exec.Command(wrunBin, "--registry", reg.Host, "pull", "example:huge@1.0.0")
	cmd.Env = []string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}
	reg.armed.Store(true)
	killWhenStalled(t, reg, cmd, "the pull", func() bool { return len(partials(c.home)) > 0 })
	if len(partials(c.home)) == 0 {
		t.Fatal("the killed pull left no partial blob: it was not killed mid-transfer")
	}

	c.run("--registry", reg.Host, "example:huge@1.0.0", "/data/ok.txt").ok(t, "run after the killed pull", "big ok\n")
	if ps := partials(c.home); len(ps) != 0 {
		t.Errorf("partial blobs left after the next run: %v", ps)
	}
	if left := tempFiles(t, c.home); len(left) != 0 {
		t.Errorf("temp files left in the cache after the next run: %v", left)
	}
	if r := c.run("cache", "ls"); r.code != 0 || strings.Contains(r.stdout, "partial") || !strings.Contains(r.stdout, "example:huge  1.0.0") {
		t.Errorf("cache ls: %+v", r)
	}
	// Every complete blob is what its name says.
	for _, b := range blobs(c.home) {
		if got := sha256File(t, filepath.Join(c.home, "cache", "blobs", "sha256", b)); got != b {
			t.Errorf("blob %s holds content %s", b, got)
		}
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestE2ERegistrySignedAndLocked: signatures travel through the registry,
// and a locked directory project runs with the registry down.
func TestE2ERegistrySignedAndLocked(t *testing.T) {
	reg := registrytest.Start(t)
	pub := newCLI(t)
	pub.dir = t.TempDir()
	if r := pub.run("key", "generate", "-o", "k1"); r.code != 0 {
		t.Fatalf("key generate: %+v", r)
	}
	pubKey := filepath.Join(pub.dir, "k1.pub")
	publish := func(dir string, args ...string) {
		t.Helper()
		if r := pub.run(append([]string{"--registry", reg.Host, "publish", dir}, args...)...); r.code != 0 {
			t.Fatalf("publish %s: %+v", dir, r)
		}
	}
	publish(helloPackage(t, "example:hello", "1.0.0"), "--sign", "k1")
	publish(helloPackage(t, "example:hello", "1.1.0"))
	publish(catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "signed cat\n"}), "--sign", "k1")

	c := newCLI(t)
	if r := c.run("key", "trust", "example", pubKey); r.code != 0 {
		t.Fatalf("key trust: %+v", r)
	}
	r := c.run("--registry", reg.Host, "example:hello@1.0.0", "Ada")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "hello, Ada, from ") {
		t.Errorf("signed plain wasm from the registry: %+v", r)
	}
	c.run("--registry", reg.Host, "example:cat@1.0.0").ok(t, "signed package from the registry", "signed cat\n")
	r = c.run("--registry", reg.Host, "pull", "example:cat@1.0.0")
	if r.code != 0 || !strings.Contains(r.stdout, "(signed by ") {
		t.Errorf("pull of a signed package: %+v", r)
	}
	c.run("--registry", reg.Host, "example:hello@1.1.0").wantError(t, "unsigned", `namespace "example" has trusted keys`)
	// An untrusting machine runs both.
	other := newCLI(t)
	if r := other.run("--registry", reg.Host, "example:hello@1.1.0", "Bo"); r.code != 0 {
		t.Errorf("unsigned package without trusted keys: %+v", r)
	}

	// A directory project depending on a registry package: the lock holds
	// the resolution, so the next run needs no registry at all.
	lib := writeTree(t, map[string]string{"files/lib.txt": "registry lib\n", "wrun.toml": `[package]
name = "example:lib"
version = "1.2.0"
kind = "assets"
[[assets]]
from = "files"
to = "/"
`})
	publish(lib, "--sign", "k1")
	app := catPackage(t, catManifest("example:app", "1.0.0")+`[dependencies]
"example:lib" = { version = "^1", to = "/static/lib" }
`, map[string]string{"static/hello.txt": "app\n"})
	c.run("--registry", reg.Host, "run", app, "/static/lib/lib.txt").ok(t, "app with a registry dependency", "app\nregistry lib\n")
	if got := readFile(t, filepath.Join(app, "wrun.lock")); !strings.Contains(got, `version = "1.2.0"`) {
		t.Errorf("wrun.lock: %q", got)
	}
	reg.Stop()
	c.run("--registry", reg.Host, "run", app, "/static/lib/lib.txt").ok(t, "locked app, registry down", "app\nregistry lib\n")
	c.run("--registry", reg.Host, "--refresh", "run", app).wantError(t, reg.Host, "unreachable")
	os.Remove(filepath.Join(app, "wrun.lock"))
	// Without the lock, --offline resolves from the cache, and locks again.
	c.run("--registry", reg.Host, "--offline", "run", app, "/static/lib/lib.txt").ok(t, "offline, no lock", "app\nregistry lib\n")
	if got := readFile(t, filepath.Join(app, "wrun.lock")); !strings.Contains(got, `version = "1.2.0"`) {
		t.Errorf("wrun.lock after an offline resolution: %q", got)
	}
	os.Remove(filepath.Join(app, "wrun.lock"))
	c.run("--registry", reg.Host, "run", app).wantError(t, "example:lib", reg.Host, "unreachable", "--offline")
}

// tempFiles lists every file under a WRUN_HOME's cache whose name marks it
// as temporary: *.partial, *.lock, .tmp-*.
func tempFiles(t *testing.T, home string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(home, "cache"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n := d.Name()
		if strings.HasSuffix(n, ".partial") || strings.HasSuffix(n, ".lock") || strings.HasPrefix(n, ".tmp") {
			rel, _ := filepath.Rel(home, p)
			out = append(out, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return out
}

// TestE2EKilledPublish: a publish killed with SIGKILL while it uploads its
// layers (the layer tars are in the cache's tmp) leaves nothing behind once
// the next publish has run.
func TestE2EKilledPublish(t *testing.T) {
	reg := newStallingServer(t)
	c := newCLI(t)
	dir := bigPackage(t, "example:huge", 24<<20)
	cmd := exec.Command(wrunBin, "--registry", reg.Host, "publish", dir)
	cmd.Env = []string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}
	tmp := filepath.Join(c.home, "cache", "tmp")
	layerTars := func() int {
		ents, _ := os.ReadDir(tmp)
		return len(ents)
	}
	reg.armed.Store(true)
	killWhenStalled(t, reg, cmd, "the publish", func() bool { return layerTars() > 0 })
	if layerTars() == 0 {
		t.Fatal("the killed publish left no layer file: it was not killed mid-upload")
	}

	if r := c.run("--registry", reg.Host, "publish", dir); r.code != 0 || !strings.HasPrefix(r.stdout, "published example:huge@1.0.0\n") {
		t.Fatalf("publish after the killed one: %+v", r)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temp files left in %s: %v", tmp, ents)
	}
	newCLI(t).run("--registry", reg.Host, "example:huge@1.0.0", "/data/ok.txt").ok(t, "run after the killed publish", "big ok\n")
}
