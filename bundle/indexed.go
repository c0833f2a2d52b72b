package bundle

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
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
		return bytes.Compare([]byte(e.Path), []byte(name))
	})
	if !ok || entries[i].Sum != SumBytes(data) || entries[i].Size != int64(len(data)) {
		return nil, fmt.Errorf("%s: %w: wrun.toml does not match the package's index", dir, ErrDigestMismatch)
	}
	m, err := ParseManifest(mpath, data)
	if err != nil {
		return nil, err
	}
	p := &Package{Manifest: m, src: indexedSource{dirSource{dir}}, name: dir, files: make([]file, len(entries))}
	for i, e := range entries {
		if err := ValidatePath(e.Path); err != nil {
			return nil, fmt.Errorf("%s: index: %w", dir, err)
		}
		if i > 0 && bytes.Compare([]byte(entries[i-1].Path), []byte(e.Path)) >= 0 {
			return nil, fmt.Errorf("%s: index is not sorted by path at %q", dir, e.Path)
		}
		p.files[i] = file{Entry: e}
	}
	p.index = make(map[string]int, len(p.files))
	for i := range p.files {
		p.index[p.files[i].Path] = i
	}
	if p.digest, err = ContentDigest(p.Files()); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return p, nil
}
