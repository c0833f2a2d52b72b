//go:build !unix

package atomicfile

import (
	"os"
	"time"
)

func lock(*os.File) {}

// abandoned, without flock, trusts age alone: a day.
func abandoned(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && time.Since(fi.ModTime()) > 24*time.Hour
}
