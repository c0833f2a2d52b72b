package bundle

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// DefaultMaxSize is the default limit on the total size of a bundle's
// files (Options.MaxSize).
const DefaultMaxSize int64 = 8 << 30

// Options tune loading. The zero value is the default.
type Options struct {
	// MaxSize bounds the total bytes of a bundle's files; 0 means
	// DefaultMaxSize.
	MaxSize int64
}

func (o Options) maxSize() int64 {
	if o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

// Package is a loaded package: its manifest, its files and their content
// digest, and its release signature if it has one. Every file was hashed
// when the package was loaded; reading a file again verifies it again.
// A Package is safe for concurrent use. Close releases the bundle file.
type Package struct {
	// Manifest is wrun.toml, with [package] fields the file leaves out
	// filled from the wasm's metadata custom sections (see FillFromWasm).
	Manifest *Manifest
	// Signature is the release manifest and signature, or nil.
	Signature *Signature

	files  []file // sorted by path
	index  map[string]int
	digest Digest
	src    source // where the bytes come from: a directory, an index, a bundle
	name   string // for errors: the directory or bundle path

	emptyDirs []string // LoadDir: asset directories that hold no file, left out
}

// EmptyDirs lists the directories under a package directory's [[assets]]
// trees that hold no file, deepest only: a package holds files, so they
// are not part of it (the content digest has no entry for a directory).
// LoadDir fills it; wrun build warns about each.
func (p *Package) EmptyDirs() []string { return p.emptyDirs }

type file struct {
	Entry
	off int64 // offset of the content in the archive
}

// Digest is the package's content digest.
func (p *Package) Digest() Digest { return p.digest }

// Name returns the package name, namespace:name ("" when wrun.toml and the
// wasm's metadata name none).
func (p *Package) Name() string { return p.Manifest.Package.Name }

// Version returns the package version.
func (p *Package) Version() string { return p.Manifest.Package.Version }

// Files returns the package's files sorted by path, with sizes and sums.
func (p *Package) Files() []Entry {
	out := make([]Entry, len(p.files))
	for i := range p.files {
		out[i] = p.files[i].Entry
	}
	return out
}

// Close releases the bundle file, if any.
func (p *Package) Close() error { return p.src.close() }

func (p *Package) lookup(name string) (*file, error) {
	i, ok := p.index[name]
	if !ok {
		return nil, fmt.Errorf("%s: %q: %w", p.name, name, ErrNotExist)
	}
	return &p.files[i], nil
}

// Open opens a file of the package by its package path. Reading it to the
// end verifies its content against the sum recorded at load; a mismatch is
// an error wrapping ErrDigestMismatch.
func (p *Package) Open(name string) (io.ReadCloser, error) {
	f, err := p.lookup(name)
	if err != nil {
		return nil, err
	}
	r, c, err := p.src.reader(f)
	if err != nil {
		return nil, err
	}
	v := &verifyReader{r: r, c: c, want: f.Sum, size: f.Size, name: p.name + ": " + name}
	if p.src.hashes() {
		v.h = sha256.New()
	}
	return v, nil
}

// ReadFile reads and verifies a whole file of the package.
func (p *Package) ReadFile(name string) ([]byte, error) {
	f, err := p.lookup(name)
	if err != nil {
		return nil, err
	}
	rc, err := p.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, f.Size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, err // the verifier's report of a short file, or the read error
	}
	// Read on to EOF, where the verifier checks size and digest.
	var probe [1]byte
	for {
		_, err := rc.Read(probe[:])
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// FileRange locates a file inside a bundle, so its bytes can be served
// from the archive without extracting: the archive, the file's offset in
// it and its size. ok is false for a directory package.
func (p *Package) FileRange(name string) (ra io.ReaderAt, off, size int64, ok bool, err error) {
	f, err := p.lookup(name)
	a, isArchive := p.src.(*archiveSource)
	if err != nil || !isArchive {
		return nil, 0, 0, false, err
	}
	return a.ra, f.off, f.Size, true, nil
}

// Archive returns the verified bundle a package was opened from and its
// size, for an embedder that serves it itself (wrun serve serves bundle
// assets with FileRange, from the same archive, hashed when it was loaded);
// ok is false for a directory package. Entries under .wrun/ are the release
// signature, not package files.
func (p *Package) Archive() (ra io.ReaderAt, size int64, ok bool) {
	if a, ok := p.src.(*archiveSource); ok {
		return a.ra, a.size, true
	}
	return nil, 0, false
}

// Dir returns the directory a package was loaded from; ok is false for a
// bundle.
func (p *Package) Dir() (dir string, ok bool) {
	switch s := p.src.(type) {
	case dirSource:
		return s.dir, true
	case indexedSource:
		return s.dir, true
	}
	return "", false
}

// verifyReader verifies size and SHA-256 at EOF (ggcr internal/verify).
type verifyReader struct {
	r    io.Reader
	c    io.Closer
	h    hash.Hash
	n    int64
	size int64
	want Digest
	name string
	err  error
}

func (v *verifyReader) Read(b []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(b)
	if v.h != nil {
		v.h.Write(b[:n])
	}
	v.n += int64(n)
	if v.n > v.size {
		v.err = fmt.Errorf("%s: %w: larger than the %d bytes recorded", v.name, ErrDigestMismatch, v.size)
		return 0, v.err
	}
	if err == io.EOF {
		var got Digest
		if v.h != nil {
			v.h.Sum(got[:0])
		} else {
			got = v.want // trusted: verified when written
		}
		switch {
		case v.n != v.size:
			v.err = fmt.Errorf("%s: %w: %d bytes, %d recorded", v.name, ErrDigestMismatch, v.n, v.size)
		case got != v.want:
			v.err = fmt.Errorf("%s: %w: content is %s, recorded %s", v.name, ErrDigestMismatch, got, v.want)
		default:
			v.err = io.EOF
		}
		return n, v.err
	}
	return n, err
}

func (v *verifyReader) Close() error {
	if v.c != nil {
		return v.c.Close()
	}
	return nil
}

// LoadDir loads a package directory: wrun.toml at its root and the files
// it names (the [run] wasm and every regular file under each [[assets]]
// from). Symlinks in the path to wrun.toml, to the [run] wasm or to an
// [[assets]] from directory are refused, as are special files and paths
// under .wrun/. Under an asset directory, a relative symlink that resolves
// inside that directory is packaged as a copy of what it points at (a
// file, or a directory's files under the link's path), so the package and
// its content digest are those of the tree with its links replaced by
// their targets; a symlink that is absolute, climbs out of the asset
// directory, dangles or loops is refused, naming it and its target. Every
// file is opened through an os.Root of dir, so nothing outside dir is
// read. An asset directory must hold at least one file; empty directories
// under it are left out and listed by EmptyDirs.
func LoadDir(dir string) (*Package, error) {
	mpath := filepath.Join(dir, ManifestName)
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w: a package directory needs %s at its root", mpath, ErrMissingFile, ManifestName)
		}
		return nil, err
	}
	defer root.Close()
	if err := noSymlinks(root, dir, ManifestName, ManifestName); err != nil {
		return nil, err
	}
	data, err := readBoundedRoot(root, ManifestName, mpath, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(mpath, data)
	if err != nil {
		return nil, err
	}
	p := &Package{Manifest: m, src: dirSource{dir}, name: dir}
	seen := map[string]bool{}
	add := func(rel string) error {
		if seen[rel] {
			return nil
		}
		if err := ValidatePath(rel); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if reserved(rel) {
			return fmt.Errorf("%s: %w: %q is under the reserved directory %s/", dir, ErrInvalidPath, rel, ReservedDir)
		}
		seen[rel] = true
		p.files = append(p.files, file{Entry: Entry{Path: rel}})
		return nil
	}
	if err := add(ManifestName); err != nil {
		return nil, err
	}
	if w := m.Run.Wasm; w != "" {
		key := fmt.Sprintf("run.wasm %q", w)
		if err := noSymlinks(root, mpath, w, key); err != nil {
			return nil, err
		}
		fi, err := root.Lstat(filepath.FromSlash(w))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w: create it or fix run.wasm", mpath, key, ErrMissingFile)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %s is a %s, not a regular file", mpath, key, typeName(fi.Mode()))
		}
		if err := add(w); err != nil {
			return nil, err
		}
	}
	fsys := root.FS()
	for i, a := range m.Assets {
		key := fmt.Sprintf("assets[%d].from %q", i, a.From)
		if err := noSymlinks(root, mpath, a.From, key); err != nil {
			return nil, err
		}
		fi, err := root.Lstat(filepath.FromSlash(a.From))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w: create the directory or fix the path", mpath, key, ErrMissingFile)
		}
		if !fi.IsDir() {
			what := "regular file"
			if !fi.Mode().IsRegular() {
				what = typeName(fi.Mode())
			}
			return nil, fmt.Errorf("%s: %s is a %s; give a directory of the package", mpath, key, what)
		}
		w := assetWalk{root: root, fsys: fsys, from: a.From, where: mpath, add: add}
		if err := w.walk(a.From, a.From, nil); err != nil {
			return nil, err
		}
		if w.files == 0 {
			return nil, fmt.Errorf("%s: %s: %w: the directory is empty (a bundle holds files, not empty directories)", mpath, key, ErrMissingFile)
		}
		p.emptyDirs = append(p.emptyDirs, w.emptyDirs()...)
	}
	sort.Strings(p.emptyDirs)
	sortFiles(p.files)
	for i := range p.files {
		f := &p.files[i]
		h, err := root.Open(filepath.FromSlash(f.Path))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		f.Sum, f.Size, err = SumReader(h)
		h.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: reading %q: %w", dir, f.Path, err)
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// Limits on what symlinks under an asset directory may expand to.
const (
	maxLinkHops   = 40 // symlinks followed to resolve one path, as Linux's ELOOP
	maxLinkDepth  = 16 // directory links nested in linked directories
	errLinkAdvice = "a package keeps only relative symlinks that stay inside their asset directory (packaged as copies): replace it with the file itself or a link inside"
)

// maxLinkedEntries bounds the entries — files, directories and links —
// walked through directory links, per asset directory: links that fan out
// (ten per level, sixteen levels deep) would otherwise walk 10^16 empty
// directories without packaging one file. A variable for tests.
var maxLinkedEntries = 1 << 20

// assetWalk walks one [[assets]] from directory of a package directory,
// adding its files and expanding the symlinks in it.
type assetWalk struct {
	root   *os.Root
	fsys   fs.FS // root.FS()
	from   string
	where  string // the manifest's path, for errors
	add    func(rel string) error
	files  int
	linked int
	dirs   map[string]bool // package paths of the directories walked
	filled map[string]bool // package paths of the directories that hold a file
}

// walk adds the files under the real directory src as the package
// directory dst (the same but under a directory link); stack holds the
// real directories of the links being expanded, to refuse loops.
func (w *assetWalk) walk(src, dst string, stack []string) error {
	if w.dirs == nil {
		w.dirs, w.filled = map[string]bool{}, map[string]bool{}
	}
	return fs.WalkDir(w.fsys, src, func(real string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", w.where, err)
		}
		rel := dst + strings.TrimPrefix(real, src)
		if len(stack) > 0 {
			if w.linked++; w.linked > maxLinkedEntries {
				return fmt.Errorf("%s: assets from %q: %w: directory links expand to more than %d entries", w.where, w.from, ErrTooLarge, maxLinkedEntries)
			}
		}
		typ := d.Type()
		switch {
		case d.IsDir():
			w.dirs[rel] = true
			return nil
		case typ&fs.ModeSymlink != 0:
			target, fi, err := w.resolve(real)
			if err != nil {
				return err
			}
			switch {
			case fi.Mode().IsRegular():
				return w.file(rel)
			case fi.IsDir():
				for _, s := range append(stack, src) {
					if target == s || strings.HasPrefix(s, target+"/") {
						return w.linkError(real, "contains the link itself, a loop")
					}
				}
				if len(stack) >= maxLinkDepth {
					return w.linkError(real, fmt.Sprintf("nests directory links more than %d deep", maxLinkDepth))
				}
				return w.walk(target, rel, append(stack, src))
			}
			typ = fi.Mode().Type()
		case typ.IsRegular():
			return w.file(rel)
		}
		return fmt.Errorf("%s: %q is a %s; a package holds only regular files", w.where, real, typeName(typ))
	})
}

// file adds the package file rel.
func (w *assetWalk) file(rel string) error {
	w.files++
	for d := path.Dir(rel); d != "." && !w.filled[d]; d = path.Dir(d) {
		w.filled[d] = true
	}
	return w.add(rel)
}

// emptyDirs lists the walked directories that hold no file, deepest only.
func (w *assetWalk) emptyDirs() []string {
	var out []string
	for d := range w.dirs {
		if w.filled[d] {
			continue
		}
		deepest := true
		for e := range w.dirs {
			if !w.filled[e] && strings.HasPrefix(e, d+"/") {
				deepest = false
				break
			}
		}
		if deepest {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// linkError is the error for the symlink at rel: what is wrong with it.
func (w *assetWalk) linkError(rel, what string) error {
	t, _ := w.root.Readlink(filepath.FromSlash(rel))
	return fmt.Errorf("%s: %s: %w: %q is a symlink to %q, which %s; %s", w.where, fmt.Sprintf("assets from %q", w.from), ErrInvalidPath, rel, t, what, errLinkAdvice)
}

// resolve follows the symlink at rel, a path under w.from, one component
// at a time as the kernel does (a ".." after a link climbs from where the
// link points), refusing absolute targets, any step out of w.from,
// dangling links and chains longer than maxLinkHops. It returns the real
// path and what is there.
func (w *assetWalk) resolve(rel string) (string, fs.FileInfo, error) {
	resolved := w.from
	rest := strings.Split(strings.TrimPrefix(rel, w.from+"/"), "/")
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if resolved == w.from {
				return "", nil, w.linkError(rel, fmt.Sprintf("leads out of the asset directory %q", w.from))
			}
			resolved = path.Dir(resolved)
			continue
		}
		next := resolved + "/" + c
		fi, err := w.root.Lstat(filepath.FromSlash(next))
		if err != nil {
			return "", nil, w.linkError(rel, "does not exist")
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", nil, w.linkError(rel, fmt.Sprintf("takes more than %d links to resolve (a loop?)", maxLinkHops))
		}
		t, err := w.root.Readlink(filepath.FromSlash(next))
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", w.where, err)
		}
		if t == "" || path.IsAbs(t) || filepath.IsAbs(t) || strings.HasPrefix(t, "\\") {
			if next == rel {
				return "", nil, w.linkError(rel, "is an absolute path")
			}
			return "", nil, w.linkError(rel, fmt.Sprintf("goes through %q, a symlink to the absolute path %q", next, t))
		}
		rest = append(strings.Split(filepath.ToSlash(t), "/"), rest...)
	}
	fi, err := w.root.Lstat(filepath.FromSlash(resolved))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", w.where, err)
	}
	return resolved, fi, nil
}

// noSymlinks refuses a package path rel any component of which is a
// symlink: "lnk/sub" with lnk -> /elsewhere would read outside the
// package. where and key name the manifest and key for the error. A
// component that does not exist is left to the caller to report.
func noSymlinks(root *os.Root, where, rel, key string) error {
	if !fs.ValidPath(rel) {
		return fmt.Errorf("%s: %s: %w", where, key, ValidatePath(rel))
	}
	for i := 0; i <= len(rel); i++ {
		if i < len(rel) && rel[i] != '/' {
			continue
		}
		part := rel[:i]
		fi, err := root.Lstat(filepath.FromSlash(part))
		if err != nil {
			return nil
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %s: %w: %q is a symlink; wrun does not follow symlinks in a package directory (one could reach files outside it): put the files themselves in the package", where, key, ErrInvalidPath, part)
		}
	}
	return nil
}

// finish indexes the files, computes the digest and fills the manifest.
func (p *Package) finish() error {
	p.index = make(map[string]int, len(p.files))
	for i := range p.files {
		p.index[p.files[i].Path] = i
	}
	if err := p.checkFileDirs(); err != nil {
		return err
	}
	d, err := ContentDigest(p.Files())
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	p.digest = d
	if w := p.Manifest.Run.Wasm; w != "" {
		f, err := p.lookup(w)
		if err != nil {
			return err
		}
		if f.Size <= maxWasmMetadataScan {
			b, err := p.ReadFile(w)
			if err != nil {
				return err
			}
			if err := CheckWasm(b); err != nil {
				return fmt.Errorf("%s: run.wasm %q: %w", p.name, w, err)
			}
			if !needsFill(p.Manifest) {
				return nil
			}
			if md, err := ReadMetadata(b); err == nil {
				FillFromWasm(p.Manifest, md)
			}
		}
	}
	return nil
}

// checkFileDirs refuses a package in which one path is both a file and a
// directory ("static/a" and "static/a/b"): it cannot be extracted.
func (p *Package) checkFileDirs() error {
	for _, f := range p.files {
		for i := 0; i < len(f.Path); i++ {
			if f.Path[i] != '/' {
				continue
			}
			if _, ok := p.index[f.Path[:i]]; ok {
				return fmt.Errorf("%s: %w: %q is a file and also a directory (of %q); a package path cannot be both, so it could never be extracted", p.name, ErrInvalidPath, f.Path[:i], f.Path)
			}
		}
	}
	return nil
}

// CheckWasm checks a core module's section and vector counts against its
// bytes (wasmbin.CheckCounts) before any decoder allocates from them.
// Bytes that are not a core module (another file, a component) are left
// to whoever runs them.
func CheckWasm(b []byte) error {
	if wasmbin.Sniff(b) != wasmbin.CoreModule {
		return nil
	}
	return wasmbin.CheckCounts(b)
}

// needsFill reports whether FillFromWasm could set a field of m.
func needsFill(m *Manifest) bool {
	p := &m.Package
	return p.Name == "" || p.Version == "" || p.Description == "" || len(p.Authors) == 0 ||
		p.License == "" || p.Homepage == "" || p.Source == ""
}

// maxWasmMetadataScan bounds the wasm read to fill [package] from its
// metadata at load.
const maxWasmMetadataScan = 1 << 30

func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	return readBoundedFile(f, err, name, limit)
}

// readBoundedRoot is readBounded of rel in root; name labels errors.
func readBoundedRoot(root *os.Root, rel, name string, limit int64) ([]byte, error) {
	f, err := root.Open(rel)
	return readBoundedFile(f, err, name, limit)
}

func readBoundedFile(f *os.File, err error, name string, limit int64) ([]byte, error) {
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w: a package directory needs %s at its root", name, ErrMissingFile, ManifestName)
		}
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", name, ErrTooLarge, limit)
	}
	return b, nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// DigestDir is the content digest of every regular file under dir (an
// exploded wasm, say), whatever its manifest. Symlinks and special files
// are refused.
func DigestDir(dir string) (Digest, error) {
	var entries []Entry
	err := filepath.WalkDir(dir, func(hp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, hp)
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: %q is a %s; only regular files can be digested", dir, rel, typeName(d.Type()))
		}
		h, err := os.Open(hp)
		if err != nil {
			return err
		}
		defer h.Close()
		sum, n, err := SumReader(h)
		if err != nil {
			return err
		}
		entries = append(entries, Entry{Path: rel, Size: n, Sum: sum})
		return nil
	})
	if err != nil {
		return Digest{}, err
	}
	return ContentDigest(entries)
}

// named reports whether the manifest names the package path rel.
func named(m *Manifest, rel string) bool {
	if rel == ManifestName || rel == m.Run.Wasm {
		return true
	}
	for _, a := range m.Assets {
		if strings.HasPrefix(rel, a.From+"/") {
			return true
		}
	}
	return false
}
