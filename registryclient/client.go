package registryclient

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/wrun-dev/wrun/internal/home"
)

// Options configure a Client. The zero value is the default: state under
// wrun's home directory (WRUN_HOME, else the XDG data and cache
// directories), config.toml from there, the registry config.toml names,
// online, no credentials but config.toml's, no progress reports.
//
// A Client reads no other ambient configuration: the command line reads
// WRUN_REGISTRY and the docker credentials and passes them in (Registry,
// Credentials), as go-containerregistry and oras-go leave that to their
// callers.
type Options struct {
	// Home is the directory that holds all of wrun's state, as WRUN_HOME
	// does: the embedded store, config.toml, keys, and under cache/ the
	// blobs and extracted packages. Zero: WRUN_HOME, else the XDG
	// directories.
	Home string
	// ConfigPath is config.toml (--config). Zero: config.toml in Home.
	ConfigPath string
	// Registry overrides the registry of every package for this client
	// (--registry, WRUN_REGISTRY on the command line): a name from
	// config.toml, a host[:port], "local" (the embedded store) or a path to
	// an OCI layout. Zero: config.toml.
	Registry string
	// Offline refuses every network request; only cached packages resolve.
	Offline bool
	// Refresh ignores wrun.lock and cached resolutions and re-resolves.
	Refresh bool
	// Progress follows every transfer (the command line draws bars on a
	// terminal with it). Nil: no reports.
	Progress Progress
	// Credentials are used for registries config.toml gives no auth for,
	// e.g. DockerCredentials(). Nil: none (anonymous access).
	Credentials credentials.Store
	// HTTPClient is the base client for remote registries. Zero: a client
	// over http.DefaultTransport.
	HTTPClient *http.Client
	// SignKey signs releases on Publish. Nil: unsigned.
	SignKey ed25519.PrivateKey
	// Timeouts bound network exchanges with registries. Zero fields:
	// config.toml [network], then DefaultConnectTimeout (10s),
	// DefaultResponseTimeout (30s) and DefaultStallTimeout (30s).
	Timeouts Timeouts
}

// Client publishes, pulls and lists packages and manages the cache. It is
// safe for concurrent use, and several processes may share one cache.
type Client struct {
	opts   Options
	dirs   home.Dirs
	config *Config
	cache  *cache
	http   *http.Client
	creds  credentials.Store

	cleanup *sync.Once // shared by the Clients derived from one
	mu      sync.Mutex
	stores  map[string]Store
	tags    map[string][]string // per target key + repo, for one client
}

// New returns a Client. It reads config.toml and fails on a malformed one;
// it touches no network.
func New(opts Options) (*Client, error) {
	dirs, err := locateHome(opts.Home)
	if err != nil {
		return nil, err
	}
	cfgPath := opts.ConfigPath
	if cfgPath == "" {
		cfgPath = dirs.Config()
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	cfgTimeouts, _ := cfg.Network.timeouts() // checked by LoadConfig
	timeouts := opts.Timeouts.or(cfgTimeouts).or(defaultTimeouts)
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	rt := base.Transport
	if rt == nil {
		rt = newBaseTransport(timeouts.Connect)
	}
	hc := *base
	hc.Transport = &transport{base: rt, offline: opts.Offline, timeouts: timeouts}
	c := &Client{
		opts:    opts,
		dirs:    dirs,
		config:  cfg,
		cache:   newCache(dirs.Blobs(), filepath.Join(dirs.Cache, "refs")),
		http:    &hc,
		stores:  map[string]Store{},
		tags:    map[string][]string{},
		cleanup: new(sync.Once),
	}
	if !opts.Offline {
		c.creds = opts.Credentials
	}
	return c, nil
}

// locateHome is the state directory dir, or the environment's when dir is "".
func locateHome(dir string) (home.Dirs, error) {
	if dir != "" {
		return home.At(dir), nil
	}
	return home.Locate()
}

// lockCache takes the cache-wide lock: shared by every Pull and Publish
// while it runs, exclusive for CachePrune, so a prune waits for the work in
// progress and work that starts meanwhile waits for the prune.
func (c *Client) lockCache(exclusive bool) (unlock func(), err error) {
	if err := os.MkdirAll(c.dirs.Cache, 0o755); err != nil {
		return nil, err
	}
	return lockFile(filepath.Join(c.dirs.Cache, ".wrun-cache-lock"), exclusive)
}

// Config returns the parsed config.toml.
func (c *Client) Config() *Config { return c.config }

// packagesDir holds extracted packages, one directory per manifest digest.
func (c *Client) packagesDir() string { return filepath.Join(c.dirs.Cache, "packages") }

// targetKey names a target in the cache's ref index.
func targetKey(t Target) string {
	if t.Host != "" {
		return strings.ReplaceAll(t.Host, ":", "_")
	}
	sum := sha256.Sum256([]byte(t.Layout))
	return "layout-" + hex.EncodeToString(sum[:8])
}

func (c *Client) store(t Target, repo string) (Store, error) {
	key := targetKey(t) + "/" + repo
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stores[key]; ok {
		return s, nil
	}
	s, err := openStore(t, repo, c.http, c.creds)
	if err != nil {
		return nil, err
	}
	c.stores[key] = s
	return s, nil
}

func (c *Client) target(n Name) (Target, error) {
	return c.config.Resolve(n, c.opts.Registry, c.dirs.Store())
}

// where names a target for messages.
func where(t Target) string {
	if t.Host != "" {
		return t.Host
	}
	return "local store " + t.Layout
}

// versions lists the semver tags of a package, newest last. Offline, it
// lists the versions in the cache.
func (c *Client) versions(ctx context.Context, n Name) ([]*semver.Version, error) {
	t, err := c.target(n)
	if err != nil {
		return nil, err
	}
	repo := t.Repository(n)
	key := targetKey(t) + "/" + repo
	c.mu.Lock()
	tags, ok := c.tags[key]
	c.mu.Unlock()
	if !ok {
		if c.opts.Offline && t.Host != "" {
			tags = c.cache.cachedTags(targetKey(t), repo)
		} else {
			s, err := c.store(t, repo)
			if err != nil {
				return nil, err
			}
			g := newPageGuard("the tag list of " + repo + " at " + where(t))
			err = s.Tags(ctx, "", func(ts []string) error {
				if err := g.page(ts); err != nil {
					return err
				}
				tags = append(tags, ts...)
				return nil
			})
			if isNotFound(err) {
				err = nil // no such repository: no versions
			}
			if err != nil {
				return nil, fmt.Errorf("listing versions of %s: %w", n, netError(err))
			}
		}
		c.mu.Lock()
		c.tags[key] = tags
		c.mu.Unlock()
	}
	var vs []*semver.Version
	for _, tag := range tags {
		if v, err := semver.StrictNewVersion(TagVersion(tag)); err == nil {
			vs = append(vs, v)
		}
	}
	sort.Sort(semver.Collection(vs))
	return vs, nil
}

func isNotFound(err error) bool {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound {
		return true
	}
	return errors.Is(err, errdef.ErrNotFound) || errors.Is(err, ErrNotFound)
}

// notFound is the error for a missing package version, listing what exists.
func notFound(n Name, spec string, t Target, vs []*semver.Version, offline bool) error {
	at := where(t)
	if offline && t.Host != "" {
		at = "in the cache of " + at + " (offline)"
	} else {
		at = "at " + at
	}
	if len(vs) == 0 {
		return fmt.Errorf("%w: package %s has no versions %s (publish it, or check the name and registry)", ErrNotFound, n, at)
	}
	near, _ := semver.StrictNewVersion(spec)
	if spec == "" {
		spec = "any release"
	}
	return fmt.Errorf("%w: package %s has no version matching %s %s; versions: %s", ErrNotFound, n, spec, at, VersionSummary(vs, near, n.String()))
}

// summaryMax is how many versions a message lists.
const summaryMax = 8

// VersionSummary lists versions (ascending) for a message: all of them
// when they are few, else the summaryMax nearest to near (the newest when
// near is nil) and how many there are, so that a package with 300,000
// versions still makes a one-line error.
func VersionSummary(vs []*semver.Version, near *semver.Version, name string) string {
	list := func(vs []*semver.Version) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.Original()
		}
		return strings.Join(out, ", ")
	}
	if len(vs) <= summaryMax {
		return list(vs)
	}
	i := len(vs)
	if near != nil {
		i = sort.Search(len(vs), func(i int) bool { return !vs[i].LessThan(near) })
	}
	lo := min(max(i-summaryMax/2, 0), len(vs)-summaryMax)
	hi := lo + summaryMax
	var b strings.Builder
	if lo > 0 {
		b.WriteString("…, ")
	}
	b.WriteString(list(vs[lo:hi]))
	if hi < len(vs) {
		b.WriteString(", …")
	}
	which := "newest"
	if near != nil {
		which = "nearest"
	}
	fmt.Fprintf(&b, " (%d versions, the %d %s shown; `wrun ls --json %s` lists all)", len(vs), summaryMax, which, name)
	return b.String()
}

// resolveVersion picks the newest version satisfying spec. An exact version
// is taken as is, without listing (the pull then finds out if it exists).
func (c *Client) resolveVersion(ctx context.Context, n Name, spec VersionSpec) (*semver.Version, error) {
	if v, ok := spec.Exact(); ok {
		return v, nil
	}
	vs, err := c.versions(ctx, n)
	if err != nil {
		return nil, err
	}
	for i := len(vs) - 1; i >= 0; i-- {
		if spec.Check(vs[i]) {
			return vs[i], nil
		}
	}
	t, _ := c.target(n)
	return nil, notFound(n, spec.String(), t, vs, c.opts.Offline)
}

// resolveTag finds the manifest descriptor of repo:tag: from the cache's
// ref index when known (no network), else from the store.
func (c *Client) resolveTag(ctx context.Context, t Target, repo, tag string) (ocispec.Descriptor, error) {
	key := targetKey(t)
	if !c.opts.Refresh {
		if d, ok := c.cache.lookupRef(key, repo, tag); ok {
			if ok, _ := c.cache.Exists(ctx, d); ok {
				return d, nil
			}
		}
	}
	if strings.HasPrefix(tag, "sha256:") {
		if d, ok := c.cachedManifest(tag); ok {
			return d, nil
		}
	}
	s, err := c.store(t, repo)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := s.Resolve(ctx, tag)
	if v := TagVersion(tag); err != nil && t.Layout != "" && v != tag && isNotFound(err) {
		// A local store written before versions were tagged with '_'.
		if d2, err2 := s.Resolve(ctx, v); err2 == nil {
			return d2, nil
		}
	}
	return d, err
}

// rememberTag records repo:tag → manifest once the manifest and its blobs
// are cached, so the next pull of an exact version needs no network.
func (c *Client) rememberTag(t Target, repo, tag string, d ocispec.Descriptor) error {
	if strings.HasPrefix(tag, "sha256:") {
		return nil
	}
	if old, ok := c.cache.lookupRef(targetKey(t), repo, tag); ok && old.Digest == d.Digest {
		return nil
	}
	return c.cache.storeRef(targetKey(t), repo, tag, d)
}

// cachedManifest returns the descriptor of a cached manifest by digest.
func (c *Client) cachedManifest(dgst string) (ocispec.Descriptor, bool) {
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(dgst)}
	if err := d.Digest.Validate(); err != nil {
		return d, false
	}
	fi, err := os.Stat(c.cache.path(d.Digest))
	if err != nil {
		return d, false
	}
	d.Size = fi.Size()
	return d, true
}

// Reference returns where a package version lives: its OCI reference
// (host/prefix+namespace/name:version), or LAYOUT:namespace/name:version
// for a local store. For messages such as "published … to …".
func (c *Client) Reference(name, version string) (string, error) {
	n, err := ParseName(name)
	if err != nil {
		return "", err
	}
	t, err := c.target(n)
	if err != nil {
		return "", err
	}
	if t.Host == "" {
		return t.Layout + ":" + t.Repository(n) + ":" + VersionTag(version), nil
	}
	return t.Reference(n, version), nil
}

// Offline returns a Client like c, sharing its configuration, cache and
// credentials, that makes no network request (Options.Offline), for one
// call's worth of work; c is unchanged.
func (c *Client) Offline() *Client {
	o := c.opts
	o.Offline = true
	return c.derive(o)
}

// Refresh returns a Client like c that ignores wrun.lock and cached
// resolutions (Options.Refresh); c is unchanged.
func (c *Client) Refresh() *Client {
	o := c.opts
	o.Refresh = true
	return c.derive(o)
}

// derive is a Client with options o over c's configuration, cache and
// HTTP client.
func (c *Client) derive(o Options) *Client {
	d := &Client{
		opts:    o,
		dirs:    c.dirs,
		config:  c.config,
		cache:   c.cache,
		http:    c.http,
		creds:   c.creds,
		cleanup: c.cleanup,
		stores:  map[string]Store{},
		tags:    map[string][]string{},
	}
	if o.Offline && !c.opts.Offline {
		hc := *c.http
		tr := *hc.Transport.(*transport)
		tr.offline = true
		hc.Transport = &tr
		d.http, d.creds = &hc, nil
	}
	return d
}
