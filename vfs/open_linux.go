//go:build linux

package vfs

import (
	"os"

	"github.com/tetratelabs/wazero/experimental/sys"
	"golang.org/x/sys/unix"
)

// beneathSource serves a file of an asset directory with one openat2 call
// that the kernel confines to the directory (RESOLVE_BENEATH) and that
// follows no symbolic link at all: the layer's own index already resolved
// them, so name is the real path of a regular file. It does in one system
// call what os.Root does in one per path component.
type beneathSource struct {
	dir  *os.File
	name string
}

func (s beneathSource) open() (reader, sys.Errno) {
	fd, err := unix.Openat2(int(s.dir.Fd()), s.name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if err == unix.EXDEV || err == unix.ELOOP {
			return nil, sys.EPERM // the tree changed under the layer
		}
		return nil, errnoOf(err)
	}
	return os.NewFile(uintptr(fd), s.name), 0
}

// fileSource returns the source of the regular file name under dir: with
// openat2 when the kernel has it (Linux 5.6), otherwise through root.
func fileSource(root *os.Root, dir *os.File, name string) source {
	if dir != nil {
		return beneathSource{dir: dir, name: name}
	}
	return rootSource{root: root, name: name}
}

// openBeneathDir opens dir for beneathSource, or returns nil when openat2 is
// not available.
func openBeneathDir(dir string) *os.File {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	fd, err := unix.Openat2(int(d.Fd()), ".", &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_DIRECTORY, Resolve: unix.RESOLVE_BENEATH})
	if err != nil {
		d.Close()
		return nil
	}
	unix.Close(fd)
	return d
}

// mapFile maps the first size bytes of r into memory when r is a regular
// *os.File at least that long, so a tar layer serves reads with a copy from
// memory shared by every instance, without a system call per read. It
// returns nil when r is something else or mapping fails; the layer then
// reads with ReadAt. The file must not be truncated while mapped (a content
// addressed blob never is).
func mapFile(r any, size int64) ([]byte, func() error) {
	f, ok := r.(*os.File)
	if !ok || size <= 0 || int64(int(size)) != size {
		return nil, nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < size {
		return nil, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil
	}
	return data, func() error { return unix.Munmap(data) }
}
