package registryclient

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestConfigWkg(t *testing.T) {
	path, err := filepath.Abs("../testdata/registry/wkg-config.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	store := "/home/store"
	for _, tc := range []struct {
		pkg, override string
		want          Target
		ref           string
	}{
		{pkg: "wasi:http", want: Target{Registry: "wasi.dev", Host: "wasi.dev"}, ref: "wasi.dev/wasi/http:1.0.0"},
		{pkg: "example:foo", want: Target{Registry: "example.com", Host: "example.com", PlainHTTP: true}, ref: "example.com/example/foo:1.0.0"},
		{pkg: "example:bar", want: Target{Registry: "127.0.0.1:5000", Host: "127.0.0.1:5000", PlainHTTP: true}, ref: "127.0.0.1:5000/example/bar:1.0.0"},
		{pkg: "custom:thing", want: Target{Registry: "localhost:1234", Host: "ghcr.io", Prefix: "webassembly/"}, ref: "ghcr.io/webassembly/custom/thing:1.0.0"},
		{pkg: "other:thing", want: Target{Registry: "example.com", Host: "example.com", PlainHTTP: true}, ref: "example.com/other/thing:1.0.0"},
		{pkg: "team:app", want: Target{Registry: "team", Layout: filepath.Join(filepath.Dir(path), "team-store")}},
		{pkg: "wasi:http", override: "local", want: Target{Registry: "local", Layout: store}},
		{pkg: "wasi:http", override: "localhost:5001", want: Target{Registry: "localhost:5001", Host: "localhost:5001", PlainHTTP: true}},
	} {
		n, _ := ParseName(tc.pkg)
		got, err := c.Resolve(n, tc.override, store)
		if err != nil {
			t.Errorf("%s: %v", tc.pkg, err)
			continue
		}
		cred := got.Credential
		got.Credential = nil
		if got != tc.want {
			t.Errorf("Resolve(%s, %q) = %+v, want %+v", tc.pkg, tc.override, got, tc.want)
		}
		if tc.ref != "" && got.Reference(n, "1.0.0") != tc.ref {
			t.Errorf("Reference(%s) = %s, want %s", tc.pkg, got.Reference(n, "1.0.0"), tc.ref)
		}
		switch got.Registry {
		case "wasi.dev":
			if cred == nil || cred.Username != "open" || cred.Password != "sesame" {
				t.Errorf("wasi.dev credential = %+v", cred)
			}
		case "example.com":
			if cred == nil || cred.Username != "ping" || cred.Password != "pong" {
				t.Errorf("example.com credential = %+v", cred)
			}
		}
	}
	// A warg-only registry is refused with its name.
	if _, err := c.RegistryTarget("localhost:1234", store); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("warg registry: %v, want ErrInvalidConfig", err)
	}
}

func TestConfigDefault(t *testing.T) {
	c, err := LoadConfig(filepath.Join(t.TempDir(), "missing.toml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Resolve(Name{"example", "hello"}, "", "/s")
	if err != nil || got.Layout != "/s" || got.Registry != LocalRegistry {
		t.Fatalf("default target = %+v, %v; want the local store", got, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, in := range []string{
		`default_registry = [`,
		"[namespace_registries]\nBad_NS = \"x\"",
		"[package_registry_overrides]\nnotaname = \"x\"",
	} {
		if _, err := ParseConfig([]byte(in)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseConfig(%q) = %v, want ErrInvalidConfig", in, err)
		}
	}
	c, _ := ParseConfig([]byte("[registry.\"r\".oci]\nprotocol = \"ftp\""))
	if _, err := c.RegistryTarget("r", ""); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("protocol ftp: %v", err)
	}
}
