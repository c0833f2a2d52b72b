package runtime

import (
	goruntime "runtime"
	"time"

	"github.com/wrun-dev/wrun/internal/home"
	"github.com/wrun-dev/wrun/registryclient"
)

// Config configures a Runtime. It is immutable: every With method returns a
// copy. The zero value is not valid; start from NewConfig.
type Config struct {
	cacheDir   string // "" with inMemory: cache in memory only
	inMemory   bool
	workers    int
	stopOnDone bool
	home       home.Dirs
	// Limits of the pre-initialization Load runs (WithPreinitLimits).
	preinitTimeout  time.Duration
	preinitMaxPages uint32
	registry        registryclient.Options
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

// WithCloseOnContextDone makes a run stop when its context is done
// (deadline or cancellation) even while the guest computes without calling
// the host. wazero does this by compiling a check into every function entry
// and loop header, which costs guest CPU (CPython starts about 3x slower), so
// it is off by default, as in wazero: without it a run notices its context
// only when it ends. The command line turns it on for --timeout.
func (c Config) WithCloseOnContextDone(on bool) Config {
	c.stopOnDone = on
	return c
}

// WithPreinitLimits bounds the pre-initialization that Load runs for a
// package that declares [preinit] but ships no snapshot, as a run is bounded
// by its context and RunConfig.WithMemoryLimitPages: the init is stopped
// after timeout, even while it computes (Load then fails with an error
// wrapping context.DeadlineExceeded), and its linear memory is capped at
// maxPages pages of 64 KiB (Load fails with an error wrapping
// preinit.ErrMemoryLimit when the init needs more). 0 means no limit for
// either; Load's context bounds the init in any case. The defaults are 0.
// The command line passes --timeout and --max-memory here too.
func (c Config) WithPreinitLimits(timeout time.Duration, maxPages uint32) Config {
	c.preinitTimeout, c.preinitMaxPages = max(timeout, 0), maxPages
	return c
}
