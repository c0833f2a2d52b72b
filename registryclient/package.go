package registryclient

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wrun-dev/wrun/bundle"
)

// LockName is the lock file a directory project keeps beside wrun.toml. It
// is not part of the package's content.
const LockName = "wrun.lock"

// Package is a package whose files are readable on the local disk: a
// directory project before Publish, or a package Pull extracted into the
// cache (read-only; never modify it).
type Package struct {
	// Dir holds the package's files at their relative paths.
	Dir string
	// Manifest is the parsed wrun.toml. For a plain Wasm artifact pushed by
	// another tool, wrun synthesizes it (and writes it to Dir).
	Manifest *bundle.Manifest
	// Digest is the content digest of the files, verified.
	Digest bundle.Digest
	// Files are the package's files, sorted by path.
	Files []bundle.Entry
	// Signed reports whether a release signature was verified on pull.
	Signed bool

	// Ref is the OCI reference the package was pulled from ("" for a
	// directory project); Descriptor is its manifest's descriptor.
	Ref        string
	Descriptor ocispec.Descriptor
}

// Name returns the package name.
func (p *Package) Name() string { return p.Manifest.Package.Name }

// Version returns the package version.
func (p *Package) Version() string { return p.Manifest.Package.Version }

// Wasm returns the path on disk of the package's runnable wasm, or "" when
// it has none (a runtime-based or assets package).
func (p *Package) Wasm() string {
	if p.Manifest.Run.Wasm == "" {
		return ""
	}
	return filepath.Join(p.Dir, filepath.FromSlash(p.Manifest.Run.Wasm))
}

// OpenDir reads a package directory: wrun.toml, every regular file (except
// wrun.lock and the reserved .wrun/ directory) and their content digest.
// Symlinks and other special files are refused.
func OpenDir(dir string) (*Package, error) {
	mp := filepath.Join(dir, bundle.ManifestName)
	data, err := os.ReadFile(mp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: not a package directory: no %s (create one, see the README)", dir, bundle.ManifestName)
		}
		return nil, err
	}
	m, err := bundle.ParseManifest(mp, data)
	if err != nil {
		return nil, err
	}
	files, err := walkFiles(dir)
	if err != nil {
		return nil, err
	}
	d, err := bundle.ContentDigest(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	p := &Package{Dir: dir, Manifest: m, Digest: d, Files: files}
	if err := p.checkFiles(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkFiles checks that the files the manifest names exist.
func (p *Package) checkFiles() error {
	have := map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range p.Files {
		have[f.Path] = true
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	if w := p.Manifest.Run.Wasm; w != "" && !have[w] {
		return fmt.Errorf("%s: %w: [run] wasm %q", p.Dir, bundle.ErrMissingFile, w)
	}
	for _, a := range p.Manifest.Assets {
		if from := strings.Trim(a.From, "/"); from != "" && from != "." && !dirs[from] {
			return fmt.Errorf("%s: %w: [[assets]] from %q is not a directory with files", p.Dir, bundle.ErrMissingFile, a.From)
		}
	}
	return nil
}

func walkFiles(dir string) ([]bundle.Entry, error) {
	var files []bundle.Entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			if rel == bundle.ReservedDir || rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == LockName {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: %q is not a regular file (symlinks and special files cannot be packaged)", dir, rel)
		}
		if err := bundle.ValidatePath(rel); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		sum, n, err := bundle.SumReader(f)
		f.Close()
		if err != nil {
			return err
		}
		files = append(files, bundle.Entry{Path: rel, Size: n, Sum: sum})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// packageVersion parses a manifest's version.
func packageVersion(m *bundle.Manifest) (*semver.Version, error) {
	v, err := semver.StrictNewVersion(m.Package.Version)
	if err != nil {
		return nil, fmt.Errorf("package %s: version %q is not semver (want e.g. 1.2.3): %v", m.Package.Name, m.Package.Version, err)
	}
	return v, nil
}
