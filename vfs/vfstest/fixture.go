package vfstest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/tetratelabs/wazero/experimental/sys"
)

// FixtureTime is the modification time of every fixture file.
var FixtureTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// Entry is one name of the fixture: a directory, a symbolic link to Link,
// or a regular file holding Data (mode 0o644, modified at FixtureTime).
type Entry struct {
	Path, Data, Link string
	Dir              bool
}

// Fixture returns the tree TestFS expects a layer to hold, parents before
// children: regular files, nested and empty directories and, unless
// NoSymlinks is among opts, symbolic links to a file, to a directory and
// to nothing.
func Fixture(opts ...Option) []Entry {
	c := newConfig(opts)
	all := []Entry{
		{Path: "dir", Dir: true},
		{Path: "dir/a.txt", Data: "aaa"},
		{Path: "dir/b.txt", Data: "bbbbbb"},
		{Path: "dir/sub", Dir: true},
		{Path: "dir/sub/c.txt", Data: "c"},
		{Path: "empty", Dir: true},
		{Path: "hello.txt", Data: "hello, world\n"},
		{Path: "link", Link: "hello.txt"},
		{Path: "dlink", Link: "dir"},
		{Path: "dangling", Link: "nope"},
	}
	var out []Entry
	for _, e := range all {
		if e.Link != "" && c.noSymlinks {
			continue
		}
		out = append(out, e)
	}
	return out
}

// WriteFixture writes entries into the existing host directory dir.
func WriteFixture(dir string, entries []Entry) error {
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		var err error
		switch {
		case e.Dir:
			err = os.Mkdir(p, 0o755)
		case e.Link != "":
			err = os.Symlink(e.Link, p)
		default:
			if err = os.WriteFile(p, []byte(e.Data), 0o644); err == nil {
				err = os.Chtimes(p, FixtureTime, FixtureTime)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// MapFS returns entries as an io/fs filesystem.
func MapFS(entries []Entry) fstest.MapFS {
	m := fstest.MapFS{}
	for _, e := range entries {
		switch {
		case e.Dir:
			m[e.Path] = &fstest.MapFile{Mode: fs.ModeDir | 0o755, ModTime: FixtureTime}
		case e.Link != "":
			m[e.Path] = &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(e.Link)}
		default:
			m[e.Path] = &fstest.MapFile{Data: []byte(e.Data), Mode: 0o644, ModTime: FixtureTime}
		}
	}
	return m
}

// Populate writes entries into the empty writable layer fsys through its
// own sys.FS methods.
func Populate(fsys sys.FS, entries []Entry) error {
	for _, e := range entries {
		var errno sys.Errno
		switch {
		case e.Dir:
			errno = fsys.Mkdir(e.Path, 0o755)
		case e.Link != "":
			errno = fsys.Symlink(e.Link, e.Path)
		default:
			var f sys.File
			if f, errno = fsys.OpenFile(e.Path, sys.O_WRONLY|sys.O_CREAT|sys.O_EXCL, 0o644); errno == 0 {
				_, errno = f.Write([]byte(e.Data))
				if cerr := f.Close(); errno == 0 {
					errno = cerr
				}
			}
			if errno == 0 {
				t := FixtureTime.UnixNano()
				errno = fsys.Utimens(e.Path, t, t)
			}
		}
		if errno != 0 {
			return fmt.Errorf("vfstest: writing fixture entry %q: %w", e.Path, errno)
		}
	}
	return nil
}
