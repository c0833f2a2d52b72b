// Package atomicfile writes files so that a reader sees the old content or
// the new, never a part: through a temporary file beside the target, synced,
// then renamed over it.
//
// A writer killed mid-write (kill -9, a crash, a power cut) leaves its
// temporary file behind, possibly as large as the target. The temporary
// file is locked (flock) while it is written, so the next Write of the same
// target removes every temporary file of that target that is unlocked —
// its writer is gone — and older than StaleAfter.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StaleAfter is how old an unlocked temporary file of a target must be
// before a later Write of that target removes it. It guards the moment
// between a writer creating its temporary file and locking it.
const StaleAfter = time.Minute

// Write writes name with perm through write. On any error the temporary
// file is removed and name is untouched. Before it writes, it removes the
// stale temporary files of earlier writes of name that did not finish.
func Write(name string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	RemoveStale(name)
	tmp, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return err
	}
	lock(tmp)
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil { // unlocks; its fresh mtime guards it until renamed
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// WriteBytes writes b to name with perm, as Write does.
func WriteBytes(name string, perm os.FileMode, b []byte) error {
	return Write(name, perm, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func tempPrefix(base string) string { return "." + base + ".tmp-" }

// RemoveStale removes the temporary files an interrupted Write of name
// left: those of name (".NAME.tmp-*" beside it), older than StaleAfter, and
// not locked by a writer that is still running. It reports how many it
// removed; errors are ignored (the next Write tries again).
func RemoveStale(name string) int {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	prefix := tempPrefix(base)
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < StaleAfter {
			continue
		}
		if abandoned(p) && os.Remove(p) == nil {
			n++
		}
	}
	return n
}
