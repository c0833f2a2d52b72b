// Package registrytest starts a real OCI distribution registry for tests:
// Debian's docker-registry (CNCF distribution 2.8.2) on 127.0.0.1 with a free
// port and filesystem storage in a temporary directory. Nothing is mocked.
package registrytest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is the registry server the tests run.
const Binary = "docker-registry"

// Registry is a running registry server.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of references to it.
	Host string
	// Root is the filesystem storage directory (tests tamper with it).
	Root string

	cmd    *exec.Cmd
	exited chan struct{}
	log    *lockedBuffer
	once   sync.Once
}

// Start starts a registry and stops it when the test ends. A missing binary
// fails the test with the command that installs it.
func Start(t testing.TB) *Registry {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		t.Fatalf("%s not found on PATH: run `make deps` (Debian package docker-registry)", Binary)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "storage")
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ { // the free port may be taken meanwhile
		r, err := start(bin, dir, root)
		if err == nil {
			t.Cleanup(r.Stop)
			return r
		}
		lastErr = err
	}
	t.Fatalf("starting %s: %v", Binary, lastErr)
	return nil
}

// Blob returns the path of a blob's data file in the registry's storage.
func (r *Registry) Blob(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return filepath.Join(r.Root, "docker", "registry", "v2", "blobs", alg, hex[:2], hex, "data")
}

// Stop stops the server (the "registry down" case); it is safe to call twice.
func (r *Registry) Stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
	})
}

// Log is what the server wrote so far.
func (r *Registry) Log() string { return r.log.String() }

func start(bin, dir, root string) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, root, host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	r := &Registry{Host: host, Root: root, log: &lockedBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Stdout = r.log
	r.cmd.Stderr = r.log
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			return nil, fmt.Errorf("registry exited early:\n%s", r.log.String())
		default:
		}
		if ping(host) {
			return r, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop()
	return nil, fmt.Errorf("registry on %s did not answer /v2/ within 20s:\n%s", host, r.log.String())
}

func ping(host string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + host + "/v2/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
