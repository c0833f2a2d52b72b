package runtime

import (
	goruntime "runtime"

	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/registryclient"
)

// Config configures a Runtime. It is immutable: every With method returns a
// copy. The zero value is not valid; start from NewConfig.
type Config struct {
	cacheDir string // "" with inMemory: cache in memory only
	inMemory bool
	workers  int
	home     home.Dirs
	registry registryclient.Options
}

// NewConfig returns the default configuration: an on-disk compilation cache
// under wrun's cache directory, and one compilation worker per CPU.
func NewConfig() Config {
	return Config{workers: goruntime.NumCPU()}
}

// WithCacheDir keeps compiled code in dir, shared by every Runtime and
// process using the same dir.
func (c Config) WithCacheDir(dir string) Config {
	c.cacheDir, c.inMemory = dir, false
	return c
}

// WithInMemoryCache keeps compiled code in memory only, for the Runtime's
// lifetime: nothing is read from or written to disk.
func (c Config) WithInMemoryCache() Config {
	c.cacheDir, c.inMemory = "", true
	return c
}

// WithCompilationWorkers sets how many goroutines compile one module's
// functions in parallel on a cold start. Values below 1 mean 1.
func (c Config) WithCompilationWorkers(n int) Config {
	c.workers = max(n, 1)
	return c
}

// WithRegistry configures how Load resolves and fetches packages: the
// registry override, offline mode, progress output, signing key and so on.
// The zero value is registryclient's default (config.toml, WRUN_REGISTRY,
// the embedded local store).
func (c Config) WithRegistry(o registryclient.Options) Config {
	c.registry = o
	return c
}
