package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"unicode/utf8"

	"github.com/wrun-dev/wrun/internal/atomicfile"
	"github.com/wrun-dev/wrun/internal/bytecount"
)

// Bundle entries under ReservedDir. They hold the release signature and
// are outside the content index (ContentDigest never sees them).
const (
	ReleasePath   = ReservedDir + "/release.json" // release manifest, raw bytes as signed
	SignaturePath = ReservedDir + "/release.sig"  // 64-byte Ed25519 signature, raw
)

// bundleIs explains what a bundle is, for errors about a file that is none.
const bundleIs = "a bundle (.wrun) is a tar archive of a package's files (wrun.toml, its wasm, its assets) as `wrun build DIR` writes it: build it again, or give the package directory or a .wasm instead"

// maxReservedSize bounds each entry under .wrun/.
const maxReservedSize = 64 << 10

// OpenFile opens and verifies a bundle file. The file stays open until
// Close, so the package's files are served from it without extracting.
func OpenFile(name string, opts ...Options) (*Package, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: not a regular file", name, ErrInvalidArchive)
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	p, err := OpenArchive(f, fi.Size(), name, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	p.src.(*archiveSource).closer = f
	return p, nil
}

// OpenArchive reads and verifies a bundle of size bytes from ra; name
// labels errors. It refuses entries that are not regular files, paths that
// break the path rules (../, absolute, invalid UTF-8), duplicates, files the
// manifest does not name, unknown entries under .wrun/, a truncated archive
// or one without its end-of-archive marker, an entry larger than the bytes
// that remain, and more than opts.MaxSize bytes of files. Errors wrap
// ErrInvalidArchive (and ErrInvalidPath, ErrTooLarge, ErrMissingFile or
// ErrInvalidManifest where those apply, and the read error that caused
// them).
func OpenArchive(ra io.ReaderAt, size int64, name string, opts Options) (*Package, error) {
	a := &archiveReader{
		name:  name,
		ra:    ra,
		size:  size,
		limit: opts.maxSize(),
		cr:    bytecount.NewReader(io.NewSectionReader(ra, 0, size)),
		seen:  map[string]bool{},
	}
	if size == 0 {
		return nil, a.bad("the file is empty (0 bytes); %s", bundleIs)
	}
	a.tr = tar.NewReader(a.cr)
	// 1. Read every entry, hashing files and keeping wrun.toml and the
	// release entries, up to a well-formed end of archive.
	if err := a.readEntries(); err != nil {
		return nil, err
	}
	// 2. Check the files against the manifest.
	m, err := a.checkManifest()
	if err != nil {
		return nil, err
	}
	p := &Package{Manifest: m, files: a.files, src: &archiveSource{ra: ra, size: size}, name: name}
	// 3. The release signature, if any: both entries or neither.
	switch {
	case a.release != nil && a.sig != nil:
		p.Signature = &Signature{Release: a.release, Sig: a.sig}
	case a.release != nil || a.sig != nil:
		return nil, a.bad("a release signature needs both %s and %s", ReleasePath, SignaturePath)
	}
	// 4. Index, digest, check the wasm and fill [package] from it.
	sortFiles(p.files)
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// archiveReader is OpenArchive's state while it reads a bundle.
type archiveReader struct {
	name  string
	ra    io.ReaderAt
	size  int64
	limit int64 // Options.MaxSize
	cr    *bytecount.Reader
	tr    *tar.Reader

	seen         map[string]bool
	files        []file
	total        int64 // bytes of files so far
	manifest     []byte
	release, sig []byte
}

// bad is an ErrInvalidArchive error about the bundle.
func (a *archiveReader) bad(format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", a.name, ErrInvalidArchive, fmt.Sprintf(format, args...))
}

// badCause is bad that also wraps the error that caused it (a read
// error, ENOSPC, a tar format error), so errors.Is finds both.
func (a *archiveReader) badCause(cause error, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s: %w", a.name, ErrInvalidArchive, fmt.Sprintf(format, args...), cause)
}

// readEntries reads entries up to the end of the archive.
func (a *archiveReader) readEntries() error {
	for i := 0; ; i++ {
		start := a.cr.N
		hdr, err := a.tr.Next()
		if err == io.EOF {
			return a.checkEnd(i, start)
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				if i == 0 {
					return a.bad("not a bundle: its %d bytes are fewer than one tar header; %s", a.size, bundleIs)
				}
				return a.bad("truncated: the archive ends inside entry %d at byte %d", i, a.cr.N)
			}
			if i == 0 {
				return a.badCause(err, "not a tar archive; %s", bundleIs)
			}
			return a.badCause(err, "entry %d at byte %d (not a tar archive, or the previous entry is larger than its header says)", i, start)
		}
		if err := a.checkHeader(i, hdr); err != nil {
			return err
		}
		if reserved(hdr.Name) {
			err = a.readReserved(hdr)
		} else {
			err = a.readFile(hdr)
		}
		if err != nil {
			return err
		}
	}
}

// checkEnd checks the end of the archive: the end-of-archive marker (two
// zero blocks, entry i starting at byte start) and nothing but zeros
// after it.
func (a *archiveReader) checkEnd(i int, start int64) error {
	if a.cr.N-start < 1024 {
		if i == 0 {
			return a.bad("not a bundle: %d bytes with no tar entry; %s", a.size, bundleIs)
		}
		return a.bad("truncated: the archive ends at byte %d without its end-of-archive marker", a.cr.N)
	}
	rest, err := io.ReadAll(io.LimitReader(a.cr, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	if len(bytes.Trim(rest, "\x00")) != 0 || a.cr.N != a.size {
		return a.bad("data after the end-of-archive marker at byte %d", start)
	}
	return nil
}

// checkHeader checks entry i's header: a regular file, a valid path not
// seen before, no larger than the bytes that remain.
func (a *archiveReader) checkHeader(i int, hdr *tar.Header) error {
	path := hdr.Name
	if !utf8.ValidString(path) {
		return fmt.Errorf("%s: %w: entry %d: %w", a.name, ErrInvalidArchive, i, ValidatePath(path))
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
	case tar.TypeSymlink, tar.TypeLink:
		return a.bad("entry %q is a link (to %q); a bundle holds only regular files", path, hdr.Linkname)
	case tar.TypeDir:
		return a.bad("entry %q is a directory; a bundle holds only regular files", path)
	default:
		return a.bad("entry %q has type %q; a bundle holds only regular files", path, hdr.Typeflag)
	}
	if err := ValidatePath(path); err != nil {
		return fmt.Errorf("%s: %w: entry %d: %w", a.name, ErrInvalidArchive, i, err)
	}
	if a.seen[path] {
		return a.bad("entry %q appears twice", path)
	}
	a.seen[path] = true
	if hdr.Size < 0 || hdr.Size > a.size-a.cr.N {
		return a.bad("entry %q declares %d bytes but %d remain (truncated archive)", path, hdr.Size, a.size-a.cr.N)
	}
	return nil
}

// readReserved reads an entry under .wrun/: a release entry, small.
func (a *archiveReader) readReserved(hdr *tar.Header) error {
	path := hdr.Name
	if hdr.Size > maxReservedSize {
		return fmt.Errorf("%s: %w: %w: %q is larger than %d bytes", a.name, ErrInvalidArchive, ErrTooLarge, path, maxReservedSize)
	}
	b, err := io.ReadAll(a.tr)
	if err != nil {
		return a.badCause(err, "reading %q", path)
	}
	switch path {
	case ReleasePath:
		a.release = b
	case SignaturePath:
		a.sig = b
	default:
		return a.bad("unknown entry %q under the reserved %s/ directory", path, ReservedDir)
	}
	return nil
}

// readFile hashes a package file's entry (keeping wrun.toml's bytes),
// within the size limit, and checks its padding.
func (a *archiveReader) readFile(hdr *tar.Header) error {
	path := hdr.Name
	a.total += hdr.Size
	if a.total > a.limit {
		return fmt.Errorf("%s: %w: %w: files exceed %d bytes at %q", a.name, ErrInvalidArchive, ErrTooLarge, a.limit, path)
	}
	f := file{Entry: Entry{Path: path, Size: hdr.Size}, off: a.cr.N}
	h := sha256.New()
	var w io.Writer = h
	var mbuf bytes.Buffer
	if path == ManifestName {
		if hdr.Size > MaxManifestSize {
			return fmt.Errorf("%s: %w: %w: %s is larger than %d bytes", a.name, ErrInvalidArchive, ErrTooLarge, ManifestName, MaxManifestSize)
		}
		w = io.MultiWriter(h, &mbuf)
	}
	n, err := io.Copy(w, a.tr)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return a.bad("truncated: entry %q ends after %d of %d bytes", path, n, hdr.Size)
		}
		return a.badCause(err, "reading %q", path)
	}
	h.Sum(f.Sum[:0])
	if err := checkPadding(a.ra, f.off+hdr.Size); err != nil {
		return fmt.Errorf("%s: %w: entry %q: %w after its %d declared bytes (a file larger than its header says)", a.name, ErrInvalidArchive, path, err, hdr.Size)
	}
	if path == ManifestName {
		a.manifest = mbuf.Bytes()
	}
	a.files = append(a.files, f)
	return nil
}

// checkManifest parses wrun.toml and checks that it names every file and
// that every file it names is there.
func (a *archiveReader) checkManifest() (*Manifest, error) {
	if a.manifest == nil {
		return nil, fmt.Errorf("%s: %w: %w: no %s", a.name, ErrInvalidArchive, ErrMissingFile, ManifestName)
	}
	m, err := ParseManifest(a.name+"!"+ManifestName, a.manifest)
	if err != nil {
		return nil, err
	}
	for _, f := range a.files {
		if !named(m, f.Path) {
			return nil, a.bad("entry %q is not named by %s ([run] wasm or an [[assets]] from)", f.Path, ManifestName)
		}
	}
	if w := m.Run.Wasm; w != "" && !a.seen[w] {
		return nil, fmt.Errorf("%s: %w: run.wasm %q is not in the bundle", a.name, ErrMissingFile, w)
	}
	for i, as := range m.Assets {
		found := false
		for _, f := range a.files {
			if named(&Manifest{Assets: []Asset{as}}, f.Path) && f.Path != ManifestName {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: %w: assets[%d].from %q has no files in the bundle", a.name, ErrMissingFile, i, as.From)
		}
	}
	return m, nil
}

// WriteArchive writes the package as a canonical bundle: a tar of regular
// files sorted bytewise by path, the release entries (if signed) first,
// each with mode 0644, uid and gid 0, no owner names and mtime 0 (the Unix
// epoch), in ustar format; a path ustar cannot hold (non-ASCII, or too
// long) gets one PAX "path" record and nothing else. The same package gives
// the same bytes on any machine. Each file is verified while copied.
// WriteLayer writes a registry layer by the same rule.
func (p *Package) WriteArchive(w io.Writer) error {
	t := newTarWriter(w, p.name)
	if s := p.Signature; s != nil {
		if err := t.put(ReleasePath, int64(len(s.Release)), bytes.NewReader(s.Release)); err != nil {
			return err
		}
		if err := t.put(SignaturePath, int64(len(s.Sig)), bytes.NewReader(s.Sig)); err != nil {
			return err
		}
	}
	for i := range p.files {
		if err := t.putFile(p, p.files[i].Entry, p.files[i].Path); err != nil {
			return err
		}
	}
	_, err := t.close()
	return err
}

// WriteArchiveFile writes the bundle to name atomically: a temporary file
// in the same directory, synced and renamed. On error nothing is left.
func (p *Package) WriteArchiveFile(name string) error {
	return atomicfile.Write(name, 0o644, p.WriteArchive)
}

// checkPadding checks that the bytes from end to the next 512-byte block
// boundary are zero, as tar pads them.
func checkPadding(ra io.ReaderAt, end int64) error {
	n := (512 - end%512) % 512
	if n == 0 {
		return nil
	}
	pad := make([]byte, n)
	if _, err := ra.ReadAt(pad, end); err != nil {
		return fmt.Errorf("reading padding: %w", err)
	}
	for i, c := range pad {
		if c != 0 {
			return fmt.Errorf("non-zero byte 0x%02x at byte %d", c, end+int64(i))
		}
	}
	return nil
}

func sortFiles(fs []file) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
}
