package registryclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/atomicfile"
)

// Listing is one package and its versions in a registry.
type Listing struct {
	Name     string   `json:"name"`     // namespace:name
	Registry string   `json:"registry"` // host, or the local store's path
	Versions []string `json:"versions"` // semver tags, ascending
}

// List lists packages and their versions. prefix is "" (every package in
// the default registry, or Options.Registry), a namespace (the registry it
// maps to) or namespace:name. Offline, it lists what the cache knows.
// Remote registries are enumerated through the catalog API
// (/v2/_catalog), which some hosted registries disable; naming the package
// always works.
func (c *Client) List(ctx context.Context, prefix string) ([]Listing, error) {
	if strings.Contains(prefix, ":") {
		n, err := ParseName(prefix)
		if err != nil {
			return nil, err
		}
		t, err := c.target(n)
		if err != nil {
			return nil, err
		}
		vs, err := c.versions(ctx, n)
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return nil, fmt.Errorf("%w: package %s has no versions at %s", ErrNotFound, n, where(t))
		}
		return []Listing{{Name: n.String(), Registry: where(t), Versions: versionStrings(vs)}}, nil
	}
	var t Target
	var err error
	if prefix != "" {
		if bundle.ValidateLabel(prefix) != nil {
			return nil, fmt.Errorf("%w: %q is neither a namespace nor namespace:name", ErrInvalidRef, prefix)
		}
		t, err = c.config.Resolve(Name{Namespace: prefix, Name: "x"}, c.opts.Registry, c.dirs.Store())
	} else {
		t, err = c.config.RegistryTarget(c.opts.Registry, c.dirs.Store())
	}
	if err != nil {
		return nil, err
	}
	repos, err := c.repositories(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", where(t), netError(err))
	}
	var out []Listing
	for _, repo := range repos {
		rest, ok := strings.CutPrefix(repo, t.Prefix)
		if !ok {
			continue
		}
		ns, name, ok := strings.Cut(rest, "/")
		if !ok || strings.Contains(name, "/") || (prefix != "" && ns != prefix) {
			continue
		}
		n, err := ParseName(ns + ":" + name)
		if err != nil {
			continue
		}
		vs, err := c.versions(ctx, n)
		if err != nil {
			return nil, err
		}
		if len(vs) > 0 {
			out = append(out, Listing{Name: n.String(), Registry: where(t), Versions: versionStrings(vs)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func versionStrings(vs []*semver.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Original()
	}
	return out
}

// repositories lists a target's repositories.
func (c *Client) repositories(ctx context.Context, t Target) ([]string, error) {
	if t.Layout != "" {
		l, err := openLayout(t.Layout, "")
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		err = l.Tags(ctx, "", func(tags []string) error {
			for _, tag := range tags {
				if repo, _, ok := strings.Cut(tag, ":"); ok {
					set[repo] = true
				}
			}
			return nil
		})
		var out []string
		for r := range set {
			out = append(out, r)
		}
		sort.Strings(out)
		return out, err
	}
	if c.opts.Offline {
		var out []string
		root := filepath.Join(c.cache.refs, targetKey(t))
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
				rel, _ := filepath.Rel(root, filepath.Dir(p))
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		sort.Strings(out)
		return compact(out), nil
	}
	reg, err := remote.NewRegistry(t.Host)
	if err != nil {
		return nil, err
	}
	reg.PlainHTTP = t.PlainHTTP
	reg.Client = authClient(t, c.http, c.creds)
	var out []string
	g := newPageGuard("the repository list (_catalog) of " + t.Host)
	err = reg.Repositories(ctx, "", func(repos []string) error {
		if err := g.page(repos); err != nil {
			return err
		}
		out = append(out, repos...)
		return nil
	})
	return out, err
}

func compact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// CacheEntry is one extracted package in the cache.
type CacheEntry struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Ref      string `json:"ref"`      // where it was pulled from
	Manifest string `json:"manifest"` // OCI manifest digest
	Size     int64  `json:"size"`     // bytes of its files
	Dir      string `json:"dir"`
}

// CacheInfo is what CacheList reports.
type CacheInfo struct {
	Packages  []CacheEntry `json:"packages"`
	Blobs     int          `json:"blobs"`
	BlobBytes int64        `json:"blobBytes"`        // each shared blob counted once
	Partial   int          `json:"partial"`          // temp files of pulls in progress or killed
	Caches    []CacheDir   `json:"caches,omitempty"` // every cache under the cache directory that holds files, with its size
}

// CacheDir is one cache under the cache directory and what it holds.
type CacheDir struct {
	Name  string `json:"name"`  // blobs, packages, resolutions, tmp, compiled, preinit, or other
	Dir   string `json:"dir"`   // its directory (for "other", the unknown one)
	Files int    `json:"files"` // regular files
	Bytes int64  `json:"bytes"` // their sizes
}

// knownCache is one of wrun's caches under the cache directory.
type knownCache struct {
	name string
	dirs []string // the directories it keeps its files in
	// live: runs write it without the cache lock, so CachePrune empties
	// it file by file and keeps its directories (see CachePrune).
	live bool
}

// cacheDirs are wrun's caches under the cache directory. CacheList
// reports any other directory there as "other" (with its size), and
// CachePrune leaves it.
func (c *Client) cacheDirs() []knownCache {
	return []knownCache{
		{name: "blobs", dirs: []string{c.dirs.Blobs()}},
		{name: "packages", dirs: []string{c.packagesDir()}},
		{name: "resolutions", dirs: []string{c.cache.refs, filepath.Join(c.dirs.Cache, "locks")}},
		{name: "tmp", dirs: []string{filepath.Join(c.dirs.Cache, "tmp")}},
		{name: "compiled", dirs: []string{c.dirs.Compiled()}, live: true},
		{name: "preinit", dirs: []string{c.dirs.Snapshots()}, live: true},
		{name: "pycache", dirs: []string{c.dirs.Pycache()}, live: true},
	}
}

// dirUsage counts the regular files under dir and their sizes.
func dirUsage(dir string) (files int, bytes int64) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				files++
				bytes += fi.Size()
			}
		}
		return nil
	})
	return files, bytes
}

// cacheUsage lists every cache that holds files, with its size: the known
// ones in their order, then each other directory under the cache
// directory as "other".
func (c *Client) cacheUsage() []CacheDir {
	var out []CacheDir
	known := map[string]bool{}
	for _, k := range c.cacheDirs() {
		cd := CacheDir{Name: k.name, Dir: k.dirs[0]}
		for _, d := range k.dirs {
			known[filepath.Base(d)] = true
			n, b := dirUsage(d)
			cd.Files += n
			cd.Bytes += b
		}
		if cd.Files > 0 {
			out = append(out, cd)
		}
	}
	ents, _ := os.ReadDir(c.dirs.Cache)
	for _, e := range ents {
		if !e.IsDir() || known[e.Name()] {
			continue
		}
		d := filepath.Join(c.dirs.Cache, e.Name())
		if n, b := dirUsage(d); n > 0 {
			out = append(out, CacheDir{Name: "other", Dir: d, Files: n, Bytes: b})
		}
	}
	return out
}

// CacheList lists the cached packages, the blob store's size and every
// cache's size (Caches). It touches no network and hashes nothing.
func (c *Client) CacheList(ctx context.Context) (*CacheInfo, error) {
	info := &CacheInfo{Partial: len(c.cache.partials()), Caches: c.cacheUsage()}
	ents, err := os.ReadDir(c.packagesDir())
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		entry := filepath.Join(c.packagesDir(), e.Name())
		dir := filepath.Join(entry, pkgSubdir)
		ce := CacheEntry{Manifest: "sha256:" + e.Name(), Dir: dir}
		b, err := os.ReadFile(filepath.Join(entry, pullRecordName))
		if err != nil {
			continue // not an extracted package (an older layout is extracted again when pulled)
		}
		var rec pullRecord
		if json.Unmarshal(b, &rec) == nil {
			ce.Ref = rec.Ref
		}
		if b, err := os.ReadFile(filepath.Join(dir, bundle.ManifestName)); err == nil {
			if m, err := bundle.ParseManifest(bundle.ManifestName, b); err == nil {
				ce.Name, ce.Version = m.Package.Name, m.Package.Version
			}
		}
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					ce.Size += fi.Size()
				}
			}
			return nil
		})
		info.Packages = append(info.Packages, ce)
	}
	sort.Slice(info.Packages, func(i, j int) bool {
		a, b := info.Packages[i], info.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	blobs, _ := os.ReadDir(filepath.Join(c.dirs.Blobs(), "sha256"))
	for _, b := range blobs {
		if fi, err := b.Info(); err == nil && fi.Mode().IsRegular() {
			info.Blobs++
			info.BlobBytes += fi.Size()
		}
	}
	return info, nil
}

// CachePrune empties the caches: blobs, extracted packages, remembered
// tags and cached resolutions (a project's wrun.lock stays), compiled code
// and pre-initialized modules. The next pull fetches again, the next run
// compiles (and pre-initializes) again. It returns the bytes freed. The
// local store and config are untouched, and so is any directory under the
// cache directory that is not one of wrun's caches (CacheList reports it as
// "other").
//
// It takes the cache lock exclusively: it waits for pulls and publishes in
// progress (in this process or others) to finish, and those that start
// meanwhile wait for it, so none of them sees the cache vanish under it.
//
// Runs take no lock on the compiled-code and pre-initialization caches, so
// those are emptied file by file, keeping their directories and any
// temporary file younger than atomicfile.StaleAfter: a run that is writing
// an entry right now (wazero's "KEY.*.tmp", atomicfile's ".KEY.tmp-*")
// renames it into place as usual, and a run that read its entry already
// holds it in memory. A run that looks up an entry just pruned misses and
// compiles again.
func (c *Client) CachePrune(ctx context.Context) (int64, error) {
	unlock, err := c.lockCache(true)
	if err != nil {
		return 0, fmt.Errorf("pruning the cache: %w", err)
	}
	defer unlock()
	var freed int64
	for _, k := range c.cacheDirs() {
		for _, dir := range k.dirs {
			if k.live {
				n, err := pruneFiles(dir)
				freed += n
				if err != nil {
					return freed, fmt.Errorf("pruning %s: %w", dir, err)
				}
				continue
			}
			_, n := dirUsage(dir)
			freed += n
			if err := os.RemoveAll(dir); err != nil {
				return freed, fmt.Errorf("pruning %s: %w", dir, err)
			}
		}
	}
	return freed, nil
}

// pruneFiles removes the regular files under dir except temporary files a
// writer may still rename into place, keeping the directories. It returns
// the bytes removed.
func pruneFiles(dir string) (int64, error) {
	var freed int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if isTempName(d.Name()) && time.Since(fi.ModTime()) < atomicfile.StaleAfter {
			return nil
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return err
		}
		freed += fi.Size()
		return nil
	})
	return freed, err
}

// isTempName reports whether name is a temporary file of wazero's file
// cache ("KEY.RANDOM.tmp") or of atomicfile (".NAME.tmp-RANDOM").
func isTempName(name string) bool {
	return strings.HasSuffix(name, ".tmp") || strings.Contains(name, ".tmp-")
}
