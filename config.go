package wrun

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
// under wrun's cache directory, one compilation worker per CPU, and runs
// that stop when their context is done (WithCloseOnContextDone(true)).
func NewConfig() Config {
	return Config{workers: goruntime.NumCPU(), stopOnDone: true}
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

// WithHome keeps all of wrun's state under dir, as WRUN_HOME does for the
// command line: the registry's embedded store, config.toml and trusted keys
// in dir, and under dir/cache the blob cache, the extracted packages, the
// compiled code and the pre-initialization snapshots. The default is
// WRUN_HOME, else the XDG data and cache directories. WithCacheDir and
// WithInMemoryCache still decide where compiled code goes, and a non-empty
// registryclient.Options.Home given to WithRegistry where the registry's
// state goes.
func (c Config) WithHome(dir string) Config {
	c.home = home.At(dir)
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
// The zero value is registryclient's default (config.toml, else the
// embedded local store; only the command line reads WRUN_REGISTRY and the
// docker credentials, and passes them in here).
func (c Config) WithRegistry(o registryclient.Options) Config {
	c.registry = o
	return c
}

// WithCloseOnContextDone sets the default of RunConfig.WithCancellation for
// the Runtime's runs, and which of a Program's two compiled variants Compile
// builds up front (the other is compiled on the first run that asks for it;
// both share the compilation cache).
//
// On, the default: a run stops within milliseconds when its context is done
// or its Program or Runtime is closed, even while the guest computes
// without calling the host, and the Go garbage collector never waits on a
// guest. wazero does this by compiling a termination check into every
// function entry and loop header, which costs guest CPU (see the README for
// measured figures).
//
// Off: guest code runs at full speed but notices its context only when it
// returns, Close cannot stop it, and every stop-the-world pause of the
// process (each GC cycle) waits until the guest calls the host or returns.
// Use it only for trusted, bounded batch work, as the command line does
// unless --timeout is given.
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
