package registryclient

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wrun-dev/wrun/internal/registrytest"
)

// bigAssets is an assets package holding size pseudo-random bytes.
func bigAssets(t testing.TB, name, version string, size int, seed int64) string {
	data := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(data)
	return writePackage(t, fmt.Sprintf("[package]\nname = %q\nversion = %q\nkind = \"assets\"\n[[assets]]\nfrom = \"data\"\nto = \"/data\"\n", name, version),
		map[string][]byte{"data/blob.bin": data})
}

func TestConcurrentPulls(t *testing.T) {
	reg := registrytest.Start(t)
	h := testHome(t)
	pub, _ := newClient(t, Options{Home: testHome(t).Data, Registry: reg.Host})
	const size = 12 << 20
	publishDir(t, pub, bigAssets(t, "example:big", "1.0.0", size, 1))

	ct := &countingTransport{base: http.DefaultTransport}
	var wg sync.WaitGroup
	digests := make([]string, 16)
	errs := make([]error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := New(Options{Home: h.Data, Registry: reg.Host, HTTPClient: &http.Client{Transport: ct}})
			if err != nil {
				errs[i] = err
				return
			}
			r, err := c.Pull(context.Background(), "example:big@1.0.0")
			if err != nil {
				errs[i] = err
				return
			}
			digests[i] = r.Root.Digest().String()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
		if digests[i] != digests[0] {
			t.Fatalf("pull %d got %s, pull 0 got %s", i, digests[i], digests[0])
		}
	}
	if got := ct.bytes.Load(); got >= 2*size {
		t.Errorf("16 concurrent pulls transferred %d bytes; the %d-byte layer should be fetched once", got, size)
	}
	t.Logf("16 concurrent pulls of a %d-byte package: %d requests, %d bytes", size, ct.n.Load(), ct.bytes.Load())
	c, _ := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	if ps := c.cache.partials(); len(ps) != 0 {
		t.Fatalf("partials left: %v", ps)
	}
}

func TestSharedBlobsFetchedOnce(t *testing.T) {
	reg := registrytest.Start(t)
	h := testHome(t)
	pub, _ := newClient(t, Options{Home: testHome(t).Data, Registry: reg.Host})
	const size = 8 << 20
	publishDir(t, pub, bigAssets(t, "example:stdlib", "1.0.0", size, 2))
	publishDir(t, pub, runtimePackage(t, "1.0.0"))
	for _, name := range []string{"example:one", "example:two"} {
		publishDir(t, pub, writePackage(t, fmt.Sprintf("[package]\nname = %q\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nruntime = \"example:rt@^1\"\n[dependencies]\n\"example:stdlib\" = { version = \"^1\", to = \"/lib\" }\n", name), map[string][]byte{"main.py": []byte(name)}))
	}
	// Two packages that each hold the same asset directory share its layer.
	for _, name := range []string{"example:copy-a", "example:copy-b"} {
		dir := bigAssets(t, name, "1.0.0", size, 3)
		publishDir(t, pub, dir)
	}
	c1, ct1 := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	mustPull(t, c1, "example:one@1.0.0")
	c2, ct2 := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	mustPull(t, c2, "example:two@1.0.0")
	t.Logf("first app: %d bytes; second app sharing the %d-byte dependency: %d bytes", ct1.bytes.Load(), size, ct2.bytes.Load())
	if ct1.bytes.Load() < size || ct2.bytes.Load() > 64<<10 {
		t.Errorf("first pull %d bytes, second %d bytes: the shared dependency must not be fetched again", ct1.bytes.Load(), ct2.bytes.Load())
	}
	c3, ct3 := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	mustPull(t, c3, "example:copy-a@1.0.0")
	before := ct3.bytes.Load()
	mustPull(t, c3, "example:copy-b@1.0.0")
	if second := ct3.bytes.Load() - before; second > 64<<10 {
		t.Errorf("a package with an identical asset layer transferred %d bytes", second)
	}
	blobs := 0
	for _, f := range blobFiles(t, c3) {
		if fi, err := os.Stat(filepath.Join(c3.dirs.Blobs(), "sha256", f)); err == nil && fi.Size() >= size {
			blobs++
		}
	}
	if blobs != 2 { // stdlib's layer and the copy-a/copy-b layer
		t.Errorf("%d large blobs in the cache, want 2", blobs)
	}
}

// stallingTransport stops in the middle of a large body, after telling the
// parent test it is there.
type stallingTransport struct{ base http.RoundTripper }

func (s stallingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(r)
	if err == nil && resp.ContentLength > 4<<20 {
		resp.Body = &stallingBody{ReadCloser: resp.Body}
	}
	return resp, err
}

type stallingBody struct {
	io.ReadCloser
	n int
}

func (s *stallingBody) Read(p []byte) (int, error) {
	if s.n > 1<<20 {
		fmt.Println("STALLED")
		select {} // wait for SIGKILL
	}
	n, err := s.ReadCloser.Read(p)
	s.n += n
	return n, err
}

// TestMain runs the pull TestKilledPull kills when the test binary is
// started as that child (WRUN_KILL_HELPER set), instead of the tests, so the
// helper is never counted as a test that passes.
func TestMain(m *testing.M) {
	if os.Getenv("WRUN_KILL_HELPER") != "" {
		os.Exit(killHelper())
	}
	os.Exit(m.Run())
}

// killHelper is the child of TestKilledPull: a pull through a transport that
// stalls in the middle of the large blob until the parent kills it. Its exit
// status is 1 whatever happens: returning at all means it was not killed.
func killHelper() int {
	c, err := New(Options{Home: testHomeAt(os.Getenv("WRUN_KILL_HOME")).Data, Registry: os.Getenv("WRUN_KILL_REGISTRY"), HTTPClient: &http.Client{Transport: stallingTransport{http.DefaultTransport}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "kill helper:", err)
		return 1
	}
	_, err = c.Pull(context.Background(), "example:big@1.0.0")
	fmt.Fprintln(os.Stderr, "kill helper: pull was not killed:", err)
	return 1
}

func TestKilledPull(t *testing.T) {
	reg := registrytest.Start(t)
	pub, _ := newClient(t, Options{Home: testHome(t).Data, Registry: reg.Host})
	publishDir(t, pub, bigAssets(t, "example:big", "1.0.0", 12<<20, 4))
	hd := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "WRUN_KILL_HELPER=1", "WRUN_KILL_HOME="+hd, "WRUN_KILL_REGISTRY="+reg.Host)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	stalled := false
	for sc.Scan() {
		if sc.Text() == "STALLED" {
			stalled = true
			break
		}
	}
	if !stalled {
		err := cmd.Wait()
		t.Fatalf("the child pull never reached the middle of the blob (%v): %s", err, stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()

	c, _ := newClient(t, Options{Home: testHomeAt(hd).Data, Registry: reg.Host})
	if len(c.cache.partials()) == 0 {
		t.Fatal("the killed pull left no temp file: the test did not kill it mid-blob")
	}
	for _, f := range blobFiles(t, c) {
		if fi, _ := os.Stat(filepath.Join(c.dirs.Blobs(), "sha256", f)); fi != nil && fi.Size() > 4<<20 {
			t.Fatal("the large blob is in the cache under its name after a kill")
		}
	}
	r := mustPull(t, c, "example:big@1.0.0")
	if ps := c.cache.partials(); len(ps) != 0 {
		t.Fatalf("partials left after the next pull: %v", ps)
	}
	b, err := os.ReadFile(filepath.Join(pkgDir(r.Root), "data", "blob.bin"))
	if err != nil || len(b) != 12<<20 {
		t.Fatalf("pulled %d bytes, %v", len(b), err)
	}
	ents, _ := os.ReadDir(c.packagesDir())
	for _, e := range ents {
		if bytes.HasPrefix([]byte(e.Name()), []byte(".tmp-")) {
			t.Fatalf("temp extraction left: %s", e.Name())
		}
	}
}
