// Package depcheck pins the import graph of DESIGN.md: cmd → serve → wrun
// (the module's root package, the embedding API; DESIGN.md's "runtime") →
// (registryclient → bundle, preinit) → vfs → wazero, one way, the way
// go-containerregistry's depcheck_test pins what crane may import.
package depcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

const (
	root = "github.com/wrun-dev/wrun" // the embedding API
	mod  = root + "/"
)

// cliOnly are modules only the command line needs (progress bars, terminal
// detection): the embedding API must not put them in an embedder's build.
var cliOnly = []string{"github.com/schollz/progressbar", "golang.org/x/term"}

// forbidden lists, for each package tree, the import path prefixes it must
// not depend on, directly or transitively.
var forbidden = map[string][]string{
	"": append([]string{mod + "cmd", mod + "serve", "github.com/spf13/cobra"}, cliOnly...),
	// serve sits between the command line and the embedding API.
	"serve":          append([]string{mod + "cmd", "github.com/spf13/cobra"}, cliOnly...),
	"registryclient": append([]string{mod + "cmd", root, mod + "preinit", "github.com/tetratelabs/wazero", "github.com/spf13/cobra"}, cliOnly...),
	// bundle reads and writes packages: no network, no Wasm runtime, no
	// registry client, no file system layer (the rules of the former
	// bundle/depcheck_test.go, which this test replaces).
	"bundle":  {mod + "cmd", root, mod + "registryclient", mod + "preinit", mod + "vfs", "github.com/tetratelabs/wazero", "net/http", "oras.land", "github.com/spf13/cobra"},
	"preinit": {mod + "cmd", root, mod + "registryclient", mod + "bundle", "github.com/spf13/cobra"},
	"vfs":     {mod + "cmd", root, mod + "registryclient", mod + "bundle", mod + "preinit", mod + "wasi", "github.com/spf13/cobra"},
	// wasi: WASI preview 1 host functions over vfs; knows no packages.
	"wasi": {mod + "cmd", root, mod + "registryclient", mod + "bundle", mod + "preinit", "github.com/spf13/cobra"},
}

// forbiddenDirect lists what a package tree must not import itself. vfs
// (and so preinit) links net/http only through afero, whose root package
// holds an HTTP file server adapter (vfs.FromAfero and vfs.FromFS use
// afero; RATIONALE.md "afero at the edge"); neither may use it.
var forbiddenDirect = map[string][]string{
	"preinit": {"net/http", "net"},
	"vfs":     {"net/http", "net"},
	"wasi":    {"net/http", "net"},
}

func TestImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Dir = testenv.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath+"/", mod)
		top, _, _ := strings.Cut(rel, "/") // "" for the root package
		for _, bad := range forbidden[top] {
			seen++
			for _, d := range p.Deps {
				if d == bad || (bad != root && strings.HasPrefix(d, bad+"/")) {
					t.Errorf("%s depends on %s, against the one-way flow of DESIGN.md", p.ImportPath, d)
				}
			}
		}
		for _, bad := range forbiddenDirect[top] {
			seen++
			for _, d := range p.Imports {
				if d == bad || strings.HasPrefix(d, bad+"/") {
					t.Errorf("%s imports %s: it must not touch the network", p.ImportPath, d)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("go list reported none of the checked packages")
	}
}
