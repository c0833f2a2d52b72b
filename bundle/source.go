package bundle

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// source is where a package's bytes come from, one type per source (as
// go-containerregistry gives each image source its own type behind
// v1.Image): a directory (dirSource), a trusted directory index
// (indexedSource) or a bundle (archiveSource). Package's exported methods
// are written once over it; what differs between sources is here.
type source interface {
	// reader returns f's bytes, unverified, for a verifying read: at most
	// one byte more than recorded, so growth is detected. Close c if it is
	// not nil.
	reader(f *file) (r io.Reader, c io.Closer, err error)
	// section returns f's recorded bytes for random access. Close c if it
	// is not nil.
	section(f *file) (sr *io.SectionReader, c io.Closer, err error)
	// hashes reports whether reads are hashed against the recorded sums
	// (false: they were verified when written, only sizes are checked).
	hashes() bool
	// close releases what the source holds open.
	close() error
}

var (
	_ source = dirSource{}
	_ source = indexedSource{}
	_ source = (*archiveSource)(nil)
)

// dirSource is a package directory on the host (LoadDir). Every file is
// opened through an os.Root of the directory, so a symlink put in its way
// after loading cannot lead outside it.
type dirSource struct{ dir string }

func (s dirSource) open(f *file) (*os.File, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(filepath.FromSlash(f.Path))
}

// reader's errors name the directory (they are the caller's, like every
// load error); section's do not, since FS serves guests, who must not see
// host paths.
func (s dirSource) reader(f *file) (io.Reader, io.Closer, error) {
	h, err := s.open(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.dir, err)
	}
	return io.LimitReader(h, f.Size+1), h, nil
}

func (s dirSource) section(f *file) (*io.SectionReader, io.Closer, error) {
	h, err := s.open(f)
	if err != nil {
		return nil, nil, err
	}
	return io.NewSectionReader(h, 0, f.Size), h, nil
}

func (dirSource) hashes() bool { return true }
func (dirSource) close() error { return nil }

// indexedSource is a package directory whose files were verified when it
// was written and which is read-only since (LoadDirIndexed): reads check
// sizes only.
type indexedSource struct{ dirSource }

func (indexedSource) hashes() bool { return false }

// archiveSource is a bundle (OpenArchive, OpenFile): files are sections
// of the archive, served without extracting.
type archiveSource struct {
	ra     io.ReaderAt
	size   int64
	closer io.Closer // the bundle file, for OpenFile; nil for OpenArchive
}

func (s *archiveSource) reader(f *file) (io.Reader, io.Closer, error) {
	return io.NewSectionReader(s.ra, f.off, f.Size), nil, nil
}

func (s *archiveSource) section(f *file) (*io.SectionReader, io.Closer, error) {
	return io.NewSectionReader(s.ra, f.off, f.Size), nil, nil
}

func (*archiveSource) hashes() bool { return true }

func (s *archiveSource) close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}
