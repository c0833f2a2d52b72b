package registryclient

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/registrytest"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// blobFiles lists the complete blobs in a cache.
func blobFiles(t testing.TB, c *Client) []string {
	ents, _ := os.ReadDir(filepath.Join(c.dirs.Blobs(), "sha256"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestRegistryPublishPull(t *testing.T) {
	reg := registrytest.Start(t)
	h := testHome(t)
	c, ct := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	dir := plainPackage(t, "example:hello", "1.0.0")
	publishDir(t, c, dir)

	c2, ct2 := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	r := mustPull(t, c2, "example:hello@1.0.0")
	got, _ := os.ReadFile(r.Root.Wasm())
	if !bytes.Equal(got, testenv.GuestBytes(t, "c/hello")) {
		t.Fatal("pulled wasm differs")
	}
	if ct.n.Load() == 0 || ct2.n.Load() == 0 {
		t.Fatal("no HTTP request reached the registry")
	}
	// Warm: an exact cached version makes no request at all.
	c3, ct3 := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	mustPull(t, c3, "example:hello@1.0.0")
	if n := ct3.n.Load(); n != 0 {
		t.Fatalf("warm pull of an exact version made %d requests, want 0", n)
	}
	// The same through the OCI reference.
	r = mustPull(t, c3, reg.Host+"/example/hello:1.0.0")
	if r.Root.Name() != "example:hello" {
		t.Fatalf("OCI pull named %s", r.Root.Name())
	}
	// Offline: cached resolves, uncached is refused before any request.
	c4, ct4 := newClient(t, Options{Home: h.Data, Registry: reg.Host, Offline: true})
	mustPull(t, c4, "example:hello@1.0.0")
	mustPull(t, c4, "example:hello@^1")
	if _, err := c4.Pull(context.Background(), "example:hello@9.9.9"); !errors.Is(err, ErrOffline) && !errors.Is(err, ErrNotFound) {
		t.Fatalf("offline pull of an uncached version: %v", err)
	}
	if _, err := c4.Pull(context.Background(), "example:other@1.0.0"); !errors.Is(err, ErrOffline) {
		t.Fatalf("offline pull of an uncached package: %v, want ErrOffline", err)
	}
	if n := ct4.n.Load(); n != 0 {
		t.Fatalf("offline client made %d requests", n)
	}
}

func TestRegistryUnknown(t *testing.T) {
	reg := registrytest.Start(t)
	c, _ := newClient(t, Options{Registry: reg.Host})
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	publishDir(t, c, plainPackage(t, "example:hello", "1.1.0"))
	for _, tc := range []struct{ ref, want string }{
		{"example:hello@2.0.0", "versions: 1.0.0, 1.1.0"},
		{"example:hello@^3", "versions: 1.0.0, 1.1.0"},
		{"example:missing", "has no versions"},
		{"example:missing@1.0.0", "has no versions"},
	} {
		_, err := c.Pull(context.Background(), tc.ref)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), reg.Host) {
			t.Errorf("Pull(%s) = %v\nwant ErrNotFound naming %s and %q", tc.ref, err, reg.Host, tc.want)
		}
	}
}

func TestRegistryDown(t *testing.T) {
	reg := registrytest.Start(t)
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	publishDir(t, c, plainPackage(t, "example:hello", "1.1.0"))
	mustPull(t, c, "example:hello@1.0.0")
	reg.Stop()

	c2, _ := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	mustPull(t, c2, "example:hello@1.0.0") // cached exact version still resolves
	for _, ref := range []string{"example:hello@1.1.0", "example:hello@^1"} {
		_, err := c2.Pull(context.Background(), ref)
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), reg.Host) {
			t.Errorf("Pull(%s) with the registry down = %v, want ErrUnreachable naming %s", ref, err, reg.Host)
		}
	}
}

func TestRegistryTamperedBlob(t *testing.T) {
	reg := registrytest.Start(t)
	c, _ := newClient(t, Options{Registry: reg.Host})
	dir := plainPackage(t, "example:hello", "1.0.0")
	p, _ := bundle.LoadDir(dir)
	if _, err := c.Publish(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var wasm string
	for _, f := range p.Files() {
		if f.Path == "component.wasm" {
			wasm = "sha256:" + f.Sum.Hex()
		}
	}
	data := reg.Blob(wasm)
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = c.Pull(context.Background(), "example:hello@1.0.0")
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), wasm) {
		t.Fatalf("pull of a tampered blob = %v, want ErrDigestMismatch naming %s", err, wasm)
	}
	for _, f := range blobFiles(t, c) {
		if "sha256:"+f == wasm {
			t.Fatal("the tampered blob was cached")
		}
	}
	if ps := c.cache.partials(); len(ps) != 0 {
		t.Fatalf("partial files left: %v", ps)
	}
	if tags := c.cache.cachedTags(targetKey(Target{Host: reg.Host}), "example/hello"); len(tags) != 0 {
		t.Fatalf("the tampered version was remembered: %v", tags)
	}
	ents, _ := os.ReadDir(c.packagesDir())
	if len(ents) != 0 {
		t.Fatalf("something was extracted: %v", ents)
	}
}

// TestOrasInterop: a wasm pushed by the oras CLI with the CNCF media types
// pulls with wrun; a wrun-published plain wasm pulls with oras, identical.
func TestOrasInterop(t *testing.T) {
	oras := testenv.Tool(t, "oras")
	reg := registrytest.Start(t)
	wasm := testenv.GuestBytes(t, "c/hello")
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "hello.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "config.json"), []byte(`{"architecture":"wasm","os":"wasip1","layerDigests":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(oras, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "HOME="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("push", "--plain-http", reg.Host+"/ext/hello:1.0.0", "--config", "config.json:"+MediaTypeWasmConfig, "hello.wasm:"+MediaTypeWasm)

	c, _ := newClient(t, Options{Registry: reg.Host})
	for _, ref := range []string{reg.Host + "/ext/hello:1.0.0", "ext:hello@1.0.0", "ext:hello"} {
		r := mustPull(t, c, ref)
		got, err := os.ReadFile(r.Root.Wasm())
		if err != nil || !bytes.Equal(got, wasm) {
			t.Fatalf("%s: wasm from oras differs (%v)", ref, err)
		}
		if r.Root.Name() != "ext:hello" || r.Root.Version() != "1.0.0" || filepath.Base(r.Root.Wasm()) != "hello.wasm" {
			t.Fatalf("%s: synthesized %s@%s running %s", ref, r.Root.Name(), r.Root.Version(), r.Root.Wasm())
		}
	}

	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	out := filepath.Join(work, "out")
	run("pull", "--plain-http", reg.Host+"/example/hello:1.0.0", "-o", out)
	got, err := os.ReadFile(filepath.Join(out, "component.wasm"))
	if err != nil || !bytes.Equal(got, wasm) {
		t.Fatalf("oras pull of a wrun-published package: %v, identical=%v", err, bytes.Equal(got, wasm))
	}
	// The manifest is exactly the CNCF layout.
	cmd := exec.Command(oras, "manifest", "fetch", "--plain-http", reg.Host+"/example/hello:1.0.0")
	cmd.Env = append(os.Environ(), "HOME="+work)
	m, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mediaType":"` + MediaTypeWasmConfig + `"`, `"mediaType":"application/wasm"`, `"org.opencontainers.image.title":"component.wasm"`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("manifest lacks %s:\n%s", want, m)
		}
	}
}
