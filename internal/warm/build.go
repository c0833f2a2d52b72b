package warm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// BuildID names the running wrun build: the identity of its executable
// file (device, inode, size, modification time) and the Go version.
//
// It is a stat, not a hash of the file: hashing a 30 MB executable would
// cost the client tens of milliseconds on every start, the very cost the
// warm server removes. Replacing the executable (go install, a package
// upgrade, a copy) makes a new file, so a new inode and time; editing it in
// place changes its size or modification time. The build settings Go links
// in (runtime/debug.ReadBuildInfo) add nothing the file's identity does not
// already name, and reading them would make the client wait for
// runtime/debug's initialization (internal/warmstart).
func BuildID() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return buildIDOf(exe)
}

// buildIDOf is BuildID of the executable at path, with the running
// process's build information.
func buildIDOf(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "size=%d mtime=%d\n", fi.Size(), fi.ModTime().UnixNano())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		fmt.Fprintf(h, "dev=%d ino=%d\n", st.Dev, st.Ino)
	}
	fmt.Fprintf(h, "go=%s\n", runtime.Version())
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}
