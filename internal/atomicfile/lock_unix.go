//go:build unix

package atomicfile

import (
	"os"
	"syscall"
)

// lock takes an exclusive flock on the temporary file for as long as it
// is open, so RemoveStale can tell a live writer from a dead one.
func lock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }

// abandoned reports whether no writer holds the lock of the file at p.
func abandoned(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
