package bundle

import (
	"archive/tar"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/wrun-dev/wrun/internal/bytecount"
)

// canonicalHeader is the one header rule of every tar wrun writes (a
// bundle, a registry layer): a regular file, mode 0644, uid and gid 0, no
// owner names, mtime 0 (the Unix epoch), in ustar format. A path ustar
// cannot hold — non-ASCII, or longer than its 100-byte name and 155-byte
// prefix fields can split — is written in PAX format instead, which adds
// one PAX "path" record and nothing else.
func canonicalHeader(name string, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatUSTAR,
	}
}

// tarWriter writes canonical entries (canonicalHeader) and counts the
// bytes it wrote.
type tarWriter struct {
	tw   *tar.Writer
	cw   *bytecount.Writer
	name string // for errors: the package
}

func newTarWriter(w io.Writer, name string) *tarWriter {
	cw := bytecount.NewWriter(w)
	return &tarWriter{tw: tar.NewWriter(cw), cw: cw, name: name}
}

// put writes one entry of size bytes read from r; fewer or more bytes
// than size is an error wrapping ErrDigestMismatch.
func (t *tarWriter) put(path string, size int64, r io.Reader) error {
	hdr := canonicalHeader(path, size)
	if err := t.tw.WriteHeader(hdr); err != nil {
		hdr.Format = tar.FormatPAX
		if err := t.tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %q: %w", t.name, path, err)
		}
	}
	n, err := io.Copy(t.tw, r)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: %q: %w: %d bytes, %d recorded", t.name, path, ErrDigestMismatch, n, size)
	}
	return nil
}

// putFile writes the package file f under the entry name path, verified
// while copied.
func (t *tarWriter) putFile(p *Package, f Entry, path string) error {
	rc, err := p.Open(f.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	return t.put(path, f.Size, rc)
}

// close writes the end-of-archive marker and returns the bytes written.
func (t *tarWriter) close() (int64, error) {
	if err := t.tw.Close(); err != nil {
		return t.cw.N, err
	}
	return t.cw.N, nil
}

// WriteLayer writes files of the package as a canonical tar, the way
// WriteArchive writes a bundle (the same header rule: see WriteArchive)
// but with only those files and nothing under .wrun/: sorted bytewise by
// path and, when dir is not "", named relative to dir (every file must be
// under dir). Identical files give identical bytes on any machine, so a
// registry stores and fetches such a layer once. Each file is verified
// while copied. It returns the bytes written.
func (p *Package) WriteLayer(w io.Writer, dir string, files []Entry) (int64, error) {
	sorted := append([]Entry(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	t := newTarWriter(w, p.name)
	for _, f := range sorted {
		name := f.Path
		if dir != "" {
			rel, ok := strings.CutPrefix(f.Path, dir+"/")
			if !ok {
				return t.cw.N, fmt.Errorf("%s: %w: %q is not under the layer's directory %q", p.name, ErrInvalidPath, f.Path, dir)
			}
			name = rel
		}
		if err := t.putFile(p, f, name); err != nil {
			return t.cw.N, err
		}
	}
	return t.close()
}
