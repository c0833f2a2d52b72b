package bundle

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// HTTP is [http]: how `wrun serve` serves the package.
type HTTP struct {
	Routes []HTTPRoute `toml:"routes" json:"routes,omitempty"`
}

// HTTPRoute is one [[http.routes]] entry: a URL path prefix served either
// from an asset directory by the host (Static) or by the package's program,
// one instance per request (Handler).
type HTTPRoute struct {
	// Path is the URL path the route serves: a prefix when it ends in "/"
	// ("/static/", "/"), else that path and everything under it ("/api"
	// serves /api and /api/...). The longest matching path wins.
	Path string `toml:"path" json:"path"`
	// Static is the guest path, at or under an [[assets]] entry's to or a
	// dependency's to, whose files the route serves.
	Static string `toml:"static" json:"static,omitempty"`
	// Handler is the protocol the package's program speaks: "cgi".
	Handler string `toml:"handler" json:"handler,omitempty"`
	// Index is the file served for a directory of a static route; default
	// "index.html".
	Index string `toml:"index" json:"index,omitempty"`
	// Listing lists a static directory that has no index file (default: 404).
	Listing bool `toml:"listing" json:"listing,omitempty"`
}

// HTTPHandlerCGI is the handler protocol of CGI/1.1 (RFC 3875) over WASI.
const HTTPHandlerCGI = "cgi"

// HTTPReservedPrefix is the URL path wrun serve keeps for itself (the
// content-hash URLs /_wrun/sha256/<hex>/<name>).
const HTTPReservedPrefix = "/_wrun/"

func init() {
	allowedKeys[""] = append(allowedKeys[""], "http")
	allowedKeys["http"] = []string{"routes"}
	allowedKeys["http.routes"] = []string{"path", "static", "handler", "index", "listing"}
}

// DefaultIndex is the index file of a static route's directories.
const DefaultIndex = "index.html"

// IndexFile returns the route's index file name.
func (r HTTPRoute) IndexFile() string {
	if r.Index == "" {
		return DefaultIndex
	}
	return r.Index
}

// validateHTTP checks [http]: every route has a clean absolute path, once,
// outside /_wrun/, and exactly one of static (a guest path the package's
// assets or dependencies provide) and handler (a protocol, with something
// to run).
func (m *Manifest) validateHTTP() error {
	if m.HTTP == nil {
		return nil
	}
	seen := map[string]int{}
	for i, r := range m.HTTP.Routes {
		key := fmt.Sprintf("http.routes[%d]", i)
		if err := checkRoutePath(r.Path); err != nil {
			return badKey(key+".path", "%v", err)
		}
		norm := strings.TrimSuffix(r.Path, "/")
		if j, ok := seen[norm]; ok {
			return badKey(key+".path", "%q serves the same URLs as http.routes[%d].path %q", r.Path, j, m.HTTP.Routes[j].Path)
		}
		seen[norm] = i
		switch {
		case r.Static != "" && r.Handler != "":
			return badKey(key, "set either static (an asset directory the host serves) or handler (the program answers), not both")
		case r.Static == "" && r.Handler == "":
			return badKey(key, "set static (a guest path of an [[assets]] entry, e.g. \"/static\") or handler = \"cgi\"")
		case r.Static != "":
			if err := m.checkStatic(r.Static); err != nil {
				return badKey(key+".static", "%v", err)
			}
			if r.Index != "" && (strings.ContainsAny(r.Index, "/\\\x00") || r.Index == "." || r.Index == "..") {
				return badKey(key+".index", "%q is not a file name (e.g. \"index.html\")", r.Index)
			}
		default:
			if r.Handler != HTTPHandlerCGI {
				return badKey(key+".handler", "%q is not a handler protocol; allowed: cgi", r.Handler)
			}
			if m.Run.Wasm == "" && m.Run.Runtime == "" {
				return badKey(key+".handler", "the handler is the package's program, and it has none: set run.wasm or run.runtime")
			}
			if r.Index != "" || r.Listing {
				return badKey(key, "index and listing apply to static routes only")
			}
		}
	}
	return nil
}

// checkRoutePath checks a route's URL path.
func checkRoutePath(p string) error {
	if p == "" {
		return fmt.Errorf("missing; give a URL path (e.g. \"/static/\" or \"/\")")
	}
	trimmed := strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(p, "/") || (p != "/" && path.Clean(trimmed) != trimmed) || strings.ContainsAny(p, "\x00?#%\\") {
		return fmt.Errorf("%q is not a clean absolute URL path (e.g. \"/static/\")", p)
	}
	for _, c := range p {
		if c < 0x21 || c == 0x7f {
			return fmt.Errorf("%q holds a space or control character", p)
		}
	}
	if strings.HasPrefix(p+"/", HTTPReservedPrefix) {
		return fmt.Errorf("%q is under %s, which wrun serve keeps for content-hash URLs", p, HTTPReservedPrefix)
	}
	return nil
}

// checkStatic checks that guest is at or under a guest path the package
// mounts assets at: an [[assets]] entry's to or a dependency's to.
func (m *Manifest) checkStatic(guest string) error {
	if !strings.HasPrefix(guest, "/") || path.Clean(guest) != guest {
		return fmt.Errorf("%q is not a clean absolute guest path (e.g. \"/static\")", guest)
	}
	under := func(to string) bool {
		return to == "/" || guest == to || strings.HasPrefix(guest, to+"/")
	}
	var have []string
	for _, a := range m.Assets {
		if under(a.To) {
			return nil
		}
		have = append(have, a.To)
	}
	for _, d := range m.Dependencies {
		if d.To != "" && under(d.To) {
			return nil
		}
		if d.To != "" {
			have = append(have, d.To)
		}
	}
	if len(have) == 0 {
		return fmt.Errorf("%q: the package has no [[assets]] entry or dependency to serve; add one with to = %q", guest, guest)
	}
	slices.Sort(have)
	return fmt.Errorf("%q is not at or under the guest path of an [[assets]] entry or dependency (%s)", guest, strings.Join(have, ", "))
}
