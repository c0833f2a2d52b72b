package registryclient

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/registrytest"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// Attacks by a registry that serves what it likes (a registrytest.Server on
// 127.0.0.1): each is refused, and the cache holds nothing of it.

// appPackage is a wrun package artifact: a wasm and an asset directory.
func appPackage(t testing.TB, name, version string) string {
	return writePackage(t, "[package]\nname = \""+name+"\"\nversion = \""+version+"\"\nkind = \"component\"\n[run]\nwasm = \"component.wasm\"\n[[assets]]\nfrom = \"data\"\nto = \"/data\"\n",
		map[string][]byte{"component.wasm": testenv.GuestBytes(t, "c/hello"), "data/a.txt": []byte("genuine\n")})
}

// assertNothingCached checks that no package is extracted and no tag of
// repo is remembered.
func assertNothingCached(t testing.TB, c *Client, host, repo string) {
	t.Helper()
	ents, _ := os.ReadDir(c.packagesDir())
	for _, e := range ents {
		t.Errorf("refused artifact left in the cache: packages/%s", e.Name())
	}
	if tags := c.cache.cachedTags(targetKey(Target{Host: host}), repo); len(tags) != 0 {
		t.Errorf("refused artifact's tag remembered: %v", tags)
	}
	info, err := c.CacheList(context.Background())
	if err != nil || len(info.Packages) != 0 {
		t.Errorf("cache ls after a refusal: %+v, %v", info, err)
	}
}

// TestHostileSignatureBypass is issue 10 item 1: a signed package's genuine
// annotations, its wasm swapped, and a layer at .wrun/verified.json holding
// the genuine file index. Before the fix the swapped code ran as "signed".
func TestHostileSignatureBypass(t *testing.T) {
	s := registrytest.NewServer(t)
	keyPEM, pubPEM, err := bundle.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := bundle.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := newClient(t, Options{Registry: s.Host, SignKey: key})
	dir := appPackage(t, "example:app", "1.0.0")
	publishDir(t, signer, dir)
	genuine, err := bundle.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	index, _ := json.Marshal(genuine.Files())
	evil := testenv.GuestBytes(t, "c/echo")

	for _, tc := range []struct {
		name      string
		mediaType string
		path      string
		content   []byte
	}{
		{"wasm layer", MediaTypeWasm, ".wrun/verified.json", index},
		{"toml layer", MediaTypeManifestTOML, ".wrun/verified.json", index},
		{"pull record", MediaTypeWasm, ".wrun/pull.json", []byte(`{"ref":"x"}`)},
		{"reserved dir itself", MediaTypeWasm, ".wrun", index},
		{"files tar at .wrun", MediaTypeFilesTar, ".wrun", tarOf(t, map[string][]byte{"verified.json": index})},
		{"files tar entry under .wrun", MediaTypeFilesTar, "", tarOf(t, map[string][]byte{".wrun/verified.json": index})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag := strings.ReplaceAll(tc.name, " ", "-")
			src := s.Manifest("example/app", "1.0.0")
			s.PutManifest("example/app", tag, src)
			s.Rewrite(t, "example/app", tag, func(m *ocispec.Manifest) {
				for i, l := range m.Layers {
					if l.MediaType == MediaTypeWasm {
						d := s.Layer(MediaTypeWasm, evil, l.Annotations[AnnotationPath])
						m.Layers[i] = d
					}
				}
				m.Layers = append(m.Layers, s.Layer(tc.mediaType, tc.content, tc.path))
			})
			h := testHome(t)
			if _, err := (bundle.TrustStore{Dir: h.Keys()}).Trust("example", pubPEM); err != nil {
				t.Fatal(err)
			}
			c, _ := newClient(t, Options{Home: h.Data})
			ref := s.Host + "/example/app:" + tag
			r, err := c.Pull(context.Background(), ref)
			if err == nil {
				got, _ := os.ReadFile(r.Root.Wasm())
				t.Fatalf("pulled a swapped wasm (swapped=%v, verified=%v)", bytes.Equal(got, evil), r.Root.Verification.Verified)
			}
			if !errors.Is(err, ErrInvalidArtifact) || !strings.Contains(err.Error(), ".wrun") {
				t.Fatalf("Pull = %v, want ErrInvalidArtifact naming the reserved .wrun/ directory", err)
			}
			assertNothingCached(t, c, s.Host, "example/app")
		})
	}
}

// TestHostileLinkIntoBlobStore is issue 10 item 2: a layer named
// .wrun/pull.json whose digest is a blob another package uses. Before the
// fix the pull record was written through the hard link into that blob, and
// the other package failed for good.
func TestHostileLinkIntoBlobStore(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	victimDir := appPackage(t, "example:victim", "1.0.0")
	publishDir(t, pub, victimDir)
	publishDir(t, pub, appPackage(t, "example:evil", "1.0.0"))
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data, Registry: s.Host})
	victim := mustPull(t, c, "example:victim@1.0.0")
	wasm := testenv.GuestBytes(t, "c/hello")
	victimWasm := digest.FromBytes(wasm)
	victim.Root.Close()

	for _, path := range []string{".wrun/pull.json", ".wrun/verified.json"} {
		s.Rewrite(t, "example/evil", "1.0.0", func(m *ocispec.Manifest) {
			m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: MediaTypeWasm, Digest: victimWasm, Size: int64(len(wasm)), Annotations: map[string]string{AnnotationPath: path}})
		})
		c, _ := newClient(t, Options{Home: h.Data, Registry: s.Host})
		if _, err := c.Pull(context.Background(), "example:evil@1.0.0"); !errors.Is(err, ErrInvalidArtifact) {
			t.Errorf("%s: Pull = %v, want ErrInvalidArtifact", path, err)
		}
	}
	b, err := os.ReadFile(c.cache.path(victimWasm))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); "sha256:"+hex.EncodeToString(sum[:]) != victimWasm.String() {
		t.Fatalf("the victim's blob in the cache was overwritten: %q", b[:min(len(b), 64)])
	}
	// The other package still loads and verifies against its content digest.
	c2, _ := newClient(t, Options{Home: h.Data, Registry: s.Host})
	r := mustPull(t, c2, "example:victim@1.0.0")
	defer r.Root.Close()
	got, err := os.ReadFile(r.Root.Wasm())
	if err != nil || !bytes.Equal(got, wasm) {
		t.Fatalf("victim's wasm after the attack: %d bytes, %v", len(got), err)
	}
	d, _ := r.Root.Dir()
	p, err := bundle.LoadDir(d)
	if err != nil || p.Digest() != r.Root.Digest() {
		t.Fatalf("victim no longer verifies: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(h.Cache, "packages"))
	if len(ents) != 1 {
		t.Errorf("packages after the attacks: %v, want the victim only", ents)
	}
}

// tarOf is a tar of regular files.
func tarOf(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHostileWrongNameNotCached: a tag that holds another package is
// refused, and refused means not cached: nothing extracted, no tag
// remembered, nothing in CacheList.
func TestHostileWrongNameNotCached(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	publishDir(t, pub, appPackage(t, "example:other", "1.0.0"))
	s.PutManifest("example/app", "1.0.0", s.Manifest("example/other", "1.0.0"))
	c, _ := newClient(t, Options{Registry: s.Host})
	for i := 0; i < 2; i++ { // the second pull finds the blobs cached
		_, err := c.Pull(context.Background(), "example:app@1.0.0")
		if !errors.Is(err, ErrInvalidArtifact) || !strings.Contains(err.Error(), `holds package "example:other"`) {
			t.Fatalf("Pull = %v, want ErrInvalidArtifact naming the package it holds", err)
		}
		assertNothingCached(t, c, s.Host, "example/app")
	}
}

// TestManyVersions: a package with 300,001 versions makes a short,
// one-line not-found error: the nearest versions and a count.
func TestManyVersions(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	publishDir(t, pub, plainPackage(t, "example:app", "1.0.0"))
	tags := make([]string, 0, 300000)
	for i := 0; i < 300000; i++ {
		tags = append(tags, fmt.Sprintf("0.%d.%d", i/1000, i%1000))
	}
	s.AddTags("example/app", tags...)
	c, _ := newClient(t, Options{Registry: s.Host})
	_, err := c.Pull(context.Background(), "example:app@0.150.5000")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Pull = %v, want ErrNotFound", err)
	}
	msg := err.Error()
	if len(msg) > 500 || strings.Contains(msg, "\n") || !strings.Contains(msg, "300001 versions") || !strings.Contains(msg, "0.150.999, 0.151.0") {
		t.Fatalf("not-found error of %d bytes: %.600s", len(msg), msg)
	}
	t.Log(msg)
	_, err = c.Pull(context.Background(), "example:app@^2")
	if msg := err.Error(); len(msg) > 500 || !strings.Contains(msg, "1.0.0 (300001 versions, the 8 newest shown") {
		t.Fatalf("range not found, %d bytes: %.600s", len(msg), msg)
	}
}

// TestHostileAnnouncedDigestPrinted: a content-digest annotation is
// registry text; the refusal quotes it by the one printing rule
// (internal/printable): no control or bidi character reaches the
// terminal, and a backslash in the data cannot pass for an escape.
func TestHostileAnnouncedDigestPrinted(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	publishDir(t, pub, appPackage(t, "example:app", "1.0.0"))
	const want = "sha256:\x1b[2J\u202eevil\\x1b"
	s.Rewrite(t, "example/app", "1.0.0", func(m *ocispec.Manifest) {
		m.Annotations[AnnotationContentDigest] = want
	})
	c, _ := newClient(t, Options{})
	_, err := c.Pull(context.Background(), s.Host+"/example/app:1.0.0")
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Pull = %v, want ErrDigestMismatch", err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\u202e") || !strings.Contains(msg, `sha256:\x1b[2J\u202eevil\\x1b`) {
		t.Fatalf("error does not escape the announced digest: %q", msg)
	}
	assertNothingCached(t, c, s.Host, "example/app")
}
