package vfs

import (
	"fmt"
	"os"
	"path"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// Mount places a filesystem at a guest path.
type Mount struct {
	Guest string // absolute guest path, e.g. "/data"
	FS    sys.FS
}

// Host returns a layer serving the host directory dir, read-only when
// readOnly is set. It fails when dir is not an existing directory; the error
// names dir, since the user gave it.
func Host(dir string, readOnly bool) (sys.FS, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mount %q: host directory does not exist: create it or fix the path", dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("mount %q: not a directory", dir)
	}
	var fs sys.FS = sysfs.DirFS(dir)
	if readOnly {
		fs = &sysfs.ReadFS{FS: fs}
	}
	return fs, nil
}

// FSConfig returns the wazero filesystem configuration that mounts every
// layer at its guest path.
func FSConfig(mounts []Mount) (wazero.FSConfig, error) {
	cfg := wazero.NewFSConfig()
	for _, m := range mounts {
		if !path.IsAbs(m.Guest) || path.Clean(m.Guest) != m.Guest {
			return nil, fmt.Errorf("guest path %q must be absolute and clean, like /data", m.Guest)
		}
		cfg = cfg.(sysfs.FSConfig).WithSysFSMount(m.FS, m.Guest)
	}
	return cfg, nil
}
