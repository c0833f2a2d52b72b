package registryclient

import (
	"fmt"
	"os"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/wrun-dev/wrun/bundle"
	"oras.land/oras-go/v2/registry"
)

// Kind says what a reference string names.
type Kind int

const (
	// KindPackage is a package reference: namespace:name[@version].
	KindPackage Kind = iota + 1
	// KindOCI is a plain OCI reference: host[:port]/repo:tag or
	// host[:port]/repo@sha256:….
	KindOCI
	// KindPath is a local path: a .wasm file, a package directory or a
	// bundle. Reading it is the caller's concern.
	KindPath
)

func (k Kind) String() string {
	switch k {
	case KindPackage:
		return "package"
	case KindOCI:
		return "oci"
	case KindPath:
		return "path"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Ref is a parsed reference. Which fields are set depends on Kind.
type Ref struct {
	Kind Kind
	// Package and Version are set for KindPackage.
	Package Name
	Version VersionSpec
	// OCI is set for KindOCI.
	OCI registry.Reference
	// Path is set for KindPath, as written.
	Path string
}

// String returns the reference as it would be written.
func (r Ref) String() string {
	switch r.Kind {
	case KindPackage:
		if r.Version.IsAny() {
			return r.Package.String()
		}
		return r.Package.String() + "@" + r.Version.String()
	case KindOCI:
		return r.OCI.String()
	case KindPath:
		return r.Path
	}
	return ""
}

// Name is a package name, namespace:name, as in wasm-pkg-tools.
type Name struct {
	Namespace string
	Name      string
}

func (n Name) String() string { return n.Namespace + ":" + n.Name }

// ParseName parses "namespace:name", checked by bundle.ValidateName, the
// one package-name rule the manifest check uses too.
func ParseName(s string) (Name, error) {
	if err := bundle.ValidateName(s); err != nil {
		return Name{}, fmt.Errorf("%w: %w", ErrInvalidRef, err)
	}
	ns, name, _ := strings.Cut(s, ":")
	return Name{Namespace: ns, Name: name}, nil
}

// VersionSpec is an exact version, a range, or (zero value) any version,
// meaning the newest that is not a prerelease.
type VersionSpec struct {
	raw   string
	exact *semver.Version
	c     *semver.Constraints
}

// ParseVersionSpec parses "1.2.3" (exact), "^1.2", "~1.2.3", ">=1.0, <2"
// (ranges, Masterminds/semver syntax) or "" / "*" (any).
func ParseVersionSpec(s string) (VersionSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return VersionSpec{}, nil
	}
	if v, err := semver.StrictNewVersion(s); err == nil {
		return VersionSpec{raw: s, exact: v}, nil
	}
	c, err := semver.NewConstraint(s)
	if err != nil {
		return VersionSpec{}, fmt.Errorf("%w: version %q: want an exact version (1.2.3) or a range (^1.2, ~1.2.3, >=1.0, <2): %w", ErrInvalidRef, s, err)
	}
	return VersionSpec{raw: s, c: c}, nil
}

// ExactVersion returns a spec for exactly v.
func ExactVersion(v *semver.Version) VersionSpec {
	return VersionSpec{raw: v.Original(), exact: v}
}

// String returns the spec as written; "" for any.
func (v VersionSpec) String() string { return v.raw }

// IsAny reports whether the spec is empty (newest non-prerelease).
func (v VersionSpec) IsAny() bool { return v.exact == nil && v.c == nil }

// Exact returns the version when the spec names exactly one.
func (v VersionSpec) Exact() (*semver.Version, bool) { return v.exact, v.exact != nil }

// Check reports whether ver satisfies the spec. Any matches every version
// that is not a prerelease; a range matches prereleases only when it names
// one (Masterminds/semver rules).
func (v VersionSpec) Check(ver *semver.Version) bool {
	switch {
	case v.exact != nil:
		return v.exact.Equal(ver)
	case v.c != nil:
		return v.c.Check(ver)
	default:
		return ver.Prerelease() == ""
	}
}

// ParseRef classifies and parses a reference string:
//
//   - a path: ".", "..", or starting with "./", "../", "/" or "~", or
//     anything without ':' that contains '/' or ends in .wasm, .wrun (a
//     bundle) or .tar, or a bare word without ':' naming an existing
//     file or directory (KindPath);
//   - namespace:name[@version] (KindPackage);
//   - host[:port]/repository:tag or host[:port]/repository@sha256:…
//     (KindOCI; the tag or digest is required).
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("%w: empty reference: want namespace:name@version, host/repo:tag or a path", ErrInvalidRef)
	}
	if isPath(s) {
		return Ref{Kind: KindPath, Path: s}, nil
	}
	if !strings.Contains(s, "/") {
		nameStr, ver, hasVer := strings.Cut(s, "@")
		name, err := ParseName(nameStr)
		if err != nil {
			if _, serr := os.Stat(s); serr == nil && !strings.Contains(s, ":") {
				// A bare word is never a package name: "app" is ./app.
				return Ref{Kind: KindPath, Path: s}, nil
			}
			return Ref{}, fmt.Errorf("%w: %q is not namespace:name@version, host/repo:tag nor a path", ErrInvalidRef, s)
		}
		if hasVer && ver == "" {
			return Ref{}, fmt.Errorf("%w: %q: empty version after @ (omit @ for the newest release)", ErrInvalidRef, s)
		}
		spec, err := ParseVersionSpec(ver)
		if err != nil {
			return Ref{}, fmt.Errorf("%q: %w", s, err)
		}
		return Ref{Kind: KindPackage, Package: name, Version: spec}, nil
	}
	r, err := registry.ParseReference(s)
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %q is not a valid OCI reference host[:port]/repo:tag: %w", ErrInvalidRef, s, err)
	}
	if r.Reference == "" {
		return Ref{}, fmt.Errorf("%w: OCI reference %q has no tag or digest: add :TAG or @sha256:DIGEST", ErrInvalidRef, s)
	}
	return Ref{Kind: KindOCI, OCI: r}, nil
}

func isPath(s string) bool {
	if s == "." || s == ".." || s == "~" {
		return true
	}
	for _, p := range []string{"./", "../", "/", "~/", `.\`, `..\`} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	if strings.Contains(s, ":") {
		// A Windows drive letter is a path; anything else with ':' is a
		// package or OCI reference.
		return len(s) > 2 && s[1] == ':' && (s[2] == '\\' || s[2] == '/')
	}
	return strings.Contains(s, "/") || strings.Contains(s, `\`) ||
		strings.HasSuffix(s, ".wasm") || strings.HasSuffix(s, ".wrun") || strings.HasSuffix(s, ".tar")
}

// newestMatching returns the highest version among tags satisfying spec.
func newestMatching(tags []string, spec VersionSpec) (*semver.Version, bool) {
	var best *semver.Version
	for _, t := range tags {
		v, err := semver.StrictNewVersion(t)
		if err != nil || !spec.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best = v
		}
	}
	return best, best != nil
}
