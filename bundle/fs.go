package bundle

import (
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// FS returns the package's files as a read-only fs.FS (also fs.StatFS and
// fs.ReadDirFS) rooted at the package root; directories are implied by the
// paths. A bundle's files are served from the archive without extracting:
// an opened file is an io.ReaderAt and io.Seeker over its bytes in the
// bundle. Reading a file to its end verifies it like Open. Modes are 0444
// (files) and 0555|ModeDir (directories), times zero. Use fs.Sub to serve
// one [[assets]] directory.
func (p *Package) FS() fs.FS { return pkgFS{p} }

type pkgFS struct{ p *Package }

var (
	_ fs.FS          = pkgFS{}
	_ fs.StatFS      = pkgFS{}
	_ fs.ReadDirFS   = pkgFS{}
	_ io.ReaderAt    = (*pkgFile)(nil)
	_ io.Seeker      = (*pkgFile)(nil)
	_ fs.ReadDirFile = (*pkgDir)(nil)
)

func (f pkgFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if i, ok := f.p.index[name]; ok {
		e := &f.p.files[i]
		rc, err := f.p.Open(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		pf := &pkgFile{info: fileInfo{name: path.Base(name), size: e.Size}, rc: rc}
		sr, c, err := f.p.src.section(e)
		if err != nil {
			rc.Close()
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		pf.sr, pf.extra = sr, c
		return pf, nil
	}
	ents, ok := f.dirEntries(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &pkgDir{info: fileInfo{name: path.Base(name), dir: true}, ents: ents}, nil
}

func (f pkgFS) Stat(name string) (fs.FileInfo, error) {
	file, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return file.Stat()
}

func (f pkgFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	ents, ok := f.dirEntries(name)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return ents, nil
}

// dirEntries lists the directory name, implied by the file paths.
func (f pkgFS) dirEntries(name string) ([]fs.DirEntry, bool) {
	prefix := ""
	if name != "." {
		prefix = name + "/"
	}
	files := f.p.files
	i := sort.Search(len(files), func(i int) bool { return files[i].Path >= prefix })
	seen := map[string]bool{}
	var out []fs.DirEntry
	for ; i < len(files) && strings.HasPrefix(files[i].Path, prefix); i++ {
		rest := files[i].Path[len(prefix):]
		child, _, isDir := strings.Cut(rest, "/")
		if seen[child] {
			continue
		}
		seen[child] = true
		info := fileInfo{name: child, dir: isDir}
		if !isDir {
			info.size = files[i].Size
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	if len(out) == 0 && name != "." {
		return nil, false
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, true
}

type fileInfo struct {
	name string
	size int64
	dir  bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }

type pkgFile struct {
	info fileInfo
	rc   io.ReadCloser     // verifying sequential reader
	sr   *io.SectionReader // bundle: random access
	seek bool              // Seek used: reads come from sr
	pos  int64             // bytes read through rc
	// extra is the host file behind sr of a directory package.
	extra io.Closer
}

func (f *pkgFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *pkgFile) Read(b []byte) (int, error) {
	if f.seek {
		return f.sr.Read(b)
	}
	n, err := f.rc.Read(b)
	f.pos += int64(n)
	return n, err
}

// ReadAt reads the file's bytes directly (unverified random access; the
// whole file was verified when the package was loaded).
func (f *pkgFile) ReadAt(b []byte, off int64) (int, error) {
	if f.sr == nil {
		return 0, &fs.PathError{Op: "readat", Path: f.info.name, Err: fs.ErrInvalid}
	}
	return f.sr.ReadAt(b, off)
}

func (f *pkgFile) Seek(off int64, whence int) (int64, error) {
	if f.sr == nil {
		return 0, &fs.PathError{Op: "seek", Path: f.info.name, Err: fs.ErrInvalid}
	}
	if !f.seek {
		f.seek = true
		if _, err := f.sr.Seek(f.pos, io.SeekStart); err != nil {
			return 0, err
		}
	}
	return f.sr.Seek(off, whence)
}

func (f *pkgFile) Close() error {
	if f.extra != nil {
		f.extra.Close()
	}
	return f.rc.Close()
}

type pkgDir struct {
	info fileInfo
	ents []fs.DirEntry
	pos  int
}

func (d *pkgDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *pkgDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: fs.ErrInvalid}
}
func (d *pkgDir) Close() error { return nil }

func (d *pkgDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.pos:]
	if n <= 0 {
		d.pos = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.pos += n
	return rest[:n], nil
}
