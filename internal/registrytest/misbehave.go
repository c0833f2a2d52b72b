package registrytest

import (
	"encoding/json"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Rewrite changes the manifest the server serves for repo:tag: fn edits it
// in place (swap a layer, add one) and the result is served under the tag.
func (s *Server) Rewrite(t testing.TB, repo, tag string, fn func(m *ocispec.Manifest)) {
	t.Helper()
	var m ocispec.Manifest
	if err := json.Unmarshal(s.Manifest(repo, tag), &m); err != nil {
		t.Fatal(err)
	}
	fn(&m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s.PutManifest(repo, tag, b)
}

// Layer stores b as a blob and returns its descriptor, with the
// dev.wrun.path annotation when path is not empty.
func (s *Server) Layer(mediaType string, b []byte, path string) ocispec.Descriptor {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.Digest(s.PutBlob(b)), Size: int64(len(b))}
	if path != "" {
		d.Annotations = map[string]string{"dev.wrun.path": path}
	}
	return d
}

// Silent starts a TCP listener on 127.0.0.1 that accepts connections and
// never answers, and returns its address; it stops when the test ends.
func Silent(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}
