package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// walkTree writes the tree testdata/c/walk.c lists: nested directories, an
// empty one, a hidden file, an empty file, a relative symlink to a file,
// one to a directory and a dangling one.
func walkTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"a/b/c", "empty", "z"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"top.txt":        "top\n",
		".hidden":        "h",
		"a/one":          "1",
		"a/b/two":        "22",
		"a/b/c/three":    "333",
		"z/empty-file":   "",
		"a/b/c/deep.bin": string(make([]byte, 4096)),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"a/link-to-one": "one", "a/link-to-b": "b", "dangling": "nowhere"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// nativeWalk builds testdata/c/walk.c with the host's C compiler.
func nativeWalk(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatalf("the host C compiler cc is needed to build walk natively: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "walk")
	out, err := exec.Command(cc, "-O2", "-Wall", "-o", bin, filepath.Join(testenv.Root(), "testdata", "c", "walk.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("cc walk.c: %v\n%s", err, out)
	}
	return bin
}

// TestE2EWalkMatchesNative runs walk (scandir + nftw) natively and as a
// wasm guest over the same host tree, mounted with --mount (read-write and
// :ro) and with --asset, at a plain guest path, at "/" and below
// synthesized parent directories, and requires identical listings: "."
// and ".." included, which wasi-libc's readdir stats when fd_readdir gives
// them inode 0.
func TestE2EWalkMatchesNative(t *testing.T) {
	tree := walkTree(t)
	native := nativeWalk(t)
	wasm := guest(t, "c/walk")
	for _, tc := range []struct {
		name, sub string
		args      []string
	}{
		{"mount", "", []string{"--mount", tree + ":/data", wasm, "/data"}},
		{"mount-ro", "", []string{"--mount", tree + ":/data:ro", wasm, "/data"}},
		{"mount-subdir", "a", []string{"--mount", tree + ":/data", wasm, "/data/a"}},
		{"mount-root", "", []string{"--mount", tree + ":/", wasm, "/"}},
		{"mount-nested", "", []string{"--mount", tree + ":/srv/deep/tree", wasm, "/srv/deep/tree"}},
		{"asset", "", []string{"--asset", tree + ":/data", wasm, "/data"}},
		{"asset-subdir", "a", []string{"--asset", tree + ":/data", wasm, "/data/a"}},
		{"asset-root", "", []string{"--asset", tree + ":/", wasm, "/"}},
		{"asset-nested", "", []string{"--asset", tree + ":/srv/deep/tree", wasm, "/srv/deep/tree"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := exec.Command(native, filepath.Join(tree, tc.sub)).CombinedOutput()
			if err != nil {
				t.Fatalf("native walk: %v\n%s", err, want)
			}
			r := newCLI(t).run(append([]string{"run"}, tc.args...)...)
			if r.code != 0 {
				t.Errorf("wrun run %v: exit code %d, stderr %q", tc.args, r.code, r.stderr)
			}
			got := r.stdout
			if tc.args[len(tc.args)-1] == "/" {
				// At "/" the guest also sees wrun's own /dev (null, zero,
				// urandom), which every guest with a filesystem has.
				got, want = withoutDev(got), []byte(withoutDev(string(want)))
			}
			if got != string(want) {
				t.Errorf("wrun run %v lists differently from the native walk\n--- native\n%s--- wrun\n%s", tc.args, want, got)
			}
		})
	}
}

// withoutDev drops the dev entries of a walk listing and the entry counts
// they change.
func withoutDev(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "  dev ") || strings.HasPrefix(line, "  dev/"):
		case strings.HasPrefix(line, "scandir: ") || strings.HasPrefix(line, "nftw: "):
			name, _, _ := strings.Cut(line, ":")
			keep = append(keep, name+": (count)")
		default:
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
