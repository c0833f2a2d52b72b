package vfs

import "github.com/tetratelabs/wazero/experimental/sys"

// mergedListing pages out a directory listing that is computed whole, once
// per pass over the directory (a union's, or a directory holding mount
// points), and computed again after the directory is rewound.
type mergedListing struct {
	merged []sys.Dirent // nil until computed
	pos    int
}

// rewind starts a new pass.
func (l *mergedListing) rewind() { l.merged, l.pos = nil, 0 }

// next returns up to n entries (all the rest when n <= 0), computing the
// listing with build first when this pass has not yet.
func (l *mergedListing) next(n int, build func() ([]sys.Dirent, sys.Errno)) ([]sys.Dirent, sys.Errno) {
	if l.merged == nil {
		ents, errno := build()
		if errno != 0 {
			return nil, errno
		}
		l.merged = append(ents, sys.Dirent{})[:len(ents)] // non-nil even when empty
	}
	end := len(l.merged)
	if n > 0 {
		end = min(end, l.pos+n)
	}
	out := l.merged[l.pos:end]
	l.pos = end
	return out, 0
}
