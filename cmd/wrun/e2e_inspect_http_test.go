package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// wrun inspect lists, for a package with [http] static routes, each file's
// content-hash URL (the one wrun serve answers and gives the program), in
// text and in --json.
func TestInspectContentURLs(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(testenv.Root(), "examples", "webapp")
	b, err := os.ReadFile(filepath.Join(dir, "static", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	want := "/_wrun/sha256/" + hex.EncodeToString(sum[:]) + "/app.js"

	r := c.run("inspect", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "/static/app.js -> "+want+"\n") {
		t.Errorf("wrun inspect: want the line for /static/app.js -> %s\n%+v", want, r)
	}
	r = c.run("inspect", "--json", dir)
	var rep struct {
		ContentURLs map[string]string `json:"content_urls"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.ContentURLs["/static/app.js"] != want {
		t.Errorf("wrun inspect --json: content_urls[/static/app.js] = %q, want %q (%v)", rep.ContentURLs["/static/app.js"], want, err)
	}
}
