package registryclient

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/wrun-dev/wrun/internal/registrytest"
)

// BenchmarkPull: cold pulls of a 16 MiB package from the loopback
// registry (fresh cache each iteration); MB/s is the pull throughput,
// including verification and extraction.
func BenchmarkPull(b *testing.B) {
	reg := registrytest.Start(b)
	const size = 16 << 20
	pub, _ := newClient(b, Options{Home: testHome(b).Data, Registry: reg.Host})
	publishDir(b, pub, bigAssets(b, "example:big", "1.0.0", size, 5))
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		c, _ := newClient(b, Options{Home: testHome(b).Data, Registry: reg.Host})
		b.StartTimer()
		if _, err := c.Pull(context.Background(), "example:big@1.0.0"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPullWarm: a warm pull of an exact version (no request).
func BenchmarkPullWarm(b *testing.B) {
	reg := registrytest.Start(b)
	h := testHome(b)
	c, ct := newClient(b, Options{Home: h.Data, Registry: reg.Host})
	publishDir(b, c, plainPackage(b, "example:hello", "1.0.0"))
	mustPull(b, c, "example:hello@1.0.0")
	before := ct.n.Load()
	for b.Loop() {
		c, _ := New(Options{Home: h.Data, Registry: reg.Host, HTTPClient: &http.Client{Transport: ct}})
		if _, err := c.Pull(context.Background(), "example:hello@1.0.0"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ct.n.Load()-before)/float64(b.N), "requests/op")
}

// BenchmarkSharedDependency: bytes transferred to pull a second app that
// shares a 16 MiB dependency with an app already pulled (goal: only the
// second app's own blobs).
func BenchmarkSharedDependency(b *testing.B) {
	reg := registrytest.Start(b)
	const size = 16 << 20
	pub, _ := newClient(b, Options{Home: testHome(b).Data, Registry: reg.Host})
	publishDir(b, pub, bigAssets(b, "example:stdlib", "1.0.0", size, 6))
	publishDir(b, pub, runtimePackage(b, "1.0.0"))
	for _, name := range []string{"example:one", "example:two"} {
		publishDir(b, pub, writePackage(b, fmt.Sprintf("[package]\nname = %q\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nruntime = \"example:rt@^1\"\n[dependencies]\n\"example:stdlib\" = { version = \"^1\", to = \"/lib\" }\n", name), map[string][]byte{"main.py": []byte(name)}))
	}
	var first, second int64
	for b.Loop() {
		b.StopTimer()
		h := testHome(b)
		c1, ct1 := newClient(b, Options{Home: h.Data, Registry: reg.Host})
		mustPull(b, c1, "example:one@1.0.0")
		c2, ct2 := newClient(b, Options{Home: h.Data, Registry: reg.Host})
		b.StartTimer()
		mustPull(b, c2, "example:two@1.0.0")
		first, second = ct1.bytes.Load(), ct2.bytes.Load()
	}
	b.ReportMetric(float64(first), "first-app-bytes")
	b.ReportMetric(float64(second), "second-app-bytes")
}
