package vfs

import (
	"errors"
	"syscall"

	"github.com/tetratelabs/wazero/experimental/sys"
)

// Errnos that wazero's sys.Errno (experimental/sys, v1.12) has no name for.
// They are values of type sys.Errno above wazero's range (wazero numbers its
// own from 1 upwards and has about twenty), so every sys.FS method can return
// them unchanged. wazero's own WASI host functions map any errno they do not
// know to EIO, so a guest run under them sees EIO exactly as before; wrun's
// wasi package maps each to its WASI preview 1 code.
const (
	// ENOSPC: a size cap (NewMemFS, Limits.OverlayBytes) is exhausted, or the
	// host file system is full. WASI errno 51.
	ENOSPC sys.Errno = 0x100 + iota
	// EXDEV: a rename or link between two mounts. WASI errno 75.
	EXDEV
	// EMFILE: Limits.MaxOpenFiles is reached. WASI errno 33.
	EMFILE
	// EBUSY: removing or renaming the root of a layer or a mount point.
	// WASI errno 10.
	EBUSY
	// ENOTCAPABLE: the operation needs a right the file descriptor lacks.
	// vfs never returns it; it is here so wrun's wasi package and the
	// layers share one set of names. WASI errno 76.
	ENOTCAPABLE
)

// errnoNames are the messages of the errnos above, as strerror(3) words them.
var errnoNames = map[sys.Errno]string{
	ENOSPC:      "no space left on device",
	EXDEV:       "cross-device link",
	EMFILE:      "too many open files",
	EBUSY:       "device or resource busy",
	ENOTCAPABLE: "capabilities insufficient",
}

// ErrnoString returns the message of e: strerror(3)'s wording for the
// errnos vfs adds, and sys.Errno's own Error for the rest (which prints
// "Errno(N)" for a value it does not know).
func ErrnoString(e sys.Errno) string {
	if s, ok := errnoNames[e]; ok {
		return s
	}
	return e.Error()
}

// hostErrno converts an error from the host or from an afero.Fs to an Errno,
// like sys.UnwrapOSError, but keeps the host errors that wazero's set has no
// name for (ENOSPC, EXDEV, EMFILE, EBUSY, and ENFILE as EMFILE) instead of
// turning them into EIO.
func hostErrno(err error) sys.Errno {
	if err == nil {
		return 0
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		switch se {
		case syscall.ENOSPC, syscall.EDQUOT:
			return ENOSPC
		case syscall.EXDEV:
			return EXDEV
		case syscall.EMFILE, syscall.ENFILE:
			return EMFILE
		case syscall.EBUSY:
			return EBUSY
		}
	}
	var e sys.Errno
	if errors.As(err, &e) {
		return e
	}
	return sys.UnwrapOSError(err)
}
