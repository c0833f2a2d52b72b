package registryclient

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wrun-dev/wrun/internal/registrytest"
)

// ambientHome points every variable wrun could locate state from (HOME,
// the XDG directories, WRUN_HOME, WRUN_REGISTRY, DOCKER_CONFIG) into a
// fresh directory and returns it, so a test can check nothing went there.
func ambientHome(t *testing.T) string {
	t.Helper()
	amb := t.TempDir()
	for k, v := range map[string]string{
		"HOME": "home", "XDG_DATA_HOME": "xdg-data", "XDG_CACHE_HOME": "xdg-cache",
		"XDG_CONFIG_HOME": "xdg-config", "WRUN_HOME": "wrun-home",
		"WRUN_REGISTRY": "wrun-registry", "DOCKER_CONFIG": "docker",
	} {
		t.Setenv(k, filepath.Join(amb, v))
	}
	return amb
}

// filesUnder lists the regular files under dir, relative to it.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestHomeMovesAllState: Options.Home alone decides where the store, the
// blob cache and the extracted packages live; nothing is written where the
// environment points.
func TestHomeMovesAllState(t *testing.T) {
	amb := ambientHome(t)
	dir := filepath.Join(t.TempDir(), "state")
	c, err := New(Options{Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	mustPull(t, c, "example:hello@1.0.0")
	for _, want := range []string{"store/index.json", "cache/blobs", "cache/packages"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(want))); err != nil {
			t.Errorf("Home %s: no %s: %v", dir, want, err)
		}
	}
	if got := filesUnder(t, amb); len(got) > 0 {
		t.Fatalf("state written outside Options.Home, where the environment points: %v", got)
	}
}

// TestRegistryEnvIgnored: WRUN_REGISTRY is the command line's to read; a
// Client uses only Options.Registry.
func TestRegistryEnvIgnored(t *testing.T) {
	amb := ambientHome(t)
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data})
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	mustPull(t, c, "example:hello@1.0.0")
	if _, err := os.Stat(filepath.Join(h.Store(), "index.json")); err != nil {
		t.Fatalf("not published to the home's store: %v", err)
	}
	if got := filesUnder(t, amb); len(got) > 0 {
		t.Fatalf("the library followed WRUN_REGISTRY: %v", got)
	}
	// A WRUN_REGISTRY naming a host (nothing listens on port 1) changes
	// nothing either: publish, pull and list stay in Options.Home.
	t.Setenv("WRUN_REGISTRY", "127.0.0.1:1")
	c2, _ := newClient(t, Options{Home: h.Data})
	publishDir(t, c2, plainPackage(t, "example:hello", "1.1.0"))
	mustPull(t, c2, "example:hello@1.1.0")
	list, err := c2.List(context.Background(), "example")
	if err != nil || len(list) != 1 || len(list[0].Versions) != 2 {
		t.Fatalf("List with WRUN_REGISTRY=127.0.0.1:1: %+v, %v", list, err)
	}
}

// recorder is a Progress that records what it is told.
type recorder struct {
	mu        sync.Mutex
	started   []string
	total, n  int64
	doneCalls int
}

func (r *recorder) Start(what string) Transfer {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, what)
	return r
}
func (r *recorder) SetTotal(n int64) { r.mu.Lock(); r.total = n; r.mu.Unlock() }
func (r *recorder) Add(n int64)      { r.mu.Lock(); r.n += n; r.mu.Unlock() }
func (r *recorder) Done()            { r.mu.Lock(); r.doneCalls++; r.mu.Unlock() }

// TestProgressReports: Options.Progress follows a pull from its start to
// its end, with the manifest's total and every byte moved.
func TestProgressReports(t *testing.T) {
	reg := registrytest.Start(t)
	pub, _ := newClient(t, Options{Registry: reg.Host})
	publishDir(t, pub, bigAssets(t, "example:big", "1.0.0", 1<<20, 7))
	var r recorder
	c, _ := newClient(t, Options{Registry: reg.Host, Progress: &r})
	mustPull(t, c, "example:big@1.0.0")
	if len(r.started) != 1 || r.doneCalls != 1 {
		t.Fatalf("started %q, done %d times; want one transfer started and done", r.started, r.doneCalls)
	}
	if r.total < 1<<20 || r.n != r.total {
		t.Fatalf("progress total %d, moved %d: want the manifest's total (at least 1 MiB) moved", r.total, r.n)
	}
}
