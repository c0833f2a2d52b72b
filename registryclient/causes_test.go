package registryclient

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/registrytest"
)

// TestPullKeepsCause is issue 16 "errors keep their cause": a refused pull
// wraps ErrInvalidArtifact and also the error that caused it, so a caller
// tells a bad layer path from a missing file. Before the fix the cause was
// flattened with %v and only ErrInvalidArtifact matched.
func TestPullKeepsCause(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	publishDir(t, pub, appPackage(t, "example:badpath", "1.0.0"))
	publishDir(t, pub, appPackage(t, "example:missing", "1.0.0"))
	s.Rewrite(t, "example/badpath", "1.0.0", func(m *ocispec.Manifest) {
		m.Layers[len(m.Layers)-1].Annotations[AnnotationPath] = "../escape"
	})
	s.Rewrite(t, "example/missing", "1.0.0", func(m *ocispec.Manifest) {
		var keep []ocispec.Descriptor
		for _, l := range m.Layers {
			if l.MediaType != MediaTypeWasm {
				keep = append(keep, l)
			}
		}
		m.Layers = keep
	})
	for _, tc := range []struct {
		ref   string
		cause error
	}{
		{"example:badpath@1.0.0", bundle.ErrInvalidPath},
		{"example:missing@1.0.0", bundle.ErrMissingFile},
	} {
		c, _ := newClient(t, Options{Registry: s.Host})
		_, err := c.Pull(context.Background(), tc.ref)
		if !errors.Is(err, ErrInvalidArtifact) || !errors.Is(err, tc.cause) {
			t.Errorf("Pull(%s) = %v; want it to match both ErrInvalidArtifact and %v", tc.ref, err, tc.cause)
		}
	}
}

// TestInvalidConfigKeepsCause: a config.toml naming a bad package wraps
// ErrInvalidConfig and the name's own error (ErrInvalidRef).
func TestInvalidConfigKeepsCause(t *testing.T) {
	_, err := ParseConfig([]byte("[package_registry_overrides]\n\"Not A Name\" = \"x\"\n"))
	if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, ErrInvalidRef) {
		t.Fatalf("ParseConfig = %v; want ErrInvalidConfig and ErrInvalidRef", err)
	}
}

// TestDigestMismatchOneValue is issue 16 "merge the duplicate sentinels": a
// mismatch found by registryclient (a tampered blob in transit) and one
// found by bundle (a package file changed under an index) match the same
// value. Before the fix registryclient.ErrDigestMismatch was its own value.
func TestDigestMismatchOneValue(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	dir := plainPackage(t, "example:hello", "1.0.0")
	publishDir(t, pub, dir)
	var wasm string
	for _, l := range manifestLayers(t, s, "example/hello", "1.0.0") {
		if l.MediaType == MediaTypeWasm {
			wasm = l.Digest.String()
		}
	}
	tampered := append([]byte(nil), s.Blob(wasm)...)
	tampered[len(tampered)/2] ^= 0xff
	s.Hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+wasm) {
			w.Write(tampered)
			return true
		}
		return false
	}
	c, _ := newClient(t, Options{Registry: s.Host})
	_, regErr := c.Pull(context.Background(), "example:hello@1.0.0")

	p, err := bundle.LoadDir(dir) // hashes the files; reads verify against it
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := os.WriteFile(filepath.Join(dir, "component.wasm"), tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	_, bundleErr := p.ReadFile("component.wasm")
	for what, err := range map[string]error{"registryclient (tampered blob)": regErr, "bundle (tampered file)": bundleErr} {
		if !errors.Is(err, ErrDigestMismatch) || !errors.Is(err, bundle.ErrDigestMismatch) {
			t.Errorf("%s: %v; want it to match registryclient.ErrDigestMismatch and bundle.ErrDigestMismatch", what, err)
		}
	}
}

// TestMalformedSignatureIsInvalid: a malformed signature annotation is
// refused as ErrSignature and as bundle's ErrSignatureInvalid, the value a
// bundle with a bad signature matches; before the fix only ErrSignature.
func TestMalformedSignatureIsInvalid(t *testing.T) {
	s := registrytest.NewServer(t)
	pub, _ := newClient(t, Options{Registry: s.Host})
	publishDir(t, pub, appPackage(t, "example:sig", "1.0.0"))
	s.Rewrite(t, "example/sig", "1.0.0", func(m *ocispec.Manifest) {
		m.Annotations[AnnotationRelease] = "{}"
		m.Annotations[AnnotationSignature] = "not base64!"
	})
	c, _ := newClient(t, Options{Registry: s.Host})
	_, err := c.Pull(context.Background(), "example:sig@1.0.0")
	if !errors.Is(err, ErrSignature) || !errors.Is(err, bundle.ErrSignatureInvalid) {
		t.Fatalf("Pull = %v; want ErrSignature and bundle.ErrSignatureInvalid", err)
	}
}

// TestUserAgentEveryRequest is issue 16 "one owner per rule": the registry
// auth client is built in one place, so every request (catalog listing
// included, which was built without it) carries wrun's User-Agent.
func TestUserAgentEveryRequest(t *testing.T) {
	s := registrytest.NewServer(t)
	var mu sync.Mutex
	bad := map[string]string{}
	n := 0
	s.Hook = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		n++
		if ua := r.Header.Get("User-Agent"); ua != "wrun" {
			bad[r.Method+" "+r.URL.Path] = ua
		}
		return false
	}
	c, _ := newClient(t, Options{Registry: s.Host})
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	if _, err := c.List(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), "example:hello"); err != nil {
		t.Fatal(err)
	}
	c2, _ := newClient(t, Options{Registry: s.Host})
	mustPull(t, c2, "example:hello@1.0.0").Root.Close()
	mu.Lock()
	defer mu.Unlock()
	if n == 0 || len(bad) != 0 {
		t.Fatalf("%d requests; with another User-Agent than wrun: %v", n, bad)
	}
}

func manifestLayers(t *testing.T, s *registrytest.Server, repo, tag string) []ocispec.Descriptor {
	t.Helper()
	var layers []ocispec.Descriptor
	s.Rewrite(t, repo, tag, func(m *ocispec.Manifest) { layers = m.Layers })
	return layers
}
