package bundle

import (
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/semver/v3"
	"github.com/wrun-dev/wrun/internal/kv"
)

// ManifestName is the manifest's file name at the package root.
const ManifestName = "wrun.toml"

// Package kinds.
const (
	KindComponent = "component" // runnable: its own wasm
	KindModule    = "module"    // a runtime other packages run on
	KindAssets    = "assets"    // files only
)

// Manifest is a parsed wrun.toml. README.md documents every key.
type Manifest struct {
	Package      PackageInfo           `toml:"package" json:"package"`
	Run          Run                   `toml:"run" json:"run"`
	Assets       []Asset               `toml:"assets" json:"assets,omitempty"`
	Dependencies map[string]Dependency `toml:"dependencies" json:"dependencies,omitempty"`
	Mounts       []Mount               `toml:"mounts" json:"mounts,omitempty"`
	Preinit      *Preinit              `toml:"preinit" json:"preinit,omitempty"`
	Test         *Test                 `toml:"test" json:"test,omitempty"`
	HTTP         *HTTP                 `toml:"http" json:"http,omitempty"`
}

// PackageInfo is [package].
type PackageInfo struct {
	Name        string   `toml:"name" json:"name,omitempty"`
	Version     string   `toml:"version" json:"version,omitempty"`
	Kind        string   `toml:"kind" json:"kind"`
	Description string   `toml:"description" json:"description,omitempty"`
	Authors     []string `toml:"authors" json:"authors,omitempty"`
	License     string   `toml:"license" json:"license,omitempty"`
	Homepage    string   `toml:"homepage" json:"homepage,omitempty"`
	Source      string   `toml:"source" json:"source,omitempty"`
}

// Run is [run].
type Run struct {
	Wasm    string   `toml:"wasm" json:"wasm,omitempty"`
	Runtime string   `toml:"runtime" json:"runtime,omitempty"`
	Args    []string `toml:"args" json:"args,omitempty"`
	// Env is the guest's environment; a value may use ${NAME} (see
	// ExpandEnv).
	Env map[string]string `toml:"env" json:"env,omitempty"`
	// Cwd is the guest's working directory, a clean absolute guest path,
	// conveyed as PWD; "" sets none.
	Cwd string `toml:"cwd" json:"cwd,omitempty"`
}

// Asset is one [[assets]] entry: a package directory mounted read-only.
// Its files are FS() under From; serve them with fs.Sub(p.FS(), a.From).
type Asset struct {
	From string `toml:"from" json:"from"`
	To   string `toml:"to" json:"to"`
}

// Dependency is one [dependencies] entry.
type Dependency struct {
	Version string `toml:"version" json:"version"`
	To      string `toml:"to" json:"to"`
}

// Mount is one [[mounts]] entry: a host directory the package asks for.
type Mount struct {
	To       string `toml:"to" json:"to"`
	Access   string `toml:"access" json:"access"`
	Required bool   `toml:"required" json:"required"`
}

// Preinit is [preinit].
type Preinit struct {
	Init string `toml:"init" json:"init"`
	// Mounts are the guest paths, of [[assets]] or [[mounts]], mounted while
	// the init export runs. Default: every [[assets]] entry, no host mount.
	Mounts []string `toml:"mounts" json:"mounts,omitempty"`
}

// Test is [test].
type Test struct {
	Args []string          `toml:"args" json:"args,omitempty"`
	Env  map[string]string `toml:"env" json:"env,omitempty"`
	// Cwd is the tests' working directory, over [run] cwd.
	Cwd string `toml:"cwd" json:"cwd,omitempty"`
}

// ManifestError is a manifest that does not parse or validate. It wraps
// ErrInvalidManifest.
type ManifestError struct {
	File string // as given to ParseManifest
	Line int    // 1-based; 0 if unknown
	Key  string // dotted key, e.g. "package.kind" or "assets[1].to"
	Msg  string // what is wrong and what is allowed
}

func (e *ManifestError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalidManifest.
func (e *ManifestError) Unwrap() error { return ErrInvalidManifest }

// allowedKeys lists the keys of each table, for unknown-key errors.
var allowedKeys = map[string][]string{
	"":             {"package", "run", "assets", "dependencies", "mounts", "preinit", "test"},
	"package":      {"name", "version", "kind", "description", "authors", "license", "homepage", "source"},
	"run":          {"wasm", "runtime", "args", "env", "cwd"},
	"assets":       {"from", "to"},
	"dependencies": {"version", "to"},
	"mounts":       {"to", "access", "required"},
	"preinit":      {"init", "mounts"},
	"test":         {"args", "env", "cwd"},
}

// MaxManifestSize bounds wrun.toml.
const MaxManifestSize = 1 << 20

var (
	// typeErrRE matches BurntSushi/toml's decoding (type) errors.
	typeErrRE = lazyRegexp(`^toml: (?:line (\d+) )?\(last key "(.*?)"\): (.*)$`)
)

// ParseManifest parses and validates wrun.toml. file names the input in
// errors. Errors are *ManifestError.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, &ManifestError{File: file, Msg: fmt.Sprintf("%d bytes is larger than the %d-byte limit", len(data), MaxManifestSize)}
	}
	loc := newLocator(string(data))
	var m Manifest
	md, err := toml.Decode(string(data), &m)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.Usage != "" {
				msg += "; " + strings.TrimSpace(pe.Usage)
			}
			return nil, &ManifestError{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}
		}
		if m := typeErrRE().FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			msg := strings.Replace(m[3], "incompatible types: TOML value has type ", "wrong type: the value is a TOML ", 1)
			msg = strings.Replace(msg, "; destination has type ", ", want ", 1)
			return nil, &ManifestError{File: file, Line: line, Key: m[2], Msg: msg}
		}
		return nil, &ManifestError{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		table, leaf := tableOf(k)
		msg := fmt.Sprintf("unknown key %q", leaf)
		if s := suggest(leaf, allowedKeys[table]); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		if keys := allowedKeys[table]; keys != nil {
			where := "[" + table + "]"
			if table == "" {
				where = "the top level"
			}
			msg += fmt.Sprintf("; %s allows: %s", where, strings.Join(keys, ", "))
		}
		return nil, &ManifestError{File: file, Line: loc.line(keyString(k)), Key: keyString(k), Msg: msg}
	}
	if err := m.validate(); err != nil {
		var me *ManifestError
		if errors.As(err, &me) {
			me.File = file
			me.Line = loc.line(me.Key)
		}
		return nil, err
	}
	return &m, nil
}

// tableOf maps a decoded key to its table in allowedKeys and its leaf name.
func tableOf(k toml.Key) (string, string) {
	leaf := k[len(k)-1]
	switch {
	case len(k) == 1:
		return "", leaf
	case k[0] == "dependencies" && len(k) == 3:
		return "dependencies", leaf
	case len(k) == 2:
		return k[0], leaf
	}
	return strings.Join(k[:len(k)-1], "."), leaf
}

func keyString(k toml.Key) string {
	parts := make([]string, len(k))
	for i, p := range k {
		if strings.ContainsAny(p, ".:\" ") || p == "" {
			p = fmt.Sprintf("%q", p)
		}
		parts[i] = p
	}
	return strings.Join(parts, ".")
}

// validate checks the manifest, one table after another, and fills the
// defaults (package.kind, mounts access). Errors are *ManifestError
// without File and Line (ParseManifest adds them).
func (m *Manifest) validate() error {
	if err := m.validatePackage(); err != nil {
		return err
	}
	if err := m.validateRun(); err != nil {
		return err
	}
	// Every guest path ([[assets]], [dependencies], [[mounts]]) is claimed
	// once.
	guest := guestPaths{}
	for _, step := range []func(guestPaths) error{m.validateAssets, m.validateDependencies, m.validateMounts, m.validatePreinit} {
		if err := step(guest); err != nil {
			return err
		}
	}
	if err := m.validateHTTP(); err != nil {
		return err
	}
	if t := m.Test; t != nil {
		if err := checkArgs("test.args", t.Args); err != nil {
			return err
		}
		if err := checkEnv("test.env", t.Env); err != nil {
			return err
		}
		if err := checkCwd("test.cwd", t.Cwd); err != nil {
			return err
		}
	}
	return nil
}

// badKey is a manifest error about key.
func badKey(key, format string, args ...any) error {
	return &ManifestError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// guestPaths maps each guest path claimed so far to the key claiming it.
type guestPaths map[string]string

// claim claims the guest path to for key, refusing a bad or taken path.
func (g guestPaths) claim(key, to string) error {
	if err := checkGuestPath(to); err != nil {
		return badKey(key, "%v", err)
	}
	if prev, ok := g[to]; ok {
		return badKey(key, "guest path %q is already used by %s", to, prev)
	}
	g[to] = key
	return nil
}

// validatePackage checks [package] and fills its kind.
func (m *Manifest) validatePackage() error {
	p := &m.Package
	if p.Name != "" && ValidateName(p.Name) != nil {
		return badKey("package.name", "%q is not a package name; %s", p.Name, nameRule)
	}
	if p.Version != "" {
		if _, err := semver.StrictNewVersion(p.Version); err != nil {
			return badKey("package.version", "%q is not a semantic version (e.g. 1.0.0): %v", p.Version, err)
		}
	}
	switch p.Kind {
	case "":
		p.Kind = KindComponent
		if m.Run.Wasm == "" && m.Run.Runtime == "" {
			p.Kind = KindAssets
		}
	case KindComponent, KindModule, KindAssets:
	default:
		return badKey("package.kind", "%q is not a package kind; allowed: component, module, assets", p.Kind)
	}
	for i, a := range p.Authors {
		if strings.TrimSpace(a) == "" {
			return badKey(fmt.Sprintf("package.authors[%d]", i), "empty author")
		}
	}
	return nil
}

// validateRun checks [run] against the package kind.
func (m *Manifest) validateRun() error {
	p, r := &m.Package, &m.Run
	switch {
	case r.Wasm != "" && r.Runtime != "":
		return badKey("run.runtime", "set either run.wasm (this package's own wasm) or run.runtime (another package's), not both")
	case p.Kind == KindAssets && (r.Wasm != "" || r.Runtime != ""):
		return badKey("run.wasm", "an assets package has nothing to run; remove [run] or set package.kind")
	case p.Kind == KindModule && r.Wasm == "":
		return badKey("run.wasm", "a module package needs its wasm: set run.wasm (by convention \"module.wasm\")")
	case p.Kind == KindComponent && r.Wasm == "" && r.Runtime == "":
		return badKey("run.wasm", "a component package needs run.wasm (by convention \"component.wasm\") or run.runtime (e.g. \"python:cpython@^3.11\")")
	}
	if r.Wasm != "" {
		if err := ValidatePath(r.Wasm); err != nil {
			return badKey("run.wasm", "%v; give a relative path inside the package", err)
		}
		if reserved(r.Wasm) {
			return badKey("run.wasm", "%q is under the reserved directory %s/", r.Wasm, ReservedDir)
		}
	}
	if r.Runtime != "" {
		if _, _, err := ParseRuntime(r.Runtime); err != nil {
			return badKey("run.runtime", "%v", err)
		}
	}
	if err := checkArgs("run.args", r.Args); err != nil {
		return err
	}
	if err := checkCwd("run.cwd", r.Cwd); err != nil {
		return err
	}
	return checkEnv("run.env", r.Env)
}

// checkCwd checks a working directory: "" or a clean absolute guest path.
func checkCwd(key, dir string) error {
	if dir == "" || dir == "/" {
		return nil
	}
	if err := checkGuestPath(dir); err != nil {
		return badKey(key, "%v; the working directory is a guest path, where an [[assets]] entry, a dependency or a mount is", err)
	}
	return nil
}

// validateAssets checks [[assets]] and claims their guest paths.
func (m *Manifest) validateAssets(guest guestPaths) error {
	for i, a := range m.Assets {
		key := fmt.Sprintf("assets[%d]", i)
		if a.From == "" {
			return badKey(key+".from", "missing; give the package directory to mount (e.g. \"static\")")
		}
		if err := ValidatePath(a.From); err != nil {
			return badKey(key+".from", "%v; give a relative directory inside the package", err)
		}
		if reserved(a.From) {
			return badKey(key+".from", "%q is under the reserved directory %s/", a.From, ReservedDir)
		}
		if a.To == "/" && m.Package.Kind == KindAssets {
			// An assets package's paths are relative to where its
			// dependent mounts it: "/" is that mount point itself.
			continue
		}
		if err := guest.claim(key+".to", a.To); err != nil {
			return err
		}
	}
	return nil
}

// validateDependencies checks [dependencies], in name order, and claims
// their guest paths.
func (m *Manifest) validateDependencies(guest guestPaths) error {
	names := make([]string, 0, len(m.Dependencies))
	for n := range m.Dependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := m.Dependencies[n]
		key := "dependencies." + keyString(toml.Key{n})
		if ValidateName(n) != nil {
			return badKey(key, "%q is not a package name; %s", n, nameRule)
		}
		if d.Version == "" {
			return badKey(key+".version", "missing; give a version or range (e.g. \"^1.0\")")
		}
		if _, err := semver.NewConstraint(d.Version); err != nil {
			return badKey(key+".version", "%q is not a version range (e.g. \"1.2.3\", \"^1.2\", \"~1.2.3\", \">=1.0, <2\"): %v", d.Version, err)
		}
		if prev, ok := guest[d.To]; ok && strings.HasPrefix(prev, "dependencies.") {
			// Dependencies may share a guest directory: they are stacked
			// as one union there (two providing the same file is an error
			// when the package is loaded).
			continue
		}
		if err := guest.claim(key+".to", d.To); err != nil {
			return err
		}
	}
	return nil
}

// validateMounts checks [[mounts]], claims their guest paths and fills
// the default access, "ro".
func (m *Manifest) validateMounts(guest guestPaths) error {
	for i, mt := range m.Mounts {
		key := fmt.Sprintf("mounts[%d]", i)
		if err := guest.claim(key+".to", mt.To); err != nil {
			return err
		}
		switch mt.Access {
		case "":
			m.Mounts[i].Access = "ro"
		case "ro", "rw":
		default:
			return badKey(key+".access", "%q is not an access mode; allowed: ro, rw", mt.Access)
		}
	}
	return nil
}

// validatePreinit checks [preinit]: its mounts are guest paths of
// [[assets]] or [[mounts]] entries.
func (m *Manifest) validatePreinit(guest guestPaths) error {
	pi := m.Preinit
	if pi == nil {
		return nil
	}
	if pi.Init == "" {
		return badKey("preinit.init", "missing; give the export to run at build time (e.g. \"wizer.initialize\")")
	}
	for i, to := range pi.Mounts {
		if _, ok := guest[to]; !ok || strings.HasPrefix(guest[to], "dependencies") {
			return badKey(fmt.Sprintf("preinit.mounts[%d]", i), "%q is not the guest path of an [[assets]] or [[mounts]] entry", to)
		}
	}
	return nil
}

// checkArgs refuses an argument holding a NUL byte: a guest's argv is
// NUL-terminated C strings, so it could never be passed.
func checkArgs(key string, args []string) error {
	for i, a := range args {
		if strings.ContainsRune(a, 0) {
			return &ManifestError{Key: fmt.Sprintf("%s[%d]", key, i), Msg: fmt.Sprintf("%q contains a NUL byte, which no program argument can hold; remove it", a)}
		}
	}
	return nil
}

func checkEnv(key string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if kv.CheckName(k) != nil {
			return &ManifestError{Key: key, Msg: fmt.Sprintf("%q is not an environment variable name (non-empty, no '=' or NUL)", k)}
		}
		if kv.Check(k, env[k]) != nil {
			return &ManifestError{Key: key + "." + keyString(toml.Key{k}), Msg: fmt.Sprintf("the value %q contains a NUL byte, which no environment variable can hold; remove it", env[k])}
		}
		if _, err := expandEnv(env[k], nil, len(env[k])); err != nil {
			return &ManifestError{Key: key + "." + keyString(toml.Key{k}), Msg: err.Error()}
		}
	}
	return nil
}

func checkGuestPath(to string) error {
	if to == "" {
		return errors.New("missing; give an absolute guest path (e.g. \"/static\")")
	}
	if !strings.HasPrefix(to, "/") || path.Clean(to) != to {
		return fmt.Errorf("%q is not a clean absolute guest path (e.g. \"/static\")", to)
	}
	if to == "/" {
		return errors.New(`"/" cannot be mounted over; give a directory (e.g. "/static")`)
	}
	return nil
}

// Label names the package in messages: "name@version", "name", or
// fallback (a path, say) when the manifest gives no name, so a message
// never names a package "@".
func (m *Manifest) Label(fallback string) string {
	switch p := m.Package; {
	case p.Name != "" && p.Version != "":
		return p.Name + "@" + p.Version
	case p.Name != "":
		return p.Name
	}
	return fallback
}

// MissingMountError is a required [[mounts]] entry the user did not grant.
type MissingMountError struct {
	Package string // package name, may be empty
	Mount   Mount
}

func (e *MissingMountError) Error() string {
	who := "the package"
	if e.Package != "" {
		who = e.Package
	}
	suffix := ""
	if e.Mount.Access == "ro" {
		suffix = ":ro"
	}
	return fmt.Sprintf("%s requires a host directory at %s (%s): add --mount HOST_DIR:%s%s", who, e.Mount.To, e.Mount.Access, e.Mount.To, suffix)
}

// CheckMounts returns a *MissingMountError for the first required
// [[mounts]] entry whose guest path granted does not report as granted.
func (m *Manifest) CheckMounts(granted func(guestPath string) bool) error {
	for _, mt := range m.Mounts {
		if mt.Required && !granted(mt.To) {
			return &MissingMountError{Package: m.Package.Name, Mount: mt}
		}
	}
	return nil
}

// ParseRuntime splits a [run] runtime reference "namespace:name@range"
// (range optional) and checks both parts.
func ParseRuntime(ref string) (name, versionRange string, err error) {
	name, versionRange, _ = strings.Cut(ref, "@")
	if err := ValidateName(name); err != nil {
		return "", "", fmt.Errorf("%q is not a package reference; want namespace:name@range (e.g. python:cpython@^3.11): %w", ref, err)
	}
	if versionRange != "" {
		if _, err := semver.NewConstraint(versionRange); err != nil {
			return "", "", fmt.Errorf("%q: version range %q: %w", ref, versionRange, err)
		}
	}
	return name, versionRange, nil
}

// suggest returns the allowed key closest to k, if it is close.
func suggest(k string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := levenshtein(k, a); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ExpandEnv expands value, an environment value of [run] env or [test]
// env, against base, the environment the packages below set (the
// runtime's [run] env, for an app's [run] env; the run's environment, for
// [test] env): ${NAME} is base's value of NAME, "$$" is one "$". Nothing
// else is special: no $NAME, no ${NAME:-default}, and never the host's
// environment. A ${NAME} that base lacks or holds empty expands to
// nothing, and takes one ':' next to it along (the one before it, else the
// one after), so "/app/src:${PYTHONPATH}" is "/app/src" when PYTHONPATH is
// unset rather than a list with an empty entry (which Python and most
// shells read as the working directory). A value the manifest accepted
// always expands; see ExpandEnvMax for a bound on the result.
func ExpandEnv(value string, base map[string]string) string {
	out, _ := expandEnv(value, base, math.MaxInt)
	return out
}

// ExpandEnvMax is ExpandEnv, failing with ErrTooLarge instead when value
// expands to more than max bytes (it may name a long value many times).
func ExpandEnvMax(value string, base map[string]string, max int) (string, error) {
	return expandEnv(value, base, max)
}

// expandEnv is ExpandEnv, or the error of a value that uses "$" another
// way.
func expandEnv(value string, base map[string]string, max int) (string, error) {
	if !strings.Contains(value, "$") {
		return value, nil
	}
	var b []byte
	for i := 0; i < len(value); {
		c := value[i]
		if c != '$' {
			b = append(b, c)
			i++
			continue
		}
		rest := value[i+1:]
		if strings.HasPrefix(rest, "$") {
			b = append(b, '$')
			i += 2
			continue
		}
		name, ok := "", false
		if strings.HasPrefix(rest, "{") {
			if end := strings.IndexByte(rest, '}'); end > 0 {
				name = rest[1:end]
				ok = kv.CheckName(name) == nil && envNameRE().MatchString(name)
			}
		}
		if !ok {
			return "", fmt.Errorf("%q: a '$' at byte %d starts neither ${NAME} (NAME letters, digits and '_', not starting with a digit) nor \"$$\" (a literal '$'); no other shell syntax is expanded", value, i)
		}
		i += len(name) + 3
		v := base[name]
		if v == "" {
			switch {
			case len(b) > 0 && b[len(b)-1] == ':':
				b = b[:len(b)-1]
			case i < len(value) && value[i] == ':':
				i++
			}
		}
		if len(b)+len(v) > max {
			return "", fmt.Errorf("%w: %q expands to more than %d bytes", ErrTooLarge, value[:min(len(value), 100)], max)
		}
		b = append(b, v...)
	}
	return string(b), nil
}

var envNameRE = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)
