package registryclient

import (
	"fmt"
	"path/filepath"

	"github.com/Masterminds/semver/v3"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wrun-dev/wrun/bundle"
)

// LockName is the lock file a directory project keeps beside wrun.toml. It
// is not part of the package's content.
const LockName = "wrun.lock"

// Package is a resolved package: a bundle.Package (manifest, files,
// content digest, signature; read its files with Open or FS; Dir gives the
// directory holding them, the cache entry of a pulled package or the
// project directory of a local one) and where it came from. Packages Pull fetched are extracted read-only in the cache and
// were verified (content digest, and signature against the trusted keys)
// on this pull.
type Package struct {
	*bundle.Package
	// Ref is the OCI reference it was pulled from ("" for a local package);
	// Descriptor is its OCI manifest's descriptor.
	Ref        string
	Descriptor ocispec.Descriptor
	// Verification says whether it was signed and the signature verified.
	Verification bundle.Verification
}

// Label names the package in messages: name@version, else the reference it
// came from, else its directory; never an empty name or a bare "@".
func (p *Package) Label() string {
	fallback := p.Ref
	if fallback == "" {
		if dir, ok := p.Dir(); ok {
			fallback = dir
		} else {
			fallback = "the package"
		}
	}
	return p.Manifest.Label(fallback)
}

// Wasm returns the host path of the package's [run] wasm, or "" when it
// has none (a runtime-based or assets package) or is not on disk.
func (p *Package) Wasm() string {
	dir, ok := p.Dir()
	if p.Manifest.Run.Wasm == "" || !ok {
		return ""
	}
	return filepath.Join(dir, filepath.FromSlash(p.Manifest.Run.Wasm))
}

// packageVersion parses a manifest's version.
func packageVersion(m *bundle.Manifest) (*semver.Version, error) {
	v, err := semver.StrictNewVersion(m.Package.Version)
	if err != nil {
		return nil, fmt.Errorf("package %s: version %q is not semver (want e.g. 1.2.3): %w", m.Package.Name, m.Package.Version, err)
	}
	return v, nil
}
