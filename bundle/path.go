package bundle

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxPathLen is the longest path the content digest can index (its length
// is a u16).
const MaxPathLen = 65535

// ReservedDir is the top-level directory of a bundle that holds the release
// manifest and signature. Its entries are outside the content index, and a
// package may not hold files under it.
const ReservedDir = ".wrun"

// ValidatePath checks the path rules of the content digest: relative,
// valid UTF-8, '/'-separated, no empty, "." or ".." segment, no leading or
// trailing '/', at most MaxPathLen bytes. The error wraps ErrInvalidPath.
// A valid path costs no allocation (an index checks thousands per load).
func ValidatePath(p string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidPath, p, why)
	}
	switch {
	case p == "":
		return bad("empty path")
	case len(p) > MaxPathLen:
		return fmt.Errorf("%w: a path of %d bytes is longer than %d bytes", ErrInvalidPath, len(p), MaxPathLen)
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("absolute (paths are relative to the package root)")
	case strings.HasSuffix(p, "/"):
		return bad("trailing '/'")
	case strings.ContainsRune(p, 0):
		return bad("contains a NUL byte")
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return bad("empty segment ('//')")
		case ".", "..":
			return bad(fmt.Sprintf("%q segment", seg))
		}
	}
	return nil
}

// reserved reports whether p lies under ReservedDir.
func reserved(p string) bool {
	return p == ReservedDir || strings.HasPrefix(p, ReservedDir+"/")
}
