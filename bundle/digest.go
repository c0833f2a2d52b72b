package bundle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Digest is a SHA-256 digest, written "sha256:<64 lowercase hex digits>".
// The zero Digest is "no digest".
type Digest [sha256.Size]byte

// Parse parses "sha256:<hex>".
func ParseDigest(s string) (Digest, error) {
	var d Digest
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return d, fmt.Errorf("digest %q: want sha256:<64 hex digits>", s)
	}
	if len(hexPart) != 2*sha256.Size || strings.ToLower(hexPart) != hexPart {
		return d, fmt.Errorf("digest %q: want sha256: and 64 lowercase hex digits", s)
	}
	if _, err := hex.Decode(d[:], []byte(hexPart)); err != nil {
		return d, fmt.Errorf("digest %q: %v", s, err)
	}
	return d, nil
}

// String returns "sha256:<hex>".
func (d Digest) String() string { return "sha256:" + hex.EncodeToString(d[:]) }

// Hex returns the hex digits alone.
func (d Digest) Hex() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is the zero Digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// SumBytes is the SHA-256 of b as a Digest.
func SumBytes(b []byte) Digest { return sha256.Sum256(b) }

// SumReader hashes r to its end.
func SumReader(r io.Reader) (Digest, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	var d Digest
	h.Sum(d[:0])
	return d, n, err
}

// Entry is one file of a package as the content digest sees it: its path
// and the SHA-256 of its content.
type Entry struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Sum is the SHA-256 of the content.
	Sum Digest `json:"sha256"`
}

// ContentDigest computes the content digest of a set of files, the
// SIG-Registries Publish API rule (DESIGN.md "Package model"):
//
//	digest = SHA-256(index)
//	index  = entry+ sorted bytewise by path
//	entry  = SHA-256(content) ‖ u16le(len(path)) ‖ path
//
// Every path must satisfy ValidatePath and appear once. entries may be in
// any order; it is not modified.
func ContentDigest(entries []Entry) (Digest, error) {
	sorted := make([]Entry, len(entries))
	copy(sorted, entries)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	var n [2]byte
	for i, e := range sorted {
		if err := ValidatePath(e.Path); err != nil {
			return Digest{}, err
		}
		if i > 0 && sorted[i-1].Path == e.Path {
			return Digest{}, fmt.Errorf("%w: %q appears twice", ErrInvalidPath, e.Path)
		}
		h.Write(e.Sum[:])
		binary.LittleEndian.PutUint16(n[:], uint16(len(e.Path)))
		h.Write(n[:])
		h.Write([]byte(e.Path))
	}
	var d Digest
	h.Sum(d[:0])
	return d, nil
}
