package vfs_test

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// hostFileFixture is a directory with the file "granted" (the one to
// mount), a sibling "secret" and a link to the granted file.
func hostFileFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "granted"), []byte("granted\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("secret\n"), 0o644)
	os.Symlink("granted", filepath.Join(dir, "link"))
	return dir
}

func readRoot(t *testing.T, fsys sys.FS, p string) (string, sys.Errno) {
	t.Helper()
	f, errno := fsys.OpenFile(p, sys.O_RDONLY, 0)
	if errno != 0 {
		return "", errno
	}
	defer f.Close()
	var out []byte
	buf := make([]byte, 64)
	for {
		n, errno := f.Read(buf)
		out = append(out, buf[:n]...)
		if errno != 0 {
			return string(out), errno
		}
		if n == 0 {
			return string(out), 0
		}
	}
}

// TestHostFile: the layer's root is the file; reads, appends, truncates
// and times work on it, nothing else in its directory is reachable, and a
// read-only layer refuses every change.
func TestHostFile(t *testing.T) {
	dir := hostFileFixture(t)
	fsys, err := vfs.HostFile(filepath.Join(dir, "granted"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.(io.Closer).Close()
	if got, errno := readRoot(t, fsys, "."); errno != 0 || got != "granted\n" {
		t.Fatalf("read the root: %q, %v", got, errno)
	}
	f, errno := fsys.OpenFile(".", sys.O_WRONLY|sys.O_APPEND, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	f.Write([]byte("more\n"))
	f.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, "granted")); string(b) != "granted\nmore\n" {
		t.Errorf("the append did not reach the host: %q", b)
	}
	if st, errno := fsys.Stat("."); errno != 0 || !st.Mode.IsRegular() || st.Size != 13 {
		t.Errorf("stat of the root: %+v, %v", st, errno)
	}
	if errno := fsys.Utimens(".", 1e9, 2e9); errno != 0 {
		t.Errorf("utimens: %v", errno)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "granted")); fi.ModTime().Unix() != 2 {
		t.Errorf("mtime %v, want 2s after the epoch", fi.ModTime())
	}
	for _, p := range []string{"secret", "../secret", "./secret", "x", "./", "link"} {
		if _, errno := fsys.OpenFile(p, sys.O_RDONLY, 0); errno != sys.ENOTDIR {
			t.Errorf("open %q: %v, want ENOTDIR", p, errno)
		}
		if _, errno := fsys.OpenFile(p, sys.O_WRONLY|sys.O_CREAT, 0o644); errno != sys.ENOTDIR {
			t.Errorf("create %q: %v, want ENOTDIR", p, errno)
		}
	}
	for name, errno := range map[string]sys.Errno{
		"unlink":        fsys.Unlink("."),
		"rename":        fsys.Rename(".", "."),
		"mkdir":         fsys.Mkdir(".", 0o755),
		"mkdir below":   fsys.Mkdir("d", 0o755),
		"symlink below": fsys.Symlink("granted", "l"),
	} {
		if errno == 0 {
			t.Errorf("%s succeeded", name)
		}
	}
	if _, errno := fsys.OpenFile(".", sys.O_RDONLY|sys.O_DIRECTORY, 0); errno != sys.ENOTDIR {
		t.Errorf("open O_DIRECTORY: %v, want ENOTDIR", errno)
	}
	if _, errno := fsys.OpenFile(".", sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL, 0o644); errno != sys.EEXIST {
		t.Errorf("open O_CREAT|O_EXCL: %v, want EEXIST", errno)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "secret")); string(got) != "secret\n" {
		t.Errorf("the sibling changed: %q", got)
	}

	ro, err := vfs.HostFile(filepath.Join(dir, "granted"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.(io.Closer).Close()
	if got, errno := readRoot(t, ro, "."); errno != 0 || got != "granted\nmore\n" {
		t.Errorf("read-only read: %q, %v", got, errno)
	}
	for name, errno := range map[string]sys.Errno{
		"write":    func() sys.Errno { _, e := ro.OpenFile(".", sys.O_WRONLY|sys.O_APPEND, 0); return e }(),
		"truncate": func() sys.Errno { _, e := ro.OpenFile(".", sys.O_RDONLY|sys.O_TRUNC, 0); return e }(),
		"chmod":    ro.Chmod(".", 0o600),
		"utimens":  ro.Utimens(".", 0, 0),
	} {
		if errno != sys.EROFS {
			t.Errorf("read-only %s: %v, want EROFS", name, errno)
		}
	}
}

// TestHostFileConfinement: a link given at mount time is resolved then;
// the file replaced later by a link (to its sibling, to a file outside)
// or by a FIFO is not followed or opened, and a directory is refused.
func TestHostFileConfinement(t *testing.T) {
	dir := hostFileFixture(t)
	// The user's own link is resolved when mounting.
	viaLink, err := vfs.HostFile(filepath.Join(dir, "link"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer viaLink.(io.Closer).Close()
	if got, errno := readRoot(t, viaLink, "."); errno != 0 || got != "granted\n" {
		t.Errorf("through the user's link: %q, %v", got, errno)
	}

	fsys, err := vfs.HostFile(filepath.Join(dir, "granted"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.(io.Closer).Close()
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("outside\n"), 0o644)
	for _, target := range []string{"secret", outside} {
		os.Remove(filepath.Join(dir, "granted"))
		if err := os.Symlink(target, filepath.Join(dir, "granted")); err != nil {
			t.Fatal(err)
		}
		if got, errno := readRoot(t, fsys, "."); errno == 0 {
			t.Errorf("the file replaced by a link to %s: read %q", target, got)
		}
		if _, errno := fsys.OpenFile(".", sys.O_WRONLY|sys.O_TRUNC|sys.O_CREAT, 0o644); errno == 0 {
			t.Errorf("the file replaced by a link to %s: opened to write", target)
		}
		if _, errno := fsys.Stat("."); errno == 0 {
			t.Errorf("the file replaced by a link to %s: stat succeeded", target)
		}
	}
	for _, p := range []string{filepath.Join(dir, "secret"), outside} {
		if b, _ := os.ReadFile(p); string(b) != filepath.Base(p)+"\n" {
			t.Errorf("%s changed: %q", p, b)
		}
	}
	os.Remove(filepath.Join(dir, "granted"))
	if err := syscall.Mkfifo(filepath.Join(dir, "granted"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errno := fsys.OpenFile(".", sys.O_RDONLY, 0); errno != sys.ENOENT { // would block if opened
		t.Errorf("the file replaced by a FIFO: %v, want ENOENT", errno)
	}
	if _, err := vfs.HostFile(dir, false); err == nil {
		t.Error("HostFile accepted a directory")
	}
	if _, err := vfs.HostFile(filepath.Join(dir, "nothing"), false); err == nil {
		t.Error("HostFile accepted a missing file")
	}
}
