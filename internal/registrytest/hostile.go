package registrytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Server is a small OCI distribution server of our own on 127.0.0.1, for
// tests that need a registry to misbehave (swap layers, loop its tag list,
// never answer): the endpoints wrun uses (/v2/, manifests, blobs, uploads,
// tags/list, _catalog) over in-memory maps. It is a real HTTP server; a
// test changes what it serves through its methods, and Hook lets a test
// answer any request itself.
type Server struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// Hook, when set, sees every request first; it returns true when it
	// answered the request. Set it before the client starts.
	Hook func(w http.ResponseWriter, r *http.Request) bool

	srv       *httptest.Server
	mu        sync.Mutex
	blobs     map[string][]byte            // digest → content
	manifests map[string]map[string][]byte // repo → tag or digest → manifest
	extraTags map[string][]string          // repo → tags listed besides the manifests'
	uploads   int
}

// NewServer starts a Server and stops it when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		blobs:     map[string][]byte{},
		manifests: map[string]map[string][]byte{},
		extraTags: map[string][]string{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.Host = strings.TrimPrefix(s.srv.URL, "http://")
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Digest is the sha256 digest of b, "sha256:HEX".
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// PutBlob stores a blob and returns its digest.
func (s *Server) PutBlob(b []byte) string {
	d := Digest(b)
	s.mu.Lock()
	s.blobs[d] = append([]byte(nil), b...)
	s.mu.Unlock()
	return d
}

// Blob returns a stored blob, or nil.
func (s *Server) Blob(digest string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blobs[digest]
}

// PutManifest stores a manifest under its digest and, when tag is not
// empty, under tag; it returns the digest.
func (s *Server) PutManifest(repo, tag string, b []byte) string {
	d := Digest(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manifests[repo] == nil {
		s.manifests[repo] = map[string][]byte{}
	}
	s.manifests[repo][d] = append([]byte(nil), b...)
	if tag != "" {
		s.manifests[repo][tag] = s.manifests[repo][d]
	}
	return d
}

// Manifest returns the manifest of repo:ref (a tag or a digest), or nil.
func (s *Server) Manifest(repo, ref string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.manifests[repo][ref]
}

// AddTags lists more tags for repo in tags/list (tags with no manifest).
func (s *Server) AddTags(repo string, tags ...string) {
	s.mu.Lock()
	s.extraTags[repo] = append(s.extraTags[repo], tags...)
	s.mu.Unlock()
}

// Tags returns repo's tags as tags/list does, sorted.
func (s *Server) Tags(repo string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags := append([]string(nil), s.extraTags[repo]...)
	for ref := range s.manifests[repo] {
		if !strings.HasPrefix(ref, "sha256:") {
			tags = append(tags, ref)
		}
	}
	sort.Strings(tags)
	return tags
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.Hook != nil && s.Hook(w, r) {
		return
	}
	p := r.URL.Path
	if p == "/v2/" || p == "/v2" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if p == "/v2/_catalog" {
		s.mu.Lock()
		repos := []string{}
		for repo := range s.manifests {
			repos = append(repos, repo)
		}
		s.mu.Unlock()
		sort.Strings(repos)
		writeJSON(w, map[string]any{"repositories": repos})
		return
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(rest, "/tags/list"):
		repo := strings.TrimSuffix(rest, "/tags/list")
		writeJSON(w, map[string]any{"name": repo, "tags": s.Tags(repo)})
	case strings.Contains(rest, "/blobs/uploads/"):
		i := strings.LastIndex(rest, "/blobs/uploads/")
		repo, id := rest[:i], rest[i+len("/blobs/uploads/"):]
		s.upload(w, r, repo, id)
	case strings.Contains(rest, "/blobs/"):
		i := strings.LastIndex(rest, "/blobs/")
		d := rest[i+len("/blobs/"):]
		b := s.Blob(d)
		if b == nil {
			errorJSON(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Docker-Content-Digest", d)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if r.Method != http.MethodHead {
			w.Write(b)
		}
	case strings.Contains(rest, "/manifests/"):
		i := strings.LastIndex(rest, "/manifests/")
		repo, ref := rest[:i], rest[i+len("/manifests/"):]
		if r.Method == http.MethodPut {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			tag := ref
			if strings.HasPrefix(ref, "sha256:") {
				tag = ""
			}
			d := s.PutManifest(repo, tag, b)
			w.Header().Set("Docker-Content-Digest", d)
			w.WriteHeader(http.StatusCreated)
			return
		}
		b := s.Manifest(repo, ref)
		if b == nil {
			errorJSON(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		var m struct {
			MediaType string `json:"mediaType"`
		}
		_ = json.Unmarshal(b, &m)
		if m.MediaType == "" {
			m.MediaType = "application/vnd.oci.image.manifest.v1+json"
		}
		w.Header().Set("Content-Type", m.MediaType)
		w.Header().Set("Docker-Content-Digest", Digest(b))
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if r.Method != http.MethodHead {
			w.Write(b)
		}
	default:
		http.NotFound(w, r)
	}
}

// upload is the monolithic upload oras-go makes: POST, then PUT ?digest=.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, repo, id string) {
	switch r.Method {
	case http.MethodPost:
		s.mu.Lock()
		s.uploads++
		n := s.uploads
		s.mu.Unlock()
		w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/u%d", repo, n))
		w.WriteHeader(http.StatusAccepted)
	case http.MethodPut:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		want := r.URL.Query().Get("digest")
		if Digest(b) != want {
			errorJSON(w, http.StatusBadRequest, "DIGEST_INVALID", "digest does not match")
			return
		}
		s.PutBlob(b)
		w.Header().Set("Docker-Content-Digest", want)
		w.WriteHeader(http.StatusCreated)
	default:
		errorJSON(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "unsupported upload method "+id)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func errorJSON(w http.ResponseWriter, code int, ecode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": ecode, "message": msg}}})
	w.Write(b)
}
