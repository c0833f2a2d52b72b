package bundle_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDepcheck pins what bundle may import (DESIGN.md: bundle must not touch
// the network or run Wasm): no net/http, no wazero, no oras, no higher wrun package.
func TestDepcheck(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/wrun-dev/wrun/bundle").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, "net/http"), // (crypto/x509 brings in net itself)
			strings.HasPrefix(dep, "github.com/tetratelabs/wazero"),
			strings.HasPrefix(dep, "oras.land/"),
			strings.HasPrefix(dep, "github.com/wrun-dev/wrun/") && !strings.HasPrefix(dep, "github.com/wrun-dev/wrun/internal/") && dep != "github.com/wrun-dev/wrun/bundle":
			t.Errorf("bundle imports %s", dep)
		}
	}
}
