package preinit_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
	"github.com/wrun-dev/wrun/preinit"
	"github.com/wrun-dev/wrun/vfs"
)

// wizerVersion is the wizer release compared against; `make tools`
// installs it (WIZER_VERSION there; 11.x breaks npm ci on its lock file).
const wizerVersion = "10.0.0"

// wizer returns the wizer binary `make tools` installed; the test never
// installs it.
func wizer(t *testing.T) string {
	t.Helper()
	return testenv.NpmTool(t, "wizer", "@bytecodealliance/wizer", wizerVersion, "node_modules/@bytecodealliance/wizer-linux-x64/wizer")
}

func runWizer(t *testing.T, in string, args ...string) ([]byte, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "wizer.wasm")
	cmd := exec.Command(wizer(t), append(append([]string{"--allow-wasi"}, args...), "-o", out, in)...)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return nil, &wizerError{err: err, out: string(msg)}
	}
	return os.ReadFile(out)
}

type wizerError struct {
	err error
	out string
}

func (e *wizerError) Error() string { return e.err.Error() + ": " + e.out }

// TestSameAsWizer pre-initializes the guests with wizer and with Preinit and
// checks that both outputs run to the same program output.
func TestSameAsWizer(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "config.txt"), []byte("same = yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, err := vfs.Host(data, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		guest     string
		wizerArgs []string
		opts      preinit.Options
	}{
		{"c/pretable", nil, preinit.Options{}},
		{"c/preheap", nil, preinit.Options{}},
		{"c/prefile", []string{"--mapdir", "/data::" + data}, preinit.Options{Mounts: []vfs.Mount{{Guest: "/data", FS: host}}}},
		{"wat/preglobal", nil, preinit.Options{}},
	} {
		t.Run(tc.guest, func(t *testing.T) {
			w, err := runWizer(t, testenv.Guest(t, tc.guest), tc.wizerArgs...)
			if err != nil {
				t.Fatalf("wizer: %v", err)
			}
			ours, rep := mustPreinit(t, testenv.GuestBytes(t, tc.guest), tc.opts)
			got, want := runGuest(t, ours, nil), runGuest(t, w, nil)
			if got != want {
				t.Errorf("program output after wrun: %q, after wizer: %q", got, want)
			}
			t.Logf("output size: wrun %d, wizer %d (%.3fx); %d segments", len(ours), len(w), float64(len(ours))/float64(len(w)), rep.Segments)
		})
	}
}

// TestRefusedLikeWizer checks that wizer refuses what Preinit refuses.
func TestRefusedLikeWizer(t *testing.T) {
	for _, g := range []string{"wat/preimpmem", "wat/preimpglobal", "wat/preimptable", "wat/pretrap", "wat/prehostcall", "wat/preexit"} {
		t.Run(g, func(t *testing.T) {
			if _, _, err := preinit.Preinit(context.Background(), testenv.GuestBytes(t, g), preinit.Options{}); err == nil {
				t.Error("Preinit accepted it")
			}
			if w, err := runWizer(t, testenv.Guest(t, g)); err == nil {
				t.Errorf("wizer accepted it (%d bytes)", len(w))
			} else {
				t.Logf("wizer: %s", bytes.TrimSpace([]byte(err.Error())))
			}
		})
	}
}
