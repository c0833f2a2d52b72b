package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// A static file comes from the verified asset layer with its SHA-256 as
// ETag; If-None-Match gets a 304, Range a 206, HEAD no body.
func TestStaticCachingHeaders(t *testing.T) {
	_, ts, _, _ := testServer(t, Options{})
	js := staticFiles["static/app.js"]
	etag := `"sha256-` + sum(js) + `"`

	resp, body := get(t, ts.URL+"/static/app.js")
	wantStatus(t, resp, body, http.StatusOK)
	if body != js {
		t.Errorf("body %q, want %q", body, js)
	}
	if got := resp.Header.Get("ETag"); got != etag {
		t.Errorf("ETag %q, want %q", got, etag)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type %q, want text/javascript", ct)
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges %q", resp.Header.Get("Accept-Ranges"))
	}

	resp, body = get(t, ts.URL+"/static/app.js", "If-None-Match", etag)
	wantStatus(t, resp, body, http.StatusNotModified)
	if body != "" {
		t.Errorf("304 with a body %q", body)
	}
	resp, body = get(t, ts.URL+"/static/app.js", "If-None-Match", `"sha256-`+sum("other")+`"`)
	wantStatus(t, resp, body, http.StatusOK)

	resp, body = get(t, ts.URL+"/static/app.js", "Range", "bytes=0-6")
	wantStatus(t, resp, body, http.StatusPartialContent)
	if body != js[:7] {
		t.Errorf("range body %q, want %q", body, js[:7])
	}
	if cr := resp.Header.Get("Content-Range"); cr != "bytes 0-6/"+strconv.Itoa(len(js)) {
		t.Errorf("Content-Range %q", cr)
	}
	resp, body = get(t, ts.URL+"/static/app.js", "Range", "bytes=1000-2000")
	wantStatus(t, resp, body, http.StatusRequestedRangeNotSatisfiable)

	req, _ := http.NewRequest(http.MethodHead, ts.URL+"/static/hello.txt", nil)
	resp, body = do(t, req)
	wantStatus(t, resp, body, http.StatusOK)
	if body != "" || resp.ContentLength != int64(len(staticFiles["static/hello.txt"])) {
		t.Errorf("HEAD: body %q, Content-Length %d", body, resp.ContentLength)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("HEAD Content-Type %q", ct)
	}

	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/static/hello.txt", strings.NewReader("x"))
	resp, body = do(t, req)
	wantStatus(t, resp, body, http.StatusMethodNotAllowed)
}

// A directory serves its index file; without a trailing slash it
// redirects; without an index it is a 404 unless the route lists.
func TestStaticDirectories(t *testing.T) {
	_, ts, _, _ := testServer(t, Options{})
	resp, body := get(t, ts.URL+"/static/")
	wantStatus(t, resp, body, http.StatusOK)
	if body != staticFiles["static/index.html"] || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("/static/: %q (%s)", body, resp.Header.Get("Content-Type"))
	}
	resp, body = get(t, ts.URL+"/static")
	wantStatus(t, resp, body, http.StatusMovedPermanently)
	if loc := resp.Header.Get("Location"); loc != "/static/" {
		t.Errorf("Location %q, want /static/", loc)
	}
	resp, body = get(t, ts.URL+"/static/sub/")
	wantStatus(t, resp, body, http.StatusNotFound)
	if strings.Contains(body, "deep.css") {
		t.Errorf("a directory was listed without listing = true: %q", body)
	}
	resp, body = get(t, ts.URL+"/files/")
	wantStatus(t, resp, body, http.StatusOK)
	wantContains(t, "listing", body, `href="notes/"`, `href="two.txt"`)
	resp, body = get(t, ts.URL+"/files/notes/one.txt")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = get(t, ts.URL+"/static/space%20name.txt")
	wantStatus(t, resp, body, http.StatusOK)
}

// Paths that escape the asset directory or name nothing in it get 404:
// dot segments plain and encoded, encoded slashes and backslashes, NUL,
// empty segments, a symbolic link made after the package was verified.
func TestStaticEscapesRefused(t *testing.T) {
	_, ts, _, dir := testServer(t, Options{})
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(dir, "static", "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "static", "late.txt"), []byte("added after load\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, target := range []string{
		"/static/../secret.txt",
		"/static/%2e%2e/secret.txt",
		"/static/%2E%2E/secret.txt",
		"/static/..%2fsecret.txt",
		"/static/sub%2f..%2f..%2fsecret.txt",
		"/static/sub/..%2f..%2fsecret.txt",
		"/static/..%5csecret.txt",
		"/static/..\\secret.txt",
		"/static/app.js%00",
		"/static/app.js%00.txt",
		"/static//app.js",
		"/static/./app.js",
		"/static/sub/../app.js",
		"/static/link.txt",
		"/static/late.txt",
		"/static/missing.js",
		"/static/app.js/",
		"/files/../static/app.js",
		"/_wrun/sha256/" + sum(staticFiles["secret.txt"]) + "/secret.txt",
		"/_wrun/sha256/../../static/app.js",
		"/_wrun/sha256/%2e%2e/app.js",
	} {
		code, body := rawGet(t, addr, target)
		if code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404 (body %q)", target, code, body)
		}
		if strings.Contains(body, "SECRET") || strings.Contains(body, "hello from") {
			t.Errorf("GET %s: served a file: %q", target, body)
		}
	}
}

// Every static file has a content-hash URL, served with Cache-Control:
// immutable; the program reads the same map from $WRUN_ASSET_URLS.
func TestContentHashURLs(t *testing.T) {
	s, ts, _, _ := testServer(t, Options{})
	js := staticFiles["static/app.js"]
	urls := s.AssetURLs()
	want := HashPrefix + sum(js) + "/app.js"
	if urls["/static/app.js"] != want || urls["/static/same/app.js"] != want {
		t.Fatalf("AssetURLs: /static/app.js → %q, /static/same/app.js → %q, want %q", urls["/static/app.js"], urls["/static/same/app.js"], want)
	}
	if urls["/files/notes/one.txt"] == "" {
		t.Errorf("AssetURLs has no entry for the listing route's file: %v", urls)
	}
	resp, body := get(t, ts.URL+want)
	wantStatus(t, resp, body, http.StatusOK)
	if body != js {
		t.Errorf("body %q", body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control %q", cc)
	}
	if resp.Header.Get("ETag") != `"sha256-`+sum(js)+`"` {
		t.Errorf("ETag %q", resp.Header.Get("ETag"))
	}
	resp, body = get(t, ts.URL+want, "If-None-Match", resp.Header.Get("ETag"))
	wantStatus(t, resp, body, http.StatusNotModified)
	for _, bad := range []string{
		HashPrefix + sum(js) + "/other.js",
		HashPrefix + sum("nothing") + "/app.js",
		HashPrefix + sum(js),
		HashPrefix + strings.ToUpper(sum(js)) + "/app.js",
	} {
		resp, body := get(t, ts.URL+bad)
		wantStatus(t, resp, body, http.StatusNotFound)
	}

	resp, body = get(t, ts.URL+"/manifest")
	wantStatus(t, resp, body, http.StatusOK)
	var fromGuest map[string]string
	if err := json.Unmarshal([]byte(body), &fromGuest); err != nil {
		t.Fatalf("the guest's %s: %v: %q", AssetManifestPath, err, body)
	}
	if fromGuest["/static/app.js"] != want || len(fromGuest) != len(urls) {
		t.Errorf("the guest's manifest %v, want %v", fromGuest, urls)
	}
}

// ContentURLs gives `wrun inspect` the same map without a Server.
func TestContentURLsWithoutServer(t *testing.T) {
	pkg := loadPackage(t, writePackage(t, cgiManifest, staticFiles))
	s, err := New(pkg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, want := ContentURLs(pkg.Resolved), s.AssetURLs()
	if !maps.Equal(got, want) || got["/static/app.js"] == "" {
		t.Errorf("ContentURLs %v, want %v", got, want)
	}
}

// Once the in-memory cache of verified files is full, a file that does not
// fit is served from disk and takes no share of the cache: a smaller one
// requested after it still fits.
func TestStaticCacheBound(t *testing.T) {
	files := map[string]string{
		"static/a.txt": strings.Repeat("a", 200),
		"static/b.txt": strings.Repeat("b", 200),
		"static/c.txt": strings.Repeat("c", 100),
		"data/two.txt": "two\n",
	}
	s, err := New(loadPackage(t, writePackage(t, cgiManifest, files)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.cacheMax = 300
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
		resp, body := get(t, ts.URL+"/static/"+name)
		wantStatus(t, resp, body, http.StatusOK)
		if body != files["static/"+name] {
			t.Errorf("%s: body %q", name, body)
		}
	}
	for name, want := range map[string]bool{"a.txt": true, "b.txt": false, "c.txt": true} {
		f, _ := s.assets.lookup("/static/" + name)
		if got := f.data.Load() != nil; got != want {
			t.Errorf("%s cached: %v, want %v", name, got, want)
		}
	}
	if got := s.cached.Load(); got != 300 {
		t.Errorf("cache holds %d bytes by its count, want 300", got)
	}
}

// A content-hash URL is a URL: a file name holding "?", "#", "%" or a
// space is escaped in it, so that requesting it serves that file.
func TestContentHashURLEscaped(t *testing.T) {
	const name, content = "q?x #1%41.js", "console.log('odd name');\n"
	files := map[string]string{"static/" + name: content, "data/two.txt": "two\n"}
	s, err := New(loadPackage(t, writePackage(t, cgiManifest, files)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	u := s.AssetURLs()["/static/"+name]
	if want := HashPrefix + sum(content) + "/q%3Fx%20%231%2541.js"; u != want {
		t.Fatalf("AssetURLs: %q, want %q", u, want)
	}
	resp, body := get(t, ts.URL+u)
	wantStatus(t, resp, body, http.StatusOK)
	if body != content {
		t.Errorf("body %q, want %q", body, content)
	}
}

// Where two static routes give one URL path, the longer route serves it,
// and both Server.AssetURLs and ContentURLs map it to that route's file,
// whatever the order of the routes in wrun.toml.
func TestContentURLsOverlappingRoutes(t *testing.T) {
	const manifest = `[package]
name = "test:overlap"
version = "1.0.0"

[run]
wasm = "component.wasm"

[[assets]]
from = "static"
to = "/static"

[[assets]]
from = "data"
to = "/data"

[[http.routes]]
path = "/"
static = "/static"

[[http.routes]]
path = "/sub/"
static = "/data"
`
	files := map[string]string{"static/sub/deep.css": "outer\n", "static/sub/outer.css": "outer only\n", "data/deep.css": "inner\n"}
	pkg := loadPackage(t, writePackage(t, manifest, files))
	s, err := New(pkg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	resp, body := get(t, ts.URL+"/sub/deep.css")
	wantStatus(t, resp, body, http.StatusOK)
	want := HashPrefix + sum(body) + "/deep.css"
	if body != "inner\n" || s.AssetURLs()["/sub/deep.css"] != want || ContentURLs(pkg.Resolved)["/sub/deep.css"] != want {
		t.Errorf("/sub/deep.css serves %q; AssetURLs → %q, ContentURLs → %q, want %q",
			body, s.AssetURLs()["/sub/deep.css"], ContentURLs(pkg.Resolved)["/sub/deep.css"], want)
	}
	// /sub/outer.css is the /sub/ route's, which has no such file: 404,
	// and no content-hash URL for it.
	resp, body = get(t, ts.URL+"/sub/outer.css")
	wantStatus(t, resp, body, http.StatusNotFound)
	if u, ok := s.AssetURLs()["/sub/outer.css"]; ok {
		t.Errorf("AssetURLs maps /sub/outer.css, which is not served, to %q", u)
	}
}
