// Package home locates wrun's state on disk.
//
// WRUN_HOME, when set, holds everything. Otherwise the data (the embedded
// default registry, trusted keys, configuration) lives under the user's data
// directory ($XDG_DATA_HOME/wrun, default ~/.local/share/wrun) and the caches
// under the user's cache directory ($XDG_CACHE_HOME/wrun, default
// ~/.cache/wrun).
package home

import (
	"errors"
	"os"
	"path/filepath"
)

// Dirs are the directories wrun keeps its state in. None is created by Locate.
type Dirs struct {
	Data  string // embedded registry, keys, config.toml
	Cache string // content-addressed blobs, compiled code, snapshots
}

// At is the layout of one directory that holds everything, as WRUN_HOME
// does: the data in dir, the caches in dir/cache. A relative dir is made
// absolute now (when the working directory is known), so a later change of
// working directory does not move it.
func At(dir string) Dirs {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return Dirs{Data: dir, Cache: filepath.Join(dir, "cache")}
}

// Locate resolves Dirs from the environment.
func Locate() (Dirs, error) {
	if h := os.Getenv("WRUN_HOME"); h != "" {
		return At(h), nil
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return Dirs{}, errors.New("cannot locate wrun's data directory: set WRUN_HOME or HOME")
		}
		data = filepath.Join(h, ".local", "share")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return Dirs{}, errors.New("cannot locate wrun's cache directory: set WRUN_HOME or XDG_CACHE_HOME")
	}
	return Dirs{Data: filepath.Join(data, "wrun"), Cache: filepath.Join(cache, "wrun")}, nil
}

// Store is the OCI image-layout directory of the embedded default registry.
func (d Dirs) Store() string { return filepath.Join(d.Data, "store") }

// Config is the path of config.toml.
func (d Dirs) Config() string { return filepath.Join(d.Data, "config.toml") }

// Keys is the directory of trusted signing keys, one subdirectory a namespace.
func (d Dirs) Keys() string { return filepath.Join(d.Data, "keys") }

// Blobs is the content-addressed blob cache.
func (d Dirs) Blobs() string { return filepath.Join(d.Cache, "blobs") }

// Compiled is wazero's compilation cache.
func (d Dirs) Compiled() string { return filepath.Join(d.Cache, "compiled") }

// Snapshots holds pre-initialized modules, keyed by their inputs' digests.
func (d Dirs) Snapshots() string { return filepath.Join(d.Cache, "preinit") }

// Pycache is where Python apps run from a directory keep their bytecode.
func (d Dirs) Pycache() string { return filepath.Join(d.Cache, "pycache") }
