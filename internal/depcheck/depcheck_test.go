// Package depcheck pins the import graph of DESIGN.md: cmd → runtime →
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

const mod = "github.com/wrun-dev/wrun/"

// forbidden lists, for each package tree, the import path prefixes it must
// not depend on, directly or transitively.
var forbidden = map[string][]string{
	"runtime":        {mod + "cmd", "github.com/spf13/cobra"},
	"registryclient": {mod + "cmd", mod + "runtime", mod + "preinit", "github.com/tetratelabs/wazero", "github.com/spf13/cobra"},
	"bundle":         {mod + "cmd", mod + "runtime", mod + "registryclient", mod + "preinit", "github.com/tetratelabs/wazero", "net/http", "github.com/spf13/cobra"},
	"preinit":        {mod + "cmd", mod + "runtime", mod + "registryclient", mod + "bundle", "net/http", "github.com/spf13/cobra"},
	"vfs":            {mod + "cmd", mod + "runtime", mod + "registryclient", mod + "bundle", mod + "preinit", "net/http", "github.com/spf13/cobra"},
}

func TestImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Deps", "./...")
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
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, mod)
		top, _, _ := strings.Cut(rel, "/")
		for _, bad := range forbidden[top] {
			seen++
			for _, d := range p.Deps {
				if d == bad || strings.HasPrefix(d, bad+"/") {
					t.Errorf("%s depends on %s, against the one-way flow of DESIGN.md", p.ImportPath, d)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("go list reported none of the checked packages")
	}
}
