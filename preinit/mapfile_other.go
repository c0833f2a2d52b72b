//go:build !linux

package preinit

import "os"

// mapFile reads the file at path (systems without mmap).
func mapFile(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}
