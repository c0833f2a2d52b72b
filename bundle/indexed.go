package bundle

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// LoadDirIndexed loads a package directory whose files were hashed before,
// by whoever wrote it (a package cache that verified every byte when it
// extracted the package, and keeps the directory read-only). entries are
// those files, as Files returned them then. Only wrun.toml is read and
// checked against its entry; the other files are trusted to match theirs:
// Open and ReadFile check their sizes but do not hash them again. The manifest's
// [package] fields are not filled from the wasm's metadata, since that
// would read the wasm.
//
// It exists so that a warm run does not hash a whole package (a Python
// standard library is 1,300 files) every time it starts.
func LoadDirIndexed(dir string, entries []Entry) (*Package, error) {
	mpath := filepath.Join(dir, ManifestName)
	data, err := readBounded(mpath, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	i, ok := slices.BinarySearchFunc(entries, ManifestName, func(e Entry, name string) int {
		return strings.Compare(e.Path, name)
	})
	if !ok || entries[i].Sum != SumBytes(data) || entries[i].Size != int64(len(data)) {
		return nil, fmt.Errorf("%s: %w: wrun.toml does not match the package's index", dir, ErrDigestMismatch)
	}
	m, err := ParseManifest(mpath, data)
	if err != nil {
		return nil, err
	}
	p := &Package{Manifest: m, src: indexedSource{dirSource{dir}}, name: dir, files: make([]file, len(entries))}
	p.index = make(map[string]int, len(entries))
	// The content digest (ContentDigest's rule), computed here over the
	// entries as they are checked: they are sorted and unique once checked,
	// so ContentDigest's copy, sort and second check are not needed.
	h := sha256.New()
	var rec [len(Digest{}) + 2]byte
	for i, e := range entries {
		if err := ValidatePath(e.Path); err != nil {
			return nil, fmt.Errorf("%s: index: %w", dir, err)
		}
		if i > 0 && entries[i-1].Path >= e.Path {
			return nil, fmt.Errorf("%s: index is not sorted by path at %q", dir, e.Path)
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("%s: index: %q has a negative size", dir, e.Path)
		}
		p.files[i] = file{Entry: e}
		p.index[e.Path] = i
		copy(rec[:], e.Sum[:])
		binary.LittleEndian.PutUint16(rec[len(e.Sum):], uint16(len(e.Path)))
		h.Write(rec[:])
		io.WriteString(h, e.Path)
	}
	h.Sum(p.digest[:0])
	return p, nil
}

// Indexed reports whether p was loaded through a file index
// (LoadDirIndexed): its files were not hashed by this load, and nothing
// but wrun.toml was looked at, so a reader of its directory must check
// each file it opens (a regular file of the indexed size), as
// vfs.NewIndexLayer does.
func (p *Package) Indexed() bool {
	_, ok := p.src.(indexedSource)
	return ok
}
