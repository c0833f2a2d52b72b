package vfs

import (
	"io/fs"
	"syscall"
	"testing"

	"github.com/tetratelabs/wazero/experimental/sys"
)

// TestHostErrnoKeepsMeaning: a host error that wazero's errno set has no
// name for keeps its meaning instead of becoming EIO.
func TestHostErrnoKeepsMeaning(t *testing.T) {
	for in, want := range map[syscall.Errno]sys.Errno{
		syscall.ENOSPC: ENOSPC, syscall.EDQUOT: ENOSPC, syscall.EXDEV: EXDEV,
		syscall.EMFILE: EMFILE, syscall.ENFILE: EMFILE, syscall.EBUSY: EBUSY,
		syscall.ENOENT: sys.ENOENT, syscall.EIO: sys.EIO,
	} {
		if got := errnoOf(&fs.PathError{Op: "write", Path: "/host/x", Err: in}); got != want {
			t.Errorf("%v: %v, want %v", in, got, want)
		}
		if got := toErrno(in); got != want {
			t.Errorf("afero %v: %v, want %v", in, got, want)
		}
	}
}
