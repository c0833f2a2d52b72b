package registryclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/semver/v3"

	"github.com/wrun-dev/wrun/bundle"
)

// Resolved is a package and every package it runs with, all readable on
// disk and verified.
type Resolved struct {
	// Root is the package that was asked for.
	Root *Package
	// Runtime is the package named by Root's [run] runtime, or nil.
	Runtime *Package
	// Deps are every other package resolved transitively ([run] runtime
	// and [dependencies] of every package), one version per name, sorted
	// by name. Runtime is among them.
	Deps []*Package
	// Lock is the resolution as written to wrun.lock.
	Lock *Lock
}

// Package returns the resolved package of a name, or nil.
func (r *Resolved) Package(name string) *Package {
	if r.Root.Name() == name {
		return r.Root
	}
	for _, p := range r.Deps {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// Lock is wrun.lock: the resolved version and digests of every dependency.
type Lock struct {
	Version  int             `toml:"version"`
	Packages []LockedPackage `toml:"package"`
}

// LockedPackage is one [[package]] of wrun.lock.
type LockedPackage struct {
	Name     string `toml:"name"`
	Version  string `toml:"version"`
	Manifest string `toml:"manifest"` // OCI manifest digest
	Digest   string `toml:"digest"`   // content digest
}

func (l *Lock) find(name string) *LockedPackage {
	if l == nil {
		return nil
	}
	for i := range l.Packages {
		if l.Packages[i].Name == name {
			return &l.Packages[i]
		}
	}
	return nil
}

func readLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	if _, err := toml.Decode(string(b), &l); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it or pass --refresh to re-resolve)", path, err)
	}
	return &l, nil
}

func (l *Lock) encode() []byte {
	var b bytes.Buffer
	b.WriteString("# wrun.lock: resolved dependencies, written by wrun. Do not edit; run with --refresh to re-resolve.\n")
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	_ = enc.Encode(l)
	return b.Bytes()
}

// Pull resolves a reference and returns it with everything it depends on,
// verified and extracted in the cache:
//
//   - namespace:name@version: the newest version matching (an exact
//     version already cached is found without any network request);
//   - host/repo:tag or host/repo@sha256:…: any Wasm OCI artifact or wrun
//     package artifact;
//   - a directory with wrun.toml: its dependencies, locked in DIR/wrun.lock
//     (written when the resolution changes; Options.Refresh re-resolves).
//
// Dependencies resolve transitively, one version per name, the highest
// satisfying every range; a conflict is ErrConflict naming the requirers.
func (c *Client) Pull(ctx context.Context, ref string) (*Resolved, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return c.PullRef(ctx, r)
}

// PullRef is Pull of a parsed reference (see ParseRef).
func (c *Client) PullRef(ctx context.Context, r Ref) (*Resolved, error) {
	return c.pull(ctx, r.String(), func() (*Package, string, error) {
		return c.pullRoot(ctx, r)
	})
}

// PullBundle is Pull of a bundle already in memory (or anywhere an
// io.ReaderAt reads): size bytes of ra, as `wrun build` writes a .wrun
// file. name labels it in errors. The bundle is verified like a bundle
// file, its signature against the namespace's trusted keys, and its
// dependencies resolve as Pull's do. ra must stay readable, unchanged, until
// the Resolved is closed: the package's files are read from it.
func (c *Client) PullBundle(ctx context.Context, name string, ra io.ReaderAt, size int64) (*Resolved, error) {
	return c.pull(ctx, name, func() (*Package, string, error) {
		bp, err := bundle.OpenArchive(ra, size, name, bundle.Options{})
		if err != nil {
			return nil, "", err
		}
		return c.bundleRoot(bp)
	})
}

// pull takes the cache lock, gets the root package from root, and
// resolves its dependencies. A done ctx stops it before any work.
func (c *Client) pull(ctx context.Context, what string, root func() (*Package, string, error)) (*Resolved, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", what, err)
	}
	unlock, err := c.lockCache(false)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", what, err)
	}
	defer unlock()
	c.cleanup.Do(func() {
		c.cache.cleanup()
		c.cleanupExtractions()
		cleanupIngest(c.dirs.Store())
	})
	p, lockPath, err := root()
	if err != nil {
		return nil, err
	}
	if lockPath == "" {
		lockPath = filepath.Join(c.dirs.Cache, "locks", p.Descriptor.Digest.Encoded()+".toml")
	}
	res, err := c.resolve(ctx, p, lockPath)
	if err != nil {
		p.Close() // an open bundle file, else a no-op
		return nil, err
	}
	return res, nil
}

// pullRoot gets the package r names, and the path of its lock file when it
// is not the default.
func (c *Client) pullRoot(ctx context.Context, r Ref) (*Package, string, error) {
	switch r.Kind {
	case KindPath:
		fi, err := os.Stat(r.Path)
		if err != nil {
			return nil, "", err
		}
		if fi.IsDir() {
			bp, err := bundle.LoadDir(r.Path)
			if err != nil {
				return nil, "", err
			}
			return &Package{Package: bp}, filepath.Join(r.Path, LockName), nil
		}
		if strings.HasSuffix(r.Path, ".wasm") {
			return nil, "", fmt.Errorf("%s: a .wasm file has no dependencies to pull; run it directly", r.Path)
		}
		bp, err := bundle.OpenFile(r.Path)
		if err != nil {
			return nil, "", err
		}
		return c.bundleRoot(bp)
	case KindPackage:
		p, err := c.pullPackage(ctx, r.Package, r.Version, nil)
		return p, "", err
	case KindOCI:
		t, err := c.config.RegistryTarget(r.OCI.Registry, c.dirs.Store())
		if err != nil {
			return nil, "", err
		}
		tag := r.OCI.Reference
		p, err := c.fetchPackage(ctx, t, r.OCI.Repository, tag, nameFromRepo(r.OCI.Repository), tag, false)
		return p, "", err
	}
	return nil, "", fmt.Errorf("%w: %q: no reference kind (make a Ref with ParseRef)", ErrInvalidRef, r.String())
}

// bundleRoot verifies an opened bundle's signature: the namespace's trusted
// keys apply to it as to a pulled package. (A directory is the author's own
// source and carries none.) It closes bp on failure.
func (c *Client) bundleRoot(bp *bundle.Package) (*Package, string, error) {
	v, err := bundle.Verify(bp, bundle.TrustStore{Dir: c.dirs.Keys()})
	if err != nil {
		bp.Close()
		return nil, "", fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return &Package{Package: bp, Verification: v}, filepath.Join(c.dirs.Cache, "locks", "bundle-"+bp.Digest().Hex()+".toml"), nil
}

// nameFromRepo guesses a package name for an OCI repository: its last two
// segments when they are labels, else oci:LAST.
func nameFromRepo(repo string) Name {
	parts := strings.Split(repo, "/")
	if len(parts) >= 2 {
		if n, err := ParseName(parts[len(parts)-2] + ":" + parts[len(parts)-1]); err == nil {
			return n
		}
	}
	last := strings.ToLower(parts[len(parts)-1])
	var b strings.Builder
	for _, r := range last {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if n, err := ParseName("oci:" + s); err == nil {
		return n
	}
	return Name{Namespace: "oci", Name: "artifact"}
}

// pullPackage fetches one version of a package: locked (by manifest
// digest) or resolved from spec.
func (c *Client) pullPackage(ctx context.Context, n Name, spec VersionSpec, locked *LockedPackage) (*Package, error) {
	t, err := c.target(n)
	if err != nil {
		return nil, err
	}
	repo := t.Repository(n)
	if locked != nil {
		p, err := c.fetchPackage(ctx, t, repo, locked.Manifest, n, locked.Version, true)
		if err != nil {
			return nil, err
		}
		if p.Digest().String() != locked.Digest {
			return nil, fmt.Errorf("%w: %s@%s has content %s, wrun.lock says %s (run with --refresh if the change is expected)", ErrDigestMismatch, n, locked.Version, p.Digest(), locked.Digest)
		}
		return p, nil
	}
	v, err := c.resolveVersion(ctx, n, spec)
	if err != nil {
		return nil, err
	}
	// strict: a package under another name is refused and not cached.
	return c.fetchPackage(ctx, t, repo, VersionTag(v.Original()), n, v.Original(), true)
}

type requirement struct {
	from string // requirer: "namespace:name@version" or the directory
	spec VersionSpec
}

// requirements lists what a package asks for: [run] runtime and
// [dependencies].
func requirements(p *Package) (map[string]VersionSpec, error) {
	out := map[string]VersionSpec{}
	if rt := p.Manifest.Run.Runtime; rt != "" {
		name, rng, err := bundle.ParseRuntime(rt)
		if err != nil {
			return nil, fmt.Errorf("%s: [run] runtime: %w", describe(p), err)
		}
		spec, err := ParseVersionSpec(rng)
		if err != nil {
			return nil, fmt.Errorf("%s: [run] runtime: %w", describe(p), err)
		}
		out[name] = spec
	}
	for name, d := range p.Manifest.Dependencies {
		spec, err := ParseVersionSpec(d.Version)
		if err != nil {
			return nil, fmt.Errorf("%s: [dependencies] %s: %w", describe(p), name, err)
		}
		out[name] = spec
	}
	return out, nil
}

func describe(p *Package) string {
	if dir, ok := p.Dir(); ok && p.Ref == "" {
		return dir
	}
	return p.Label()
}

// resolve selects one version per package name, transitively, the highest
// satisfying every range, starting from the lock when it still fits.
func (c *Client) resolve(ctx context.Context, root *Package, lockPath string) (*Resolved, error) {
	var lock *Lock
	if !c.opts.Refresh {
		var err error
		if lock, err = readLock(lockPath); err != nil {
			return nil, err
		}
	}
	selected := map[string]*Package{}
	for iter := 0; ; iter++ {
		if iter > 100 {
			return nil, fmt.Errorf("%w: resolving %s does not settle (dependency versions keep changing each other)", ErrConflict, describe(root))
		}
		reqs := map[string][]requirement{}
		for _, p := range append([]*Package{root}, mapValues(selected)...) {
			rs, err := requirements(p)
			if err != nil {
				return nil, err
			}
			for name, spec := range rs {
				if name != root.Name() {
					reqs[name] = append(reqs[name], requirement{from: describe(p), spec: spec})
				}
			}
		}
		changed := false
		for name := range selected {
			if _, ok := reqs[name]; !ok {
				delete(selected, name)
				changed = true
			}
		}
		names := make([]string, 0, len(reqs))
		for name := range reqs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			rs := reqs[name]
			cur := selected[name]
			p, err := c.choose(ctx, name, rs, lock, cur)
			if err != nil {
				return nil, err
			}
			if p != cur {
				selected[name] = p
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	res := &Resolved{Root: root, Lock: &Lock{Version: 1}}
	res.Deps = append(res.Deps, mapValues(selected)...)
	sort.Slice(res.Deps, func(i, j int) bool { return res.Deps[i].Name() < res.Deps[j].Name() })
	for _, p := range res.Deps {
		res.Lock.Packages = append(res.Lock.Packages, LockedPackage{Name: p.Name(), Version: p.Version(), Manifest: p.Descriptor.Digest.String(), Digest: p.Digest().String()})
	}
	if rt := root.Manifest.Run.Runtime; rt != "" {
		name, _, _ := bundle.ParseRuntime(rt)
		res.Runtime = res.Package(name)
	}
	if len(res.Deps) > 0 || lock != nil {
		newLock := res.Lock.encode()
		if old, err := os.ReadFile(lockPath); err != nil || !bytes.Equal(old, newLock) {
			if err := writeFileAtomic(lockPath, newLock); err != nil {
				return nil, fmt.Errorf("writing %s: %w", lockPath, err)
			}
		}
	}
	return res, nil
}

// choose picks the package version for name: the current selection or the
// locked version when they satisfy every requirement, else the highest
// version that does.
func (c *Client) choose(ctx context.Context, name string, rs []requirement, lock *Lock, cur *Package) (*Package, error) {
	ok := func(v *semver.Version) bool {
		for _, r := range rs {
			if !r.spec.Check(v) {
				return false
			}
		}
		return true
	}
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		if v, err := semver.StrictNewVersion(cur.Version()); err == nil && ok(v) {
			return cur, nil
		}
	}
	if l := lock.find(name); l != nil {
		if v, err := semver.StrictNewVersion(l.Version); err == nil && ok(v) {
			return c.pullPackage(ctx, n, ExactVersion(v), l)
		}
	}
	// All exact and equal: no listing needed.
	if v, exact := rs[0].spec.Exact(); exact && ok(v) {
		return c.pullPackage(ctx, n, ExactVersion(v), nil)
	}
	vs, err := c.versions(ctx, n)
	if err != nil {
		return nil, err
	}
	for i := len(vs) - 1; i >= 0; i-- {
		if ok(vs[i]) {
			return c.pullPackage(ctx, n, ExactVersion(vs[i]), nil)
		}
	}
	t, _ := c.target(n)
	if len(rs) == 1 {
		return nil, notFound(n, rs[0].spec.String()+" (required by "+rs[0].from+")", t, vs, c.opts.Offline)
	}
	var parts []string
	for _, r := range rs {
		s := r.spec.String()
		if s == "" {
			s = "any version"
		}
		parts = append(parts, fmt.Sprintf("%s requires %s", r.from, s))
	}
	return nil, fmt.Errorf("%w: no version of %s satisfies every requirement: %s (versions at %s: %s)", ErrConflict, name, strings.Join(parts, "; "), where(t), VersionSummary(vs, nil, name))
}

func mapValues(m map[string]*Package) []*Package {
	out := make([]*Package, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	return out
}
