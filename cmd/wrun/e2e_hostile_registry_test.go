package main

// End-to-end tests of wrun against a hostile registry: a small OCI
// distribution server of our own on 127.0.0.1 (registrytest.Server) that
// serves what an attacker would. Each attack is refused in one line and
// leaves nothing in the cache (issue 10).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/registrytest"
)

// noPackagesCached checks that `wrun cache ls` lists no package and the
// cache holds no extracted package.
func noPackagesCached(t *testing.T, c *cli) {
	t.Helper()
	r := c.run("cache", "ls", "--json")
	var info struct {
		Packages []json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || r.code != 0 {
		t.Fatalf("cache ls --json: %+v %v", r, err)
	}
	if len(info.Packages) != 0 {
		t.Errorf("a refused package is cached: %s", r.stdout)
	}
	ents, _ := os.ReadDir(filepath.Join(c.home, "cache", "packages"))
	for _, e := range ents {
		t.Errorf("left in cache/packages: %s", e.Name())
	}
}

// TestE2EHostileSignatureBypass is issue 10 item 1 through the binary: a
// signed package's genuine manifest annotations, its wasm swapped for
// other code, and a layer at .wrun/verified.json holding the genuine file
// index. Before the fix `wrun pull` said "signed by" the trusted key and
// `wrun run` ran the swapped code.
func TestE2EHostileSignatureBypass(t *testing.T) {
	s := registrytest.NewServer(t)
	pub := newCLI(t)
	pub.dir = t.TempDir()
	if r := pub.run("key", "generate", "-o", "k1"); r.code != 0 {
		t.Fatalf("key generate: %+v", r)
	}
	dir := catPackage(t, catManifest("example:cat", "1.0.0"), map[string]string{"static/hello.txt": "genuine\n"})
	if r := pub.run("--registry", s.Host, "publish", dir, "--sign", "k1"); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	genuine, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	index, _ := json.Marshal(genuine.Files())
	s.Rewrite(t, "example/cat", "1.0.0", func(m *ocispec.Manifest) {
		for i, l := range m.Layers {
			if l.MediaType == "application/wasm" {
				m.Layers[i] = s.Layer(l.MediaType, []byte(readFile(t, guest(t, "c/hello"))), l.Annotations["dev.wrun.path"])
			}
		}
		m.Layers = append(m.Layers, s.Layer("application/wasm", index, ".wrun/verified.json"))
	})

	c := newCLI(t)
	if r := c.run("key", "trust", "example", filepath.Join(pub.dir, "k1.pub")); r.code != 0 {
		t.Fatalf("key trust: %+v", r)
	}
	r := c.run("--registry", s.Host, "pull", "example:cat@1.0.0")
	r.wantError(t, `".wrun/verified.json"`, "reserved .wrun/ directory", "refusing")
	t.Log(r.stderr)
	if strings.Contains(r.stdout, "signed") {
		t.Errorf("pull says %q", r.stdout)
	}
	c.run("--registry", s.Host, "example:cat@1.0.0").wantError(t, "reserved .wrun/ directory")
	noPackagesCached(t, c)
}

// TestE2EHostileWrongPackage: a tag that holds another package is refused,
// and refused means not cached (`wrun cache ls` lists nothing).
func TestE2EHostileWrongPackage(t *testing.T) {
	s := registrytest.NewServer(t)
	pub := newCLI(t)
	if r := pub.run("--registry", s.Host, "publish", helloPackage(t, "example:other", "1.0.0")); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	s.PutManifest("example/hello", "1.0.0", s.Manifest("example/other", "1.0.0"))
	c := newCLI(t)
	c.run("--registry", s.Host, "pull", "example:hello@1.0.0").wantError(t, `holds package "example:other"`)
	noPackagesCached(t, c)
}

// TestE2EManyVersions: with 300,001 versions, `wrun ls` and the not-found
// error show a few versions and the count, on one short line.
func TestE2EManyVersions(t *testing.T) {
	s := registrytest.NewServer(t)
	c := newCLI(t)
	if r := c.run("--registry", s.Host, "publish", helloPackage(t, "example:hello", "1.0.0")); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	tags := make([]string, 0, 300000)
	for i := 0; i < 300000; i++ {
		tags = append(tags, fmt.Sprintf("0.%d.%d", i/1000, i%1000))
	}
	s.AddTags("example/hello", tags...)
	r := c.run("--registry", s.Host, "ls", "example:hello")
	if r.code != 0 || len(r.stdout) > 400 || !strings.Contains(r.stdout, "(300001 versions, the newest 8 shown; --json lists all)") || !strings.Contains(r.stdout, "0.299.999 1.0.0") {
		t.Errorf("ls of 300001 versions: exit %d, %d bytes: %.500s", r.code, len(r.stdout), r.stdout)
	}
	r = c.run("--registry", s.Host, "pull", "example:hello@0.7.5000")
	r.wantError(t, "no version matching 0.7.5000", "0.7.999, 0.8.0", "300001 versions")
	if len(r.stderr) > 500 {
		t.Errorf("not-found error of %d bytes", len(r.stderr))
	}
}

// TestE2ERegistryTimeouts: a registry that accepts and never answers fails
// in the time --response-timeout (or config.toml [network]) gives,
// naming the registry and what timed out.
func TestE2ERegistryTimeouts(t *testing.T) {
	host := registrytest.Silent(t)
	c := newCLI(t)
	c.run("--registry", host, "--response-timeout", "300ms", "pull", "example:hello@1.0.0").
		wantError(t, "registry "+host+" timed out waiting for response headers", "300ms", "--response-timeout")
	if err := os.WriteFile(filepath.Join(c.home, "config.toml"), []byte("[network]\nresponse_timeout = \"250ms\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run("--registry", host, "ls", "example:hello").wantError(t, "registry "+host+" timed out", "250ms")
	c.run("--registry", host, "--stall-timeout", "soon", "ls").wantError(t, "stall-timeout")
}

// TestE2EBuildMetadataVersion: 1.0.1+build.7 publishes and runs alike from
// the local store and a real registry (tag 1.0.1_build.7 in both); a
// version too long for an OCI tag is refused up front in both.
func TestE2EBuildMetadataVersion(t *testing.T) {
	reg := registrytest.Start(t)
	for _, registry := range []string{"local", reg.Host} {
		pub := newCLI(t)
		if r := pub.run("--registry", registry, "publish", helloPackage(t, "example:hello", "1.0.1+build.7")); r.code != 0 || !strings.Contains(r.stdout, "published example:hello@1.0.1+build.7") {
			t.Fatalf("%s: publish: %+v", registry, r)
		}
		c := pub
		if registry != "local" {
			c = newCLI(t)
		}
		if r := c.run("--registry", registry, "example:hello@1.0.1+build.7", "Ada"); r.code != 0 || !strings.HasPrefix(r.stdout, "hello, Ada") {
			t.Errorf("%s: run: %+v", registry, r)
		}
		if r := c.run("--registry", registry, "ls", "example:hello"); !strings.Contains(r.stdout, "1.0.1+build.7") {
			t.Errorf("%s: ls: %+v", registry, r)
		}
		long := "1.0.0+" + strings.Repeat("b", 123)
		pub.run("--registry", registry, "publish", helloPackage(t, "example:hello", long)).
			wantError(t, "129 characters", "128")
	}
}

// TestE2EPublishCleansIngest: what a publish killed with kill -9 leaves in
// store/ingest is removed by the next publish.
func TestE2EPublishCleansIngest(t *testing.T) {
	c := newCLI(t)
	if r := c.run("publish", helloPackage(t, "example:hello", "1.0.0")); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	orphan := filepath.Join(c.home, "store", "ingest", strings.Repeat("ab", 32)+"_1234567")
	if err := os.MkdirAll(filepath.Dir(orphan), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orphan, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(orphan, old, old)
	if r := c.run("publish", helloPackage(t, "example:hello", "1.1.0")); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan ingest file left after a successful publish: %v", err)
	}
}

// TestE2EPruneDuringPulls: `wrun cache prune` in one process while others
// pull: every command succeeds.
func TestE2EPruneDuringPulls(t *testing.T) {
	c := newCLI(t)
	if r := c.run("publish", helloPackage(t, "example:hello", "1.0.0")); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 6; i++ {
				if r := c.run("pull", "example:hello@1.0.0"); r.code != 0 {
					t.Errorf("pull during prune: %+v", r)
				}
			}
		}()
	}
	for i := 0; i < 6; i++ {
		if r := c.run("cache", "prune"); r.code != 0 {
			t.Errorf("prune during pulls: %+v", r)
		}
	}
	wg.Wait()
}
