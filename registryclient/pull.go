package registryclient

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/printable"
)

// An extracted package is one directory per manifest digest, and only its
// pkg/ subdirectory comes from the artifact; wrun's own state about it sits
// beside that, where no layer can write:
//
//	packages/HEX/pkg/           the package's files, extracted from its layers
//	packages/HEX/pull.json      the pull record (pullRecord)
//	packages/HEX/verified.json  the file index wrun hashed (loadVerified)
//
// A layer whose path is under .wrun/ (bundle.ReservedDir) is refused
// outright: an artifact never names wrun's state, not even the bundle's.
const (
	pkgSubdir         = "pkg"
	pullRecordName    = "pull.json"
	verifiedIndexName = "verified.json"
)

// pullRecord says where an extracted package came from.
type pullRecord struct {
	Ref        string             `json:"ref"`
	Descriptor ocispec.Descriptor `json:"descriptor"`
}

// reservedPath reports whether a package path lies under .wrun/ (compared
// without case, as a case-insensitive file system would).
func reservedPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.EqualFold(first, bundle.ReservedDir)
}

// errReserved is the refusal of a layer or tar entry under .wrun/.
func errReserved(what, p string) error {
	return fmt.Errorf("%w: %s has path %q, under the reserved %s/ directory that only wrun writes; refusing the artifact (its registry or publisher is broken or hostile)", ErrInvalidArtifact, what, p, bundle.ReservedDir)
}

// fetchPackage makes one package version readable on disk: it resolves
// repo:tag (from the ref index when cached), copies the artifact into the
// blob cache, verifies it and extracts it once per manifest digest.
// n and version name a plain artifact that carries no wrun.toml; with
// strict, the package must be named n, or it is refused and not cached.
func (c *Client) fetchPackage(ctx context.Context, t Target, repo, tag string, n Name, version string, strict bool) (*Package, error) {
	ref := t.Host + "/" + repo + ":" + tag
	if t.Host == "" {
		ref = t.Layout + ":" + repo + ":" + tag
	}
	if strings.HasPrefix(tag, "sha256:") {
		ref = strings.Replace(ref, ":"+tag, "@"+tag, 1)
	}
	desc, err := c.resolveTag(ctx, t, repo, tag)
	if err != nil {
		if isNotFound(err) && n.Name != "" {
			vs, lerr := c.versions(ctx, n)
			if lerr == nil {
				return nil, notFound(n, tagVersion(tag), t, vs, c.opts.Offline)
			}
		}
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s: %w", ErrNotFound, ref, err)
		}
		return nil, fmt.Errorf("resolving %s: %w", ref, netError(err))
	}
	checkName := func(p *Package) error {
		if strict && p.Name() != n.String() {
			p.Close()
			return fmt.Errorf("%w: %s holds package %q, not %s; refusing it", ErrInvalidArtifact, ref, p.Name(), n)
		}
		return nil
	}
	var m *ocispec.Manifest
	if ok, _ := c.cache.Exists(ctx, desc); ok {
		b, err := content.FetchAll(ctx, c.cache, desc)
		if err == nil {
			m = new(ocispec.Manifest)
			if err := json.Unmarshal(b, m); err != nil {
				return nil, fmt.Errorf("%w: manifest %s of %s: %w", ErrInvalidArtifact, desc.Digest, ref, err)
			}
		}
	}
	entry := filepath.Join(c.packagesDir(), desc.Digest.Encoded())
	if m != nil {
		p, err := c.loadExtracted(entry, m)
		if err == nil {
			if err := checkName(p); err != nil {
				return nil, err
			}
			return p, c.rememberTag(t, repo, tag, desc)
		}
		if errors.Is(err, ErrSignature) {
			return nil, err // the content is fine; policy refuses it
		}
	}
	if m == nil || !c.blobsCached(ctx, m) {
		s, err := c.store(t, repo)
		if err != nil {
			return nil, err
		}
		prog := c.newProgress(ref, m)
		m, _, err = c.cache.copyManifest(ctx, s, desc, prog)
		prog.done()
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, netError(err))
		}
	}
	if p, err := c.loadExtracted(entry, m); err == nil {
		if err := checkName(p); err != nil {
			return nil, err
		}
		return p, c.rememberTag(t, repo, tag, desc) // another process extracted it
	} else if _, serr := os.Stat(entry); serr == nil {
		os.RemoveAll(entry) // complete but fails verification now: extract again
	}
	if err := c.extract(ctx, entry, ref, desc, m, n, version); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	p, err := c.loadExtracted(entry, m)
	if err == nil {
		err = checkName(p)
	}
	if err != nil {
		// Verified for the first time: a package that fails leaves nothing.
		os.RemoveAll(entry)
		return nil, err
	}
	if err := c.rememberTag(t, repo, tag, desc); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Client) blobsCached(ctx context.Context, m *ocispec.Manifest) bool {
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if ok, _ := c.cache.Exists(ctx, d); !ok {
			return false
		}
	}
	return true
}

// loadExtracted loads an extracted package (entry is packages/HEX), which
// checks the content digest on every pull, and verifies its release
// signature from the manifest's annotations against the keys trusted now.
func (c *Client) loadExtracted(entry string, m *ocispec.Manifest) (*Package, error) {
	b, err := os.ReadFile(filepath.Join(entry, pullRecordName))
	if err != nil {
		return nil, err
	}
	var rec pullRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	p, err := c.loadVerified(filepath.Join(entry, pkgSubdir), filepath.Join(entry, verifiedIndexName), rec.Ref, m.Annotations)
	if err != nil {
		return nil, err
	}
	p.Descriptor = rec.Descriptor
	return p, nil
}

// loadVerified loads a package directory and checks it against the
// artifact's annotations: content digest, then signature.
//
// The first load hashes every file and, when the digest matches, keeps the
// file index at indexPath, outside dir (no artifact can write there); later
// loads read the index instead of hashing the files again (a cache entry is
// extracted from verified blobs and never modified), check that every file
// is a regular file of the indexed size, and reads through the package
// still verify what they read.
func (c *Client) loadVerified(dir, indexPath, ref string, ann map[string]string) (*Package, error) {
	want, announced := ann[AnnotationContentDigest]
	var bp *bundle.Package
	if b, err := os.ReadFile(indexPath); err == nil {
		var entries []bundle.Entry
		if json.Unmarshal(b, &entries) == nil && sizesMatch(dir, entries) {
			if p, err := bundle.LoadDirIndexed(dir, entries); err == nil && (!announced || want == p.Digest().String()) {
				bp = p
			}
		}
	}
	if bp == nil {
		p, err := bundle.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArtifact, ref, err)
		}
		if announced && want != p.Digest().String() {
			return nil, fmt.Errorf("%w: %s: files have content digest %s, the artifact announces %s; refusing to run it", ErrDigestMismatch, ref, p.Digest(), printable.String(want))
		}
		bp = p
		if b, err := json.Marshal(bp.Files()); err == nil {
			writeFileAtomic(indexPath, b) // best effort: without it the next load hashes again
		}
	}
	if rel, ok := ann[AnnotationRelease]; ok {
		sig, err := base64.StdEncoding.DecodeString(ann[AnnotationSignature])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: malformed signature annotation (%w): %w", ErrSignature, ref, ErrSignatureInvalid, err)
		}
		bp.Signature = &bundle.Signature{Release: []byte(rel), Sig: sig}
	}
	v, err := bundle.Verify(bp, bundle.TrustStore{Dir: c.dirs.Keys()})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSignature, ref, err)
	}
	return &Package{Package: bp, Ref: ref, Verification: v}, nil
}

// sizesMatch reports whether every file of an index is a regular file of
// its indexed size in dir (a cheap check before trusting the index).
func sizesMatch(dir string, entries []bundle.Entry) bool {
	for _, e := range entries {
		if bundle.ValidatePath(e.Path) != nil || reservedPath(e.Path) {
			return false
		}
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
			return false
		}
	}
	return true
}

// extract writes a cached artifact's files into entry/pkg and the pull
// record beside them: into a temp dir first, then renamed into place.
// Several processes may extract at once; the first rename wins. Every load
// verifies it (loadVerified); the caller removes it if its first load fails.
func (c *Client) extract(ctx context.Context, entry, ref string, desc ocispec.Descriptor, m *ocispec.Manifest, n Name, version string) error {
	if err := os.MkdirAll(c.packagesDir(), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.packagesDir(), fmt.Sprintf(".tmp-%d-", os.Getpid()))
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	files := filepath.Join(tmp, pkgSubdir)
	if err := os.Mkdir(files, 0o755); err != nil {
		return err
	}
	if err := c.extractFiles(ctx, files, ref, m, n, version); err != nil {
		return err
	}
	rec, err := json.Marshal(pullRecord{Ref: ref, Descriptor: ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}})
	if err != nil {
		return err
	}
	if err := createFile(filepath.Join(tmp, pullRecordName), rec); err != nil {
		return err
	}
	if err := os.Rename(tmp, entry); err != nil {
		if _, serr := os.Stat(filepath.Join(entry, pullRecordName)); serr == nil {
			return nil // another process extracted it first
		}
		return err
	}
	return nil
}

// extractFiles writes an artifact's package files into dir, which is empty.
func (c *Client) extractFiles(ctx context.Context, dir, ref string, m *ocispec.Manifest, n Name, version string) error {
	configType := m.Config.MediaType
	if configType == ocispec.MediaTypeEmptyJSON && m.ArtifactType == MediaTypeWasmConfig {
		// An image-spec v1.1 manifest (`oras push --artifact-type
		// application/vnd.wasm.config.v0+json`): the type is the artifactType.
		configType = MediaTypeWasmConfig
	}
	switch configType {
	case MediaTypeWasmConfig:
		return c.extractPlain(ctx, dir, m, n, version)
	case MediaTypePackageConfig:
		return c.extractWrun(ctx, dir, m)
	default:
		return fmt.Errorf("%w: %s has config media type %q; want %s (a Wasm OCI artifact) or %s (a wrun package)", ErrInvalidArtifact, ref, m.Config.MediaType, MediaTypeWasmConfig, MediaTypePackageConfig)
	}
}

// createFile writes a new file; it never opens an existing one (which may
// be a hard link into the blob store), so nothing is written through a link.
func createFile(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// linkBlob places a cached blob at dst: a hard link (the blob is never
// written through it: every write in an extraction creates a new file), or
// a copy across filesystems. The blob's size is checked first.
func (c *Client) linkBlob(ctx context.Context, d ocispec.Descriptor, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if ok, err := c.cache.Exists(ctx, d); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: blob %s (%q) is not cached", ErrNotFound, d.Digest, d.MediaType)
		}
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%w: two layers write %s", ErrInvalidArtifact, filepath.Base(dst))
	}
	if err := os.Link(c.cache.path(d.Digest), dst); err == nil {
		return nil
	}
	rc, err := c.cache.Fetch(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// wasmLayerTypes are the layer media types accepted as a wasm binary;
// application/wasm is the CNCF one, the other is older wasm-to-oci tooling.
func isWasmLayer(mt string) bool {
	return mt == MediaTypeWasm || mt == "application/vnd.wasm.content.layer.v1+wasm"
}

// extractPlain handles a CNCF Wasm OCI artifact: exactly one wasm layer.
func (c *Client) extractPlain(ctx context.Context, dir string, m *ocispec.Manifest, n Name, version string) error {
	if len(m.Layers) != 1 || !isWasmLayer(m.Layers[0].MediaType) {
		var types []string
		for _, l := range m.Layers {
			types = append(types, strconv.Quote(l.MediaType))
		}
		return fmt.Errorf("%w: a Wasm OCI artifact must have exactly one %s layer, this one has [%s]", ErrInvalidArtifact, MediaTypeWasm, strings.Join(types, ", "))
	}
	l := m.Layers[0]
	name := path.Base(l.Annotations[ocispec.AnnotationTitle])
	if name == "." || name == "/" || name == "" || bundle.ValidatePath(name) != nil || name == bundle.ManifestName || reservedPath(name) {
		name = "module.wasm"
	}
	if err := c.linkBlob(ctx, l, filepath.Join(dir, name)); err != nil {
		return err
	}
	if toml, ok := m.Annotations[AnnotationManifest]; ok {
		return createFile(filepath.Join(dir, bundle.ManifestName), []byte(toml))
	}
	// Pushed by another tool: synthesize wrun.toml.
	if n.Name == "" {
		n = Name{Namespace: "oci", Name: "artifact"}
	}
	if version == "" {
		version = "0.0.0"
	}
	if _, err := semver.StrictNewVersion(version); err != nil {
		version = "0.0.0"
	}
	if v := m.Annotations[ocispec.AnnotationVersion]; v != "" {
		if _, err := semver.StrictNewVersion(v); err == nil {
			version = v
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Synthesized by wrun for a Wasm OCI artifact pushed by another tool.\n[package]\nname = %s\nversion = %s\nkind = \"component\"\n", strconv.Quote(n.String()), strconv.Quote(version))
	if d := m.Annotations[ocispec.AnnotationDescription]; d != "" {
		fmt.Fprintf(&b, "description = %s\n", strconv.Quote(d))
	}
	fmt.Fprintf(&b, "\n[run]\nwasm = %s\n", strconv.Quote(name))
	return createFile(filepath.Join(dir, bundle.ManifestName), []byte(b.String()))
}

// extractWrun handles wrun's own artifact type (README.md, "wrun package
// artifacts"). Every layer's path is checked before anything is written.
func (c *Client) extractWrun(ctx context.Context, dir string, m *ocispec.Manifest) error {
	for _, l := range m.Layers {
		if err := checkLayerPath(l); err != nil {
			return err
		}
	}
	for _, l := range m.Layers {
		p := l.Annotations[AnnotationPath]
		switch l.MediaType {
		case MediaTypeManifestTOML, MediaTypeWasm:
			if err := c.linkBlob(ctx, l, filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				return err
			}
		case MediaTypeFilesTar:
			if err := c.untar(ctx, l, dir, p); err != nil {
				if errors.Is(err, ErrInvalidArtifact) {
					return err
				}
				return fmt.Errorf("%w: layer %s (%q): %w", ErrInvalidArtifact, l.Digest, p, err)
			}
		default:
			return fmt.Errorf("%w: unknown layer media type %q (layer %s)", ErrInvalidArtifact, l.MediaType, l.Digest)
		}
	}
	return nil
}

// checkLayerPath checks the package path a wrun layer writes: valid, and
// not under .wrun/ ("" is the package root, for a files tar only).
func checkLayerPath(l ocispec.Descriptor) error {
	p := l.Annotations[AnnotationPath]
	what := "layer " + l.Digest.String()
	if p == "" && l.MediaType == MediaTypeFilesTar {
		return nil
	}
	if err := bundle.ValidatePath(p); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArtifact, what, err)
	}
	if reservedPath(p) {
		return errReserved(what, p)
	}
	return nil
}

// maxTarEntries bounds the entries of one files layer.
const maxTarEntries = 1 << 20

// untar extracts a canonical tar layer under dir/sub: regular files only,
// paths checked, nothing outside dir or under .wrun/, no file written
// twice, every file created new (never through an existing link).
func (c *Client) untar(ctx context.Context, l ocispec.Descriptor, dir, sub string) error {
	rc, err := c.cache.Fetch(ctx, l)
	if err != nil {
		return err
	}
	defer rc.Close()
	return untarTo(rc, dir, sub, "layer "+l.Digest.String(), l.Size)
}

// untarTo is untar over a reader (the fuzz target calls it directly). The
// files it writes hold at most limit bytes in all, the size of the layer:
// a tar that expands (a sparse entry declaring a terabyte of holes) is
// refused rather than written.
func untarTo(r io.Reader, dir, sub, what string, limit int64) error {
	tr := tar.NewReader(r)
	var written int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n >= maxTarEntries {
			return fmt.Errorf("more than %d entries", maxTarEntries)
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("entry %q is not a regular file", h.Name)
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return fmt.Errorf("entry %q is a sparse file; a package holds only plain regular files", h.Name)
			}
		}
		if h.Size < 0 || h.Size > limit-written {
			return fmt.Errorf("entry %q declares %d bytes, more than the layer holds", h.Name, h.Size)
		}
		rel := h.Name
		if sub != "" {
			rel = sub + "/" + h.Name
		}
		if err := bundle.ValidatePath(rel); err != nil {
			return fmt.Errorf("entry %q: not a valid package path", h.Name)
		}
		if reservedPath(rel) {
			return errReserved(what+" entry", rel)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("entry %q: a file of the package is in the way of its directory", h.Name)
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("entry %q appears twice", h.Name)
			}
			return err
		}
		n, err := io.Copy(f, io.LimitReader(tr, limit-written+1))
		written += n
		if err == nil && written > limit {
			err = fmt.Errorf("entry %q expands past the layer's %d bytes", h.Name, limit)
		}
		if err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	// Read to EOF so the blob's digest is verified.
	_, err := io.Copy(io.Discard, r)
	return err
}

// cleanupExtractions removes temp extraction dirs whose process is gone.
func (c *Client) cleanupExtractions() {
	ents, err := os.ReadDir(c.packagesDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), ".tmp-")
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			continue
		}
		if pid != os.Getpid() && !processAlive(pid) {
			os.RemoveAll(filepath.Join(c.packagesDir(), e.Name()))
		}
	}
}
