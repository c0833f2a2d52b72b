// Package atomicfile writes files so that a reader sees the old content or
// the new, never a part: through a temporary file beside the target, synced,
// then renamed over it.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write writes name with perm through write. On any error the temporary
// file is removed and name is untouched.
func Write(name string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
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
	if err = tmp.Close(); err != nil {
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
