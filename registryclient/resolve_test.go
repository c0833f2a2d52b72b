package registryclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/registrytest"
	"github.com/wrun-dev/wrun/internal/testenv"
)

// assetsPackage is an assets package with one file, optionally depending
// on others ("name" = "range").
func assetsPackage(t testing.TB, name, version string, deps map[string]string) string {
	toml := fmt.Sprintf("[package]\nname = %q\nversion = %q\nkind = \"assets\"\n[[assets]]\nfrom = \"data\"\nto = \"/data\"\n", name, version)
	if len(deps) > 0 {
		toml += "[dependencies]\n"
		for n, r := range deps {
			toml += fmt.Sprintf("%q = { version = %q, to = \"/deps/%s\" }\n", n, r, strings.ReplaceAll(n, ":", "-"))
		}
	}
	return writePackage(t, toml, map[string][]byte{"data/version.txt": []byte(name + "@" + version)})
}

func runtimePackage(t testing.TB, version string) string {
	return writePackage(t, fmt.Sprintf("[package]\nname = \"example:rt\"\nversion = %q\nkind = \"module\"\n[run]\nwasm = \"module.wasm\"\n", version),
		map[string][]byte{"module.wasm": testenv.GuestBytes(t, "c/echo")})
}

func appDir(t testing.TB, deps map[string]string) string {
	toml := "[package]\nname = \"example:app\"\nversion = \"0.1.0\"\nkind = \"component\"\n[run]\nruntime = \"example:rt@^1\"\nargs = [\"/app/main\"]\n"
	if len(deps) > 0 {
		toml += "[dependencies]\n"
		for n, r := range deps {
			toml += fmt.Sprintf("%q = { version = %q, to = \"/deps/%s\" }\n", n, r, strings.ReplaceAll(n, ":", "-"))
		}
	}
	return writePackage(t, toml, map[string][]byte{"main": []byte("app")})
}

func versionsOf(r *Resolved) string {
	var s []string
	for _, p := range r.Deps {
		s = append(s, p.Name()+"@"+p.Version())
	}
	return strings.Join(s, " ")
}

func TestResolveDirectoryProject(t *testing.T) {
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data})
	publishDir(t, c, runtimePackage(t, "1.0.0"))
	publishDir(t, c, runtimePackage(t, "2.0.0"))
	for _, v := range []string{"1.0.0", "1.2.0", "2.0.0"} {
		publishDir(t, c, assetsPackage(t, "example:lib", v, nil))
	}
	publishDir(t, c, assetsPackage(t, "example:mid", "1.0.0", map[string]string{"example:lib": ">=1.0"}))

	app := appDir(t, map[string]string{"example:lib": "^1.0", "example:mid": "^1"})
	r := mustPull(t, c, app)
	if got, want := versionsOf(r), "example:lib@1.2.0 example:mid@1.0.0 example:rt@1.0.0"; got != want {
		t.Fatalf("resolved %s, want %s", got, want)
	}
	if r.Runtime == nil || r.Runtime.Name() != "example:rt" || r.Runtime.Wasm() == "" {
		t.Fatalf("runtime = %+v", r.Runtime)
	}
	b, err := os.ReadFile(filepath.Join(pkgDir(r.Package("example:lib")), "data", "version.txt"))
	if err != nil || string(b) != "example:lib@1.2.0" {
		t.Fatalf("lib content %q, %v", b, err)
	}
	lock, err := os.ReadFile(filepath.Join(app, LockName))
	if err != nil || !strings.Contains(string(lock), `version = "1.2.0"`) {
		t.Fatalf("wrun.lock: %v\n%s", err, lock)
	}

	// A newer lib does not move a locked project; --refresh does.
	publishDir(t, c, assetsPackage(t, "example:lib", "1.3.0", nil))
	c2, _ := newClient(t, Options{Home: h.Data})
	if got := versionsOf(mustPull(t, c2, app)); !strings.Contains(got, "example:lib@1.2.0") {
		t.Fatalf("locked project moved: %s", got)
	}
	c3, _ := newClient(t, Options{Home: h.Data, Refresh: true})
	if got := versionsOf(mustPull(t, c3, app)); !strings.Contains(got, "example:lib@1.3.0") {
		t.Fatalf("refresh did not move: %s", got)
	}
	if lock, _ := os.ReadFile(filepath.Join(app, LockName)); !strings.Contains(string(lock), `version = "1.3.0"`) {
		t.Fatalf("refresh did not rewrite wrun.lock:\n%s", lock)
	}

	// Transitive: mid alone pulls lib at the newest >= 1.0.
	solo := appDir(t, map[string]string{"example:mid": "^1"})
	if got, want := versionsOf(mustPull(t, c, solo)), "example:lib@2.0.0 example:mid@1.0.0 example:rt@1.0.0"; got != want {
		t.Fatalf("resolved %s, want %s", got, want)
	}
}

func TestResolveConflict(t *testing.T) {
	c, _ := newClient(t, Options{})
	publishDir(t, c, runtimePackage(t, "1.0.0"))
	for _, v := range []string{"1.0.0", "2.0.0"} {
		publishDir(t, c, assetsPackage(t, "example:lib", v, nil))
	}
	publishDir(t, c, assetsPackage(t, "example:mid", "1.0.0", map[string]string{"example:lib": "^2.0"}))
	app := appDir(t, map[string]string{"example:lib": "^1.0", "example:mid": "1.0.0"})
	_, err := c.Pull(context.Background(), app)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Pull = %v, want ErrConflict", err)
	}
	for _, want := range []string{"example:lib", app + " requires ^1.0", "example:mid@1.0.0 requires ^2.0", "1.0.0, 2.0.0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("conflict error lacks %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(app, LockName)); err == nil {
		t.Error("a failed resolution wrote wrun.lock")
	}
	missing := appDir(t, map[string]string{"example:lib": "^7"})
	if _, err := c.Pull(context.Background(), missing); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "required by "+missing) {
		t.Fatalf("unsatisfiable range: %v", err)
	}
}

// TestRegistryDepsWarm: a registry package with ranged dependencies runs
// warm with no request: its resolution is locked in the cache.
func TestRegistryDepsWarm(t *testing.T) {
	reg := registrytest.Start(t)
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	publishDir(t, c, runtimePackage(t, "1.0.0"))
	publishDir(t, c, assetsPackage(t, "example:lib", "1.0.0", nil))
	app := writePackage(t, "[package]\nname = \"example:app\"\nversion = \"1.0.0\"\nkind = \"component\"\n[run]\nruntime = \"example:rt@^1\"\n[dependencies]\n\"example:lib\" = { version = \"^1\", to = \"/lib\" }\n", map[string][]byte{"main": []byte("x")})
	publishDir(t, c, app)
	c2, _ := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	if got := versionsOf(mustPull(t, c2, "example:app@1.0.0")); got != "example:lib@1.0.0 example:rt@1.0.0" {
		t.Fatalf("resolved %s", got)
	}
	publishDir(t, c, assetsPackage(t, "example:lib", "1.1.0", nil))
	c3, ct3 := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	if got := versionsOf(mustPull(t, c3, "example:app@1.0.0")); got != "example:lib@1.0.0 example:rt@1.0.0" {
		t.Fatalf("warm resolved %s", got)
	}
	if n := ct3.n.Load(); n != 0 {
		t.Fatalf("warm pull with locked dependencies made %d requests", n)
	}
	// A directory project: its ranges are locked in wrun.lock, so the
	// second run makes no request either.
	proj := appDir(t, map[string]string{"example:lib": "^1"})
	c4, _ := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	if got := versionsOf(mustPull(t, c4, proj)); got != "example:lib@1.1.0 example:rt@1.0.0" {
		t.Fatalf("project resolved %s", got)
	}
	c5, ct5 := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	mustPull(t, c5, proj)
	if n := ct5.n.Load(); n != 0 {
		t.Fatalf("warm run of a locked project made %d requests", n)
	}
}
