//go:build linux

package preinit

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the file at path read-only, its pages populated up front:
// a cached snapshot is tens of MiB that a start reads once, and mapping the
// page cache costs a third of copying it into fresh heap memory. The file
// must not be truncated while mapped (cache entries are only ever renamed
// into place and unlinked). An empty file is read, not mapped.
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 || int64(int(fi.Size())) != fi.Size() {
		b, err := os.ReadFile(path)
		return b, func() {}, err
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_POPULATE)
	if err != nil {
		b, err := os.ReadFile(path)
		return b, func() {}, err
	}
	return b, func() { unix.Munmap(b) }, nil
}
