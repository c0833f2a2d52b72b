package pywheel

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SitePackages is the guest directory every Python library mounts at.
const SitePackages = "/usr/local/lib/python3.11/site-packages"

// Input is one wheel to import and the extras asked for it.
type Input struct {
	Path   string
	Extras []string // normalized
}

// ParseInput parses a command-line wheel argument, WHEEL or
// WHEEL[extra1,extra2] (pip's syntax; quote it in a shell).
func ParseInput(arg string) (Input, error) {
	p, rest, ok := strings.Cut(arg, "[")
	if !ok {
		return Input{Path: arg}, nil
	}
	list, ok := strings.CutSuffix(rest, "]")
	if !ok || strings.ContainsAny(list, "[]") {
		return Input{}, fmt.Errorf("%q: want WHEEL or WHEEL[extra,...]", printable(arg))
	}
	in := Input{Path: p}
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			in.Extras = append(in.Extras, NormalizeName(e))
		}
	}
	return in, nil
}

// Dependency is one [dependencies] entry of a library package.
type Dependency struct {
	Name  string // pypi:<name>
	Range string // Masterminds/semver range, "*" for any
}

// Package is a wheel planned as a wrun library package.
type Package struct {
	Wheel    *Wheel
	Name     string // pypi:<normalized-name>
	Version  string // semver (Semver)
	Deps     []Dependency
	Warnings []string
}

// DirName is the package directory's name: pypi-six-1.16.0.
func (p *Package) DirName() string {
	return strings.ReplaceAll(p.Name, ":", "-") + "-" + p.Version
}

// Plan maps a wheel to a package: its name, its semver version and its
// Requires-Dist, whose markers are evaluated in env (extra set to "" and
// then to each of extras; a requirement is kept when any is true).
func Plan(w *Wheel, extras []string, env Env) (*Package, error) {
	fail := func(err error) (*Package, error) { return nil, fmt.Errorf("wheel %s: %w", printable(w.File), err) }
	p := &Package{Wheel: w}
	var err error
	if p.Name, err = PackageName(w.Name); err != nil {
		return fail(err)
	}
	if p.Version, err = Semver(w.Version); err != nil {
		return fail(err)
	}
	if provided := w.Metadata["provides-extra"]; len(provided) > 0 {
		norm := make([]string, len(provided))
		for i, e := range provided {
			norm[i] = NormalizeName(e)
		}
		for _, e := range extras {
			if !slices.Contains(norm, e) {
				return fail(fmt.Errorf("%s has no extra %q (it provides: %s)", printable(w.Name), e, printable(strings.Join(norm, ", "))))
			}
		}
	}
	// A requirement on the distribution itself with extras (pytest[testing]
	// needing pytest[dev]) asks for those extras too: repeat until no new
	// extra is asked for.
	extras = slices.Clone(extras)
	var specs map[string][]Specifier
	var order []string
	for done := false; !done; {
		done = true
		p.Warnings = nil
		specs, order = map[string][]Specifier{}, nil
		envs := []Env{env.WithExtra("")}
		for _, e := range extras {
			envs = append(envs, env.WithExtra(e))
		}
		for _, line := range w.Metadata["requires-dist"] {
			r, err := ParseRequirement(line)
			if err != nil {
				return fail(err)
			}
			keep := r.Marker == ""
			for _, e := range envs {
				if keep {
					break
				}
				if keep, err = EvalMarker(r.Marker, e); err != nil {
					return fail(fmt.Errorf("Requires-Dist %q: %w", printable(line), err))
				}
			}
			if !keep {
				continue
			}
			name, err := PackageName(r.Name)
			if err != nil {
				return fail(fmt.Errorf("Requires-Dist %q: %w", printable(line), err))
			}
			if name == p.Name {
				for _, e := range r.Extras {
					if !slices.Contains(extras, e) {
						extras, done = append(extras, e), false
					}
				}
				continue
			}
			if len(r.Extras) > 0 {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s depends on %s[%s]: the extras of a dependency are not carried; import its wheel as WHEEL[%s]",
					printable(w.Name), printable(r.Name), printable(strings.Join(r.Extras, ",")), printable(strings.Join(r.Extras, ","))))
			}
			sp, _ := ParseSpecifiers(r.Specifier)
			if _, ok := specs[name]; !ok {
				order = append(order, name)
				specs[name] = []Specifier{}
			}
			specs[name] = append(specs[name], sp...)
		}
	}
	slices.Sort(order)
	for _, name := range order {
		rng, err := Range(specs[name])
		if err != nil {
			return fail(fmt.Errorf("dependency %s: %w", name, err))
		}
		p.Deps = append(p.Deps, Dependency{Name: name, Range: rng})
	}
	if len(w.Dropped) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: left out %d file(s) a library package cannot install (.data scripts, headers or data): %s",
			printable(w.File), len(w.Dropped), printable(strings.Join(w.Dropped, ", "))))
	}
	if w.Version.Post || len(w.Version.release()) == 4 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s %s is published as the semver pre-release %s: a range matches it only when it names a pre-release, pin it exactly (\"=%s\")",
			printable(w.Name), w.Version, p.Version, p.Version))
	}
	return p, nil
}

// Compiler byte-compiles every .py under dir, the new site-packages, into
// __pycache__ as CPython 3.11 on wasm32-wasi does (unchecked-hash .pyc, with
// the file names of SitePackages).
type Compiler func(ctx context.Context, dir string) error

// Write writes the package into dir, which must not exist: wrun.toml and
// site-packages/ with the wheel's files, then compile (when not nil), then
// a RECORD regenerated over everything in site-packages, .pyc included.
func (p *Package) Write(ctx context.Context, dir string, compile Compiler) error {
	site := filepath.Join(dir, "site-packages")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range p.Wheel.Files {
			if !yield(n) {
				return
			}
		}
	})
	for _, n := range names {
		dst := filepath.Join(site, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, p.Wheel.Files[n], 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "wrun.toml"), p.manifest(), 0o644); err != nil {
		return err
	}
	if compile != nil {
		if err := compile(ctx, site); err != nil {
			return fmt.Errorf("compiling %s: %w", p.Name, err)
		}
	}
	return writeRecord(site, p.Wheel.DistInfo)
}

// writeRecord rewrites RECORD to list every installed file with its hash.
func writeRecord(site, distInfo string) error {
	rec := distInfo + "/RECORD"
	var lines []string
	err := filepath.WalkDir(site, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(site, path)
		rel = filepath.ToSlash(rel)
		if rel == rec {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%s,%s,%d", csvField(rel), RecordHash(b), len(b)))
		return nil
	})
	if err != nil {
		return err
	}
	lines = append(lines, csvField(rec)+",,")
	slices.Sort(lines)
	return os.WriteFile(filepath.Join(site, filepath.FromSlash(rec)), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// manifest is the package's wrun.toml.
func (p *Package) manifest() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "[package]\nname = %s\nversion = %s\nkind = \"assets\"\n", tomlString(p.Name), tomlString(p.Version))
	if s := p.Wheel.Metadata.Get("Summary"); s != "" {
		fmt.Fprintf(&b, "description = %s\n", tomlString(s))
	}
	if s := p.Wheel.Metadata.Get("License-Expression"); s != "" {
		fmt.Fprintf(&b, "license = %s\n", tomlString(s))
	}
	fmt.Fprintf(&b, "source = %s\n", tomlString("wheel "+p.Wheel.File+" (PEP 440 version "+p.Wheel.Version.String()+")"))
	b.WriteString("\n[[assets]]\nfrom = \"site-packages\"\nto = \"/\"\n")
	if len(p.Deps) > 0 {
		b.WriteString("\n[dependencies]\n")
		for _, d := range p.Deps {
			fmt.Fprintf(&b, "%s = { version = %s, to = %s }\n", tomlString(d.Name), tomlString(d.Range), tomlString(SitePackages))
		}
	}
	return []byte(b.String())
}

// tomlString quotes s as a TOML basic string, control characters escaped.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ErrExists is wrapped when a package directory is already there.
var ErrExists = errors.New("already exists")

// Import reads, checks and plans every wheel, then writes the packages into
// outDir (created if missing), one directory each (Package.DirName). All of
// them are written into a temporary directory inside outDir and renamed
// into place only when every one succeeded: on any error nothing is left.
// env is the marker environment (WASI() when nil).
func Import(ctx context.Context, inputs []Input, outDir string, env Env, compile Compiler) ([]*Package, error) {
	if env == nil {
		env = WASI()
	}
	var pkgs []*Package
	seen := map[string]string{}
	for _, in := range inputs {
		w, err := Read(in.Path)
		if err != nil {
			return nil, err
		}
		p, err := Plan(w, in.Extras, env)
		if err != nil {
			return nil, err
		}
		if other, dup := seen[p.Name]; dup {
			return nil, fmt.Errorf("wheels %s and %s are both distribution %s: import one", printable(other), printable(w.File), p.Name)
		}
		seen[p.Name] = w.File
		if _, err := os.Lstat(filepath.Join(outDir, p.DirName())); err == nil {
			return nil, fmt.Errorf("wheel %s: %s: %w; remove it or choose another output directory (-o)", printable(w.File), filepath.Join(outDir, p.DirName()), ErrExists)
		}
		pkgs = append(pkgs, p)
	}
	created := false
	if _, err := os.Stat(outDir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return nil, err
		}
		created = true
	}
	tmp, err := os.MkdirTemp(outDir, ".wrun-python-import-")
	if err != nil {
		return nil, err
	}
	cleanup := func() {
		os.RemoveAll(tmp)
		if created {
			os.Remove(outDir)
		}
	}
	for _, p := range pkgs {
		if err := p.Write(ctx, filepath.Join(tmp, p.DirName()), compile); err != nil {
			cleanup()
			return nil, fmt.Errorf("wheel %s: %w", printable(p.Wheel.File), err)
		}
	}
	for i, p := range pkgs {
		if err := os.Rename(filepath.Join(tmp, p.DirName()), filepath.Join(outDir, p.DirName())); err != nil {
			for _, q := range pkgs[:i] { // undo: nothing half-written
				os.Rename(filepath.Join(outDir, q.DirName()), filepath.Join(tmp, q.DirName()))
			}
			cleanup()
			return nil, fmt.Errorf("wheel %s: %w", printable(p.Wheel.File), err)
		}
	}
	os.RemoveAll(tmp)
	return pkgs, nil
}
