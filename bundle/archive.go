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
	"time"
	"unicode/utf8"

	"github.com/wrun-dev/wrun/internal/atomicfile"
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

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

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
	p.closer = f
	return p, nil
}

// OpenArchive reads and verifies a bundle of size bytes from ra; name
// labels errors. It refuses entries that are not regular files, paths that
// break the path rules (../, absolute, invalid UTF-8), duplicates, files the
// manifest does not name, unknown entries under .wrun/, a truncated archive
// or one without its end-of-archive marker, an entry larger than the bytes
// that remain, and more than opts.MaxSize bytes of files. Errors wrap
// ErrInvalidArchive (and ErrInvalidPath, ErrTooLarge, ErrMissingFile or
// ErrInvalidManifest where those apply).
func OpenArchive(ra io.ReaderAt, size int64, name string, opts Options) (*Package, error) {
	limit := opts.maxSize()
	cr := &counter{r: io.NewSectionReader(ra, 0, size)}
	tr := tar.NewReader(cr)
	p := &Package{ra: ra, size: size, name: name}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", name, ErrInvalidArchive, fmt.Sprintf(format, args...))
	}
	if size == 0 {
		return nil, bad("the file is empty (0 bytes); %s", bundleIs)
	}
	seen := map[string]bool{}
	var release, sig []byte
	var manifest []byte
	var total int64
	for i := 0; ; i++ {
		start := cr.n
		hdr, err := tr.Next()
		if err == io.EOF {
			if cr.n-start < 1024 {
				if i == 0 {
					return nil, bad("not a bundle: %d bytes with no tar entry; %s", size, bundleIs)
				}
				return nil, bad("truncated: the archive ends at byte %d without its end-of-archive marker", cr.n)
			}
			rest, err := io.ReadAll(io.LimitReader(cr, 1<<20))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(bytes.Trim(rest, "\x00")) != 0 || cr.n != size {
				return nil, bad("data after the end-of-archive marker at byte %d", start)
			}
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				if i == 0 {
					return nil, bad("not a bundle: its %d bytes are fewer than one tar header; %s", size, bundleIs)
				}
				return nil, bad("truncated: the archive ends inside entry %d at byte %d", i, cr.n)
			}
			if i == 0 {
				return nil, bad("not a tar archive (%v); %s", err, bundleIs)
			}
			return nil, bad("entry %d at byte %d: %v (not a tar archive, or the previous entry is larger than its header says)", i, start, err)
		}
		path := hdr.Name
		if !utf8.ValidString(path) {
			return nil, fmt.Errorf("%s: %w: entry %d: %w", name, ErrInvalidArchive, i, ValidatePath(path))
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
		case tar.TypeSymlink, tar.TypeLink:
			return nil, bad("entry %q is a link (to %q); a bundle holds only regular files", path, hdr.Linkname)
		case tar.TypeDir:
			return nil, bad("entry %q is a directory; a bundle holds only regular files", path)
		default:
			return nil, bad("entry %q has type %q; a bundle holds only regular files", path, hdr.Typeflag)
		}
		if err := ValidatePath(path); err != nil {
			return nil, fmt.Errorf("%s: %w: entry %d: %w", name, ErrInvalidArchive, i, err)
		}
		if seen[path] {
			return nil, bad("entry %q appears twice", path)
		}
		seen[path] = true
		if hdr.Size < 0 || hdr.Size > size-cr.n {
			return nil, bad("entry %q declares %d bytes but %d remain (truncated archive)", path, hdr.Size, size-cr.n)
		}
		if reserved(path) {
			if hdr.Size > maxReservedSize {
				return nil, fmt.Errorf("%s: %w: %w: %q is larger than %d bytes", name, ErrInvalidArchive, ErrTooLarge, path, maxReservedSize)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, bad("reading %q: %v", path, err)
			}
			switch path {
			case ReleasePath:
				release = b
			case SignaturePath:
				sig = b
			default:
				return nil, bad("unknown entry %q under the reserved %s/ directory", path, ReservedDir)
			}
			continue
		}
		total += hdr.Size
		if total > limit {
			return nil, fmt.Errorf("%s: %w: %w: files exceed %d bytes at %q", name, ErrInvalidArchive, ErrTooLarge, limit, path)
		}
		f := file{Entry: Entry{Path: path, Size: hdr.Size}, off: cr.n}
		h := sha256.New()
		var w io.Writer = h
		var mbuf bytes.Buffer
		if path == ManifestName {
			if hdr.Size > MaxManifestSize {
				return nil, fmt.Errorf("%s: %w: %w: %s is larger than %d bytes", name, ErrInvalidArchive, ErrTooLarge, ManifestName, MaxManifestSize)
			}
			w = io.MultiWriter(h, &mbuf)
		}
		n, err := io.Copy(w, tr)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, bad("truncated: entry %q ends after %d of %d bytes", path, n, hdr.Size)
			}
			return nil, bad("reading %q: %v", path, err)
		}
		h.Sum(f.Sum[:0])
		if err := checkPadding(ra, f.off+hdr.Size); err != nil {
			return nil, bad("entry %q: %v after its %d declared bytes (a file larger than its header says)", path, err, hdr.Size)
		}
		if path == ManifestName {
			manifest = mbuf.Bytes()
		}
		p.files = append(p.files, f)
	}
	if manifest == nil {
		return nil, fmt.Errorf("%s: %w: %w: no %s", name, ErrInvalidArchive, ErrMissingFile, ManifestName)
	}
	m, err := ParseManifest(name+"!"+ManifestName, manifest)
	if err != nil {
		return nil, err
	}
	p.Manifest = m
	for _, f := range p.files {
		if !named(m, f.Path) {
			return nil, bad("entry %q is not named by %s ([run] wasm or an [[assets]] from)", f.Path, ManifestName)
		}
	}
	if w := m.Run.Wasm; w != "" && !seen[w] {
		return nil, fmt.Errorf("%s: %w: run.wasm %q is not in the bundle", name, ErrMissingFile, w)
	}
	for i, a := range m.Assets {
		found := false
		for _, f := range p.files {
			if named(&Manifest{Assets: []Asset{a}}, f.Path) && f.Path != ManifestName {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: %w: assets[%d].from %q has no files in the bundle", name, ErrMissingFile, i, a.From)
		}
	}
	switch {
	case release != nil && sig != nil:
		p.Signature = &Signature{Release: release, Sig: sig}
	case release != nil || sig != nil:
		return nil, bad("a release signature needs both %s and %s", ReleasePath, SignaturePath)
	}
	sortFiles(p.files)
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// WriteArchive writes the package as a canonical bundle: a tar of regular
// files sorted bytewise by path, the release entries (if signed) first,
// each with mode 0644, uid and gid 0, no owner names and mtime 0 (the Unix
// epoch), in ustar format; a path ustar cannot hold (non-ASCII, or too
// long) gets one PAX "path" record and nothing else. The same package gives
// the same bytes on any machine. Each file is verified while copied.
func (p *Package) WriteArchive(w io.Writer) error {
	tw := tar.NewWriter(w)
	put := func(path string, size int64, r io.Reader) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     path,
			Size:     size,
			Mode:     0o644,
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			hdr.Format = tar.FormatPAX
			if err := tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("%s: %q: %w", p.name, path, err)
			}
		}
		n, err := io.Copy(tw, r)
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("%s: %q: %w: %d bytes, %d recorded", p.name, path, ErrDigestMismatch, n, size)
		}
		return nil
	}
	if s := p.Signature; s != nil {
		if err := put(ReleasePath, int64(len(s.Release)), bytes.NewReader(s.Release)); err != nil {
			return err
		}
		if err := put(SignaturePath, int64(len(s.Sig)), bytes.NewReader(s.Sig)); err != nil {
			return err
		}
	}
	for i := range p.files {
		f := &p.files[i]
		rc, err := p.Open(f.Path)
		if err != nil {
			return err
		}
		err = put(f.Path, f.Size, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
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
		return fmt.Errorf("reading padding: %v", err)
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
