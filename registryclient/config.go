package registryclient

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/wrun-dev/wrun/bundle"
)

// LocalRegistry is the name of the embedded default registry: the OCI
// image-layout directory store/ in the home directory (Options.Home). It is
// used when config.toml names no registry for a package, and may be named
// in config.toml or Options.Registry (--registry, WRUN_REGISTRY).
const LocalRegistry = "local"

// Config is config.toml, in the wasm-pkg-tools (wkg) format, so a wkg config
// file works unchanged:
//
//	default_registry = "ghcr.io"
//	[namespace_registries]
//	example = "127.0.0.1:5000"
//	other = { registry = "x", metadata = { oci = { registry = "ghcr.io", namespacePrefix = "org/" } } }
//	[package_registry_overrides]
//	"example:foo" = "ghcr.io"
//	[registry."127.0.0.1:5000".oci]
//	protocol = "http"                              # "https" is the default
//	auth = { username = "u", password = "p" }      # or base64 "u:p"
//	[registry."team".local]
//	root = "/srv/wasm"                             # an OCI image layout
//
// Keys wrun does not use (warg backends, certificates) are accepted and
// ignored. Unlike wkg, wrun does not fetch /.well-known/wasm-pkg metadata:
// a registry name is the OCI host unless its mapping carries metadata.
type Config struct {
	DefaultRegistry          string                     `toml:"default_registry"`
	NamespaceRegistries      map[string]RegistryMapping `toml:"namespace_registries"`
	PackageRegistryOverrides map[string]RegistryMapping `toml:"package_registry_overrides"`
	Registry                 map[string]RegistryConfig  `toml:"registry"`
	// Network is wrun's own [network] table (wkg has none): timeouts
	// as Go durations, e.g. connect_timeout = "10s".
	Network NetworkConfig `toml:"network"`

	// dir is the directory relative local roots are resolved against.
	dir string
}

// NetworkConfig is config.toml's [network]: connect_timeout,
// response_timeout and stall_timeout (see Timeouts), each a duration such as
// "10s" or "2m".
type NetworkConfig struct {
	ConnectTimeout  string `toml:"connect_timeout"`
	ResponseTimeout string `toml:"response_timeout"`
	StallTimeout    string `toml:"stall_timeout"`
}

func (n NetworkConfig) timeouts() (Timeouts, error) {
	var t Timeouts
	for _, f := range []struct {
		key, val string
		dst      *time.Duration
	}{{"connect_timeout", n.ConnectTimeout, &t.Connect}, {"response_timeout", n.ResponseTimeout, &t.Response}, {"stall_timeout", n.StallTimeout, &t.Stall}} {
		if f.val == "" {
			continue
		}
		d, err := time.ParseDuration(f.val)
		if err != nil || d <= 0 {
			return Timeouts{}, fmt.Errorf("%w: [network] %s = %q: want a positive duration such as \"30s\"", ErrInvalidConfig, f.key, f.val)
		}
		*f.dst = d
	}
	return t, nil
}

// RegistryMapping is a namespace's or package's registry: a registry name,
// or a table { registry = NAME, metadata = { oci = { registry, namespacePrefix } } }.
type RegistryMapping struct {
	Registry string
	// OCIRegistry and NamespacePrefix come from the mapping's metadata.
	OCIRegistry     string
	NamespacePrefix string
}

// UnmarshalTOML accepts both forms of a mapping.
func (m *RegistryMapping) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		m.Registry = v
		return nil
	case map[string]any:
		reg, _ := v["registry"].(string)
		if reg == "" {
			return errors.New("registry mapping table needs a registry key")
		}
		m.Registry = reg
		meta, _ := v["metadata"].(map[string]any)
		if oci, ok := meta["oci"].(map[string]any); ok {
			m.OCIRegistry, _ = oci["registry"].(string)
			m.NamespacePrefix, _ = oci["namespacePrefix"].(string)
		}
		if s, ok := meta["ociRegistry"].(string); ok { // backward-compatible aliases
			m.OCIRegistry = s
		}
		if s, ok := meta["ociNamespacePrefix"].(string); ok {
			m.NamespacePrefix = s
		}
		return nil
	}
	return fmt.Errorf("registry mapping must be a string or a table, not %T", v)
}

// RegistryConfig is [registry."NAME"].
type RegistryConfig struct {
	// Default (alias type) picks the backend when several are configured.
	Default string          `toml:"default"`
	Type    string          `toml:"type"`
	OCI     *OCIConfig      `toml:"oci"`
	Local   *LocalConfig    `toml:"local"`
	Warg    *map[string]any `toml:"warg"`
}

// OCIConfig is [registry."NAME".oci].
type OCIConfig struct {
	Protocol string  `toml:"protocol"` // "https" (default) or "http"
	Auth     OCIAuth `toml:"auth"`
}

// OCIAuth is a static credential: { username, password } or base64 "user:pass".
type OCIAuth struct {
	Username, Password string
}

// UnmarshalTOML accepts both forms of auth.
func (a *OCIAuth) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
		}
		if err != nil {
			return fmt.Errorf("auth: invalid base64: %w", err)
		}
		u, p, ok := strings.Cut(string(b), ":")
		if !ok {
			return errors.New("auth: want base64 of user:password, no ':' found")
		}
		a.Username, a.Password = u, p
		return nil
	case map[string]any:
		a.Username, _ = v["username"].(string)
		a.Password, _ = v["password"].(string)
		return nil
	}
	return fmt.Errorf("auth must be a string or a table, not %T", v)
}

// LocalConfig is [registry."NAME".local]: root is an OCI image-layout
// directory (wkg's local backend is a plain file tree; wrun's is a layout).
type LocalConfig struct {
	Root string `toml:"root"`
}

// LoadConfig reads config.toml. A missing file is the empty config (every
// package in the embedded local store); a malformed one is ErrInvalidConfig
// naming the file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{dir: filepath.Dir(path)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.dir = filepath.Dir(path)
	return c, nil
}

// ParseConfig parses config.toml content.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if _, err := toml.Decode(string(b), &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for ns := range c.NamespaceRegistries {
		if bundle.ValidateLabel(ns) != nil {
			return nil, fmt.Errorf("%w: namespace_registries: %q is not a namespace", ErrInvalidConfig, ns)
		}
	}
	if _, err := c.Network.timeouts(); err != nil {
		return nil, err
	}
	for pkg := range c.PackageRegistryOverrides {
		if _, err := ParseName(pkg); err != nil {
			return nil, fmt.Errorf("%w: package_registry_overrides: %w", ErrInvalidConfig, err)
		}
	}
	return &c, nil
}

// Target is where one package lives: a registry reached through one backend.
type Target struct {
	// Registry is the name as configured ("local" for the embedded store).
	Registry string
	// Host is the OCI registry host[:port]; empty for a local layout.
	Host string
	// Layout is the OCI image-layout directory of a local registry.
	Layout string
	// PlainHTTP is true for loopback hosts and protocol = "http".
	PlainHTTP bool
	// Prefix goes before namespace/name in the repository.
	Prefix string
	// Credential is the static credential from config, if any.
	Credential *auth.Credential
}

// Repository is the OCI repository of a package, as wkg maps it:
// <prefix><namespace>/<name>.
func (t Target) Repository(n Name) string { return t.Prefix + n.Namespace + "/" + n.Name }

// Reference is the OCI reference of a package version (its tag is
// VersionTag(version)).
func (t Target) Reference(n Name, version string) string {
	host := t.Host
	if host == "" {
		host = t.Registry
	}
	return host + "/" + t.Repository(n) + ":" + VersionTag(version)
}

// Resolve maps a package to its target: package_registry_overrides, then
// namespace_registries, then default_registry, then the embedded local
// store. A non-empty override replaces all of them (Options.Registry:
// --registry, WRUN_REGISTRY); it is a registry name or a path to an OCI
// layout.
func (c *Config) Resolve(n Name, override, store string) (Target, error) {
	var m RegistryMapping
	switch {
	case override != "":
		m.Registry = override
	case c.PackageRegistryOverrides[n.String()].Registry != "":
		m = c.PackageRegistryOverrides[n.String()]
	case c.NamespaceRegistries[n.Namespace].Registry != "":
		m = c.NamespaceRegistries[n.Namespace]
	case c.DefaultRegistry != "":
		m.Registry = c.DefaultRegistry
	default:
		m.Registry = LocalRegistry
	}
	return c.target(m, store)
}

// RegistryTarget is the target of a registry name (or layout path), for
// listing and publishing without a package name.
func (c *Config) RegistryTarget(name, store string) (Target, error) {
	if name == "" {
		name = c.DefaultRegistry
	}
	if name == "" {
		name = LocalRegistry
	}
	return c.target(RegistryMapping{Registry: name}, store)
}

func (c *Config) target(m RegistryMapping, store string) (Target, error) {
	name := m.Registry
	t := Target{Registry: name, Prefix: m.NamespacePrefix}
	if name == LocalRegistry {
		t.Layout = store
		return t, nil
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") || name == "." {
		abs, err := filepath.Abs(name)
		if err != nil {
			return Target{}, err
		}
		t.Layout = abs
		return t, nil
	}
	rc := c.Registry[name]
	backend := rc.Default
	if backend == "" {
		backend = rc.Type
	}
	if m.OCIRegistry != "" || m.NamespacePrefix != "" {
		backend = "oci" // the mapping's own metadata says OCI
	}
	if backend == "" {
		switch {
		case rc.Local != nil && rc.OCI == nil:
			backend = "local"
		case rc.Warg != nil && rc.OCI == nil && rc.Local == nil:
			backend = "warg"
		default:
			backend = "oci"
		}
	}
	switch backend {
	case "local":
		if rc.Local == nil || rc.Local.Root == "" {
			return Target{}, fmt.Errorf("%w: registry %q: backend local needs [registry.%q.local] root", ErrInvalidConfig, name, name)
		}
		root := rc.Local.Root
		if !filepath.IsAbs(root) {
			root = filepath.Join(c.dir, root)
		}
		t.Layout = root
		return t, nil
	case "oci":
	default:
		return Target{}, fmt.Errorf("%w: registry %q: backend %q is not supported by wrun (use oci or local)", ErrInvalidConfig, name, backend)
	}
	t.Host = name
	if m.OCIRegistry != "" {
		t.Host = m.OCIRegistry
	}
	if rc.OCI != nil {
		switch rc.OCI.Protocol {
		case "", "https":
		case "http":
			t.PlainHTTP = true
		default:
			return Target{}, fmt.Errorf("%w: registry %q: protocol %q: want http or https", ErrInvalidConfig, name, rc.OCI.Protocol)
		}
		if rc.OCI.Auth.Username != "" || rc.OCI.Auth.Password != "" {
			t.Credential = &auth.Credential{Username: rc.OCI.Auth.Username, Password: rc.OCI.Auth.Password}
		}
	}
	if isLoopback(t.Host) {
		t.PlainHTTP = true
	}
	return t, nil
}

// isLoopback reports whether host[:port] is localhost or a loopback address.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Registries lists the registry names config.toml mentions, sorted.
func (c *Config) Registries() []string {
	set := map[string]bool{}
	if c.DefaultRegistry != "" {
		set[c.DefaultRegistry] = true
	}
	for _, m := range c.NamespaceRegistries {
		set[m.Registry] = true
	}
	for _, m := range c.PackageRegistryOverrides {
		set[m.Registry] = true
	}
	for r := range c.Registry {
		set[r] = true
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
