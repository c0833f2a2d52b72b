package serve

import (
	"errors"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
)

// [http] is validated key by key, with the line and a way out.
func TestHTTPManifestValidation(t *testing.T) {
	const head = "[package]\nname = \"test:web\"\nversion = \"1.0.0\"\n[run]\nwasm = \"c.wasm\"\n[[assets]]\nfrom = \"static\"\nto = \"/static\"\n[dependencies]\n\"test:lib\" = { version = \"^1\", to = \"/lib\" }\n"
	for _, c := range []struct{ routes, want string }{
		{"[[http.routes]]\nstatic = \"/static\"\n", `http.routes[0].path: missing`},
		{"[[http.routes]]\npath = \"static/\"\nstatic = \"/static\"\n", `http.routes[0].path: "static/" is not a clean absolute URL path`},
		{"[[http.routes]]\npath = \"/a/../b/\"\nstatic = \"/static\"\n", `is not a clean absolute URL path`},
		{"[[http.routes]]\npath = \"/a%2f/\"\nstatic = \"/static\"\n", `is not a clean absolute URL path`},
		{"[[http.routes]]\npath = \"/_wrun/x\"\nstatic = \"/static\"\n", `is under /_wrun/, which wrun serve keeps for content-hash URLs`},
		{"[[http.routes]]\npath = \"/s\"\nstatic = \"/static\"\n[[http.routes]]\npath = \"/s/\"\nhandler = \"cgi\"\n", `http.routes[1].path: "/s/" serves the same URLs as http.routes[0].path "/s"`},
		{"[[http.routes]]\npath = \"/\"\n", `http.routes[0]: set static`},
		{"[[http.routes]]\npath = \"/\"\nstatic = \"/static\"\nhandler = \"cgi\"\n", `set either static`},
		{"[[http.routes]]\npath = \"/\"\nstatic = \"/www\"\n", `http.routes[0].static: "/www" is not at or under the guest path of an [[assets]] entry or dependency (/lib, /static)`},
		{"[[http.routes]]\npath = \"/\"\nstatic = \"/static/../etc\"\n", `is not a clean absolute guest path`},
		{"[[http.routes]]\npath = \"/\"\nhandler = \"wagi\"\n", `http.routes[0].handler: "wagi" is not a handler protocol; allowed: cgi`},
		{"[[http.routes]]\npath = \"/\"\nhandler = \"cgi\"\nlisting = true\n", `index and listing apply to static routes only`},
		{"[[http.routes]]\npath = \"/\"\nstatic = \"/static\"\nindex = \"a/b.html\"\n", `http.routes[0].index: "a/b.html" is not a file name`},
		{"[[http.routes]]\npath = \"/\"\nstatik = \"/static\"\n", `unknown key "statik" (did you mean "static"?); [http.routes] allows: path, static, handler, index, listing`},
		{"[http]\nroute = []\n", `unknown key "route" (did you mean "routes"?)`},
	} {
		_, err := bundle.ParseManifest("wrun.toml", []byte(head+c.routes))
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, bundle.ErrInvalidManifest) {
			t.Errorf("%s: got %v, want an error saying %q", c.routes, err, c.want)
		}
	}
	for _, ok := range []string{
		"[[http.routes]]\npath = \"/static/\"\nstatic = \"/static\"\n[[http.routes]]\npath = \"/\"\nhandler = \"cgi\"\n",
		"[[http.routes]]\npath = \"/docs/\"\nstatic = \"/static/docs\"\nindex = \"README.html\"\nlisting = true\n",
		"[[http.routes]]\npath = \"/lib\"\nstatic = \"/lib/www\"\n",
	} {
		if _, err := bundle.ParseManifest("wrun.toml", []byte(head+ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	// A handler needs a program.
	_, err := bundle.ParseManifest("wrun.toml", []byte("[package]\nname = \"test:web\"\n[[assets]]\nfrom = \"s\"\nto = \"/s\"\n[[http.routes]]\npath = \"/\"\nhandler = \"cgi\"\n"))
	if err == nil || !strings.Contains(err.Error(), "the handler is the package's program, and it has none") {
		t.Errorf("a handler route without a program: %v", err)
	}
}
