package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/registryclient"
)

// HashPrefix is the URL path of content-hash URLs: HashPrefix + hex + "/" + name.
const HashPrefix = "/_wrun/sha256/"

// immutable is the Cache-Control of a content-hash URL: its bytes never change.
const immutable = "public, max-age=31536000, immutable"

// layer is one [[assets]] entry of a package, mounted at a guest path.
type layer struct {
	guest string            // where the guest sees it
	pkg   *bundle.Package   // whose files
	from  string            // the package directory it mounts ("" for the root)
	files map[string]*asset // by path relative to from
	dirs  map[string]bool   // directories relative to from ("" is from itself)
}

// asset is one verified file of a package: where its bytes are and the
// digest and size the package's verified index records.
type asset struct {
	pkg  *bundle.Package
	root *pkgRoot // the package's directory, nil for a bundle
	path string   // package path
	sum  bundle.Digest
	size int64
	data atomic.Pointer[[]byte] // the verified bytes, once cached
	etag string                 // "sha256-<hex>", quoted
}

// hex is the asset's SHA-256 in hex.
func (a *asset) hex() string { return a.sum.Hex() }

// pkgRoot is a package directory opened once, for every asset in it.
type pkgRoot struct {
	once sync.Once
	dir  string
	root *os.Root
	err  error
}

func (r *pkgRoot) open() (*os.Root, error) {
	r.once.Do(func() { r.root, r.err = os.OpenRoot(r.dir) })
	return r.root, r.err
}

// Small files are kept in memory once read and verified, up to a total.
const (
	maxCachedFile  = 1 << 20
	maxCachedBytes = 64 << 20
)

// open opens the asset's bytes: a section of the verified bundle, or the
// file in the package's directory (a pulled package's is the extracted copy
// checked against its digest when it was extracted), read through an
// os.Root so that nothing outside the directory is reachable, and checked
// to be a regular file of the indexed size. A small file is read whole
// once, its SHA-256 checked against the index, and served from memory
// after that.
func (s *Server) openAsset(a *asset) (io.ReadSeeker, func() error, error) {
	if b := a.data.Load(); b != nil {
		return bytes.NewReader(*b), func() error { return nil }, nil
	}
	if ra, off, size, ok, err := a.pkg.FileRange(a.path); err != nil {
		return nil, nil, err
	} else if ok {
		return io.NewSectionReader(ra, off, size), func() error { return nil }, nil
	}
	if a.root == nil {
		return nil, nil, fmt.Errorf("%s: no directory or bundle to read from", a.path)
	}
	root, err := a.root.open()
	if err != nil {
		return nil, nil, err
	}
	f, err := root.Open(filepath.FromSlash(a.path))
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != a.size {
		f.Close()
		return nil, nil, fmt.Errorf("%s changed since the package was verified", a.path)
	}
	if a.size > maxCachedFile {
		return f, f.Close, nil
	}
	if s.cached.Add(a.size) > s.cacheMax {
		s.cached.Add(-a.size) // it does not fit: served from disk, no share taken
		return f, f.Close, nil
	}
	defer f.Close()
	b := make([]byte, a.size)
	if _, err := io.ReadFull(f, b); err != nil {
		s.cached.Add(-a.size)
		return nil, nil, err
	}
	if sha256.Sum256(b) != a.sum {
		s.cached.Add(-a.size)
		return nil, nil, fmt.Errorf("%s changed since the package was verified: its SHA-256 differs", a.path)
	}
	if !a.data.CompareAndSwap(nil, &b) {
		s.cached.Add(-a.size) // another request cached it first
	}
	return bytes.NewReader(b), func() error { return nil }, nil
}

// newLayer indexes the files of pkg under from from its verified index.
func newLayer(guest string, pkg *bundle.Package, from string, root *pkgRoot) *layer {
	l := &layer{guest: guest, pkg: pkg, from: from, files: map[string]*asset{}, dirs: map[string]bool{"": true}}
	prefix := ""
	if from != "" && from != "." {
		prefix = strings.TrimSuffix(from, "/") + "/"
	}
	for _, e := range pkg.Files() {
		rel, ok := strings.CutPrefix(e.Path, prefix)
		if !ok || rel == "" {
			continue
		}
		l.files[rel] = &asset{pkg: pkg, root: root, path: e.Path, sum: e.Sum, size: e.Size, etag: `"sha256-` + e.Sum.Hex() + `"`}
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			l.dirs[d] = true
		}
	}
	return l
}

// assetLayers lists a loaded package's asset mounts, in the order
// Package.Run stacks them (later ones win at the same guest path): the
// runtime's own, the package's, then every dependency's under the path its
// dependent gives.
func assetLayers(res *registryclient.Resolved) []*layer {
	var out []*layer
	roots := map[*bundle.Package]*pkgRoot{}
	add := func(pkg *registryclient.Package, base string) {
		root := roots[pkg.Package]
		if dir, ok := pkg.Dir(); ok && root == nil {
			root = &pkgRoot{dir: dir}
			roots[pkg.Package] = root
		}
		for _, a := range pkg.Manifest.Assets {
			out = append(out, newLayer(path.Join("/", base, a.To), pkg.Package, a.From, root))
		}
	}
	root := res.Root
	if res.Runtime != nil && root.Manifest.Run.Runtime != "" {
		add(res.Runtime, "/")
	}
	add(root, "/")
	for _, pkg := range append([]*registryclient.Package{root}, res.Deps...) {
		for _, name := range slices.Sorted(maps.Keys(pkg.Manifest.Dependencies)) {
			dep := res.Package(name)
			to := pkg.Manifest.Dependencies[name].To
			if dep == nil || to == "" {
				continue
			}
			add(dep, to)
		}
	}
	return out
}

// assets is the read-only file tree of a package's asset layers, by guest
// path.
type assets struct {
	layers []*layer
}

func newAssets(layers []*layer) *assets { return &assets{layers: layers} }

// lookup finds the file at a clean absolute guest path, the last layer
// holding it winning; dir reports a directory instead.
func (a *assets) lookup(guest string) (f *asset, dir bool) {
	for i := len(a.layers) - 1; i >= 0; i-- {
		l := a.layers[i]
		rel, ok := under(guest, l.guest)
		if !ok {
			continue
		}
		if f := l.files[rel]; f != nil {
			return f, false
		}
		if l.dirs[rel] {
			return nil, true
		}
	}
	return nil, false
}

// list lists the entries of a guest directory across layers: name → is a
// directory.
func (a *assets) list(guest string) map[string]bool {
	out := map[string]bool{}
	for _, l := range a.layers {
		rel, ok := under(guest, l.guest)
		if !ok {
			continue
		}
		prefix := ""
		if rel != "" {
			prefix = rel + "/"
		}
		for name := range l.files {
			if rest, ok := strings.CutPrefix(name, prefix); ok {
				first, more, _ := strings.Cut(rest, "/")
				out[first] = out[first] || more != ""
			}
		}
	}
	return out
}

// under returns p relative to the directory dir ("" for dir itself).
func under(p, dir string) (string, bool) {
	if p == dir {
		return "", true
	}
	if dir == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	rel, ok := strings.CutPrefix(p, dir+"/")
	return rel, ok
}

// cleanURLPath checks a request path for a static lookup: it must be what
// it says, with no "." or ".." segment, empty segment, NUL or backslash, and
// no encoded slash or backslash in the raw path (they would name another
// file than the one the client's path shows). ok false: 404.
func cleanURLPath(r *http.Request) (string, bool) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") {
		return "", false
	}
	if raw := strings.ToLower(r.URL.RawPath); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%00") {
		return "", false
	}
	for rest := p[1:]; ; {
		seg, more, found := strings.Cut(rest, "/")
		if seg == "." || seg == ".." || (seg == "" && found) {
			return "", false
		}
		if !found {
			return p, true
		}
		rest = more
	}
}

// serveAsset sends a verified file: ETag is its SHA-256, Range, HEAD and
// If-None-Match are http.ServeContent's. name picks the Content-Type
// unless the response already has one.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, f *asset, name string, cacheControl string) {
	rs, closeFn, err := s.openAsset(f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, fmt.Errorf("asset %s: %w", f.path, err))
		return
	}
	defer closeFn()
	h := w.Header()
	h["Etag"] = []string{f.etag}
	if cacheControl != "" {
		h.Set("Cache-Control", cacheControl)
	}
	if h.Get("Content-Type") == "" {
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			h.Set("Content-Type", ct)
		}
	}
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, rs)
}

// serveStatic serves a static route: rel is the request path below the
// route's prefix.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, rt *route, rel string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.fail(w, r, http.StatusMethodNotAllowed, nil)
		return
	}
	urlPath, ok := cleanURLPath(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	trailing := strings.HasSuffix(urlPath, "/")
	guest := path.Join(rt.Static, rel)
	f, dir := s.assets.lookup(guest)
	if f != nil && !trailing {
		s.serveAsset(w, r, f, path.Base(guest), "")
		return
	}
	if !dir {
		s.notFound(w, r)
		return
	}
	if !trailing {
		u := *r.URL
		u.Path = urlPath + "/"
		u.RawPath = ""
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		return
	}
	index := rt.IndexFile()
	if f, _ := s.assets.lookup(path.Join(guest, index)); f != nil {
		s.serveAsset(w, r, f, index, "")
		return
	}
	if !rt.Listing {
		s.notFound(w, r)
		return
	}
	entries := s.assets.list(guest)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html>\n<title>%s</title>\n<ul>\n", html.EscapeString(urlPath))
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		if entries[name] {
			name += "/"
		}
		u := url.URL{Path: name}
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(u.String()), html.EscapeString(name))
	}
	b.WriteString("</ul>\n")
	io.WriteString(w, b.String())
}

// serveHash serves a content-hash URL: /_wrun/sha256/<hex>/<name>, where
// name is the base name of a file with that digest.
func (s *Server) serveHash(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.fail(w, r, http.StatusMethodNotAllowed, nil)
		return
	}
	if _, ok := cleanURLPath(r); !ok {
		s.notFound(w, r)
		return
	}
	hex, name, ok := strings.Cut(rest, "/")
	if !ok || len(hex) != 64 || strings.Contains(name, "/") || name == "" {
		s.notFound(w, r)
		return
	}
	for _, f := range s.hashed[hex] {
		if path.Base(f.path) == name {
			s.serveAsset(w, r, f, name, immutable)
			return
		}
	}
	s.notFound(w, r)
}

// ContentURLs maps the URL path of every file that the static routes of a
// resolved package's [http] table serve to its content-hash URL, as
// Server.AssetURLs does, without loading the package: for `wrun inspect`.
func ContentURLs(res *registryclient.Resolved) map[string]string {
	s := &Server{assets: newAssets(assetLayers(res))}
	if h := res.Root.Manifest.HTTP; h != nil {
		s.routes = newRoutes(h.Routes)
	}
	s.indexStatic()
	return s.assetURLs
}

// AssetURLs maps the URL path of every file that a static route serves to
// its content-hash URL (/_wrun/sha256/<hex>/<name>, with the name
// URL-escaped), which serves the same bytes with Cache-Control: immutable.
func (s *Server) AssetURLs() map[string]string { return maps.Clone(s.assetURLs) }

// indexStatic fills s.assetURLs and s.hashed from the static routes: each
// file at the URL path whose route serves it.
func (s *Server) indexStatic() {
	s.assetURLs = map[string]string{}
	s.hashed = map[string][]*asset{}
	for _, rt := range s.routes {
		if rt.Static == "" {
			continue
		}
		var walk func(guest, urlPath string)
		walk = func(guest, urlPath string) {
			for name, isDir := range s.assets.list(guest) {
				g, u := path.Join(guest, name), urlPath+"/"+name
				if isDir {
					walk(g, u)
					continue
				}
				f, _ := s.assets.lookup(g)
				if by, _ := s.routeOf(u); f == nil || by != rt {
					continue // u is another route's to serve
				}
				s.assetURLs[u] = (&url.URL{Path: HashPrefix + f.hex() + "/" + path.Base(f.path)}).EscapedPath()
				if !slices.Contains(s.hashed[f.hex()], f) {
					s.hashed[f.hex()] = append(s.hashed[f.hex()], f)
				}
			}
		}
		walk(rt.Static, rt.prefix)
	}
}

// assetManifest is the JSON the program reads at AssetManifestPath.
func (s *Server) assetManifest() []byte {
	b, err := json.MarshalIndent(s.assetURLs, "", "  ")
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return append(b, '\n')
}
