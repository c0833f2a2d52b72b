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
)

// pullRecord is kept in an extracted package's reserved directory (which
// is outside the package's content).
type pullRecord struct {
	Ref        string             `json:"ref"`
	Descriptor ocispec.Descriptor `json:"descriptor"`
}

const pullRecordPath = bundle.ReservedDir + "/pull.json"

// verifiedIndexPath keeps the file index of an extracted package whose
// content digest was verified (see loadVerified).
const verifiedIndexPath = bundle.ReservedDir + "/verified.json"

// fetchPackage makes one package version readable on disk: it resolves
// repo:tag (from the ref index when cached), copies the artifact into the
// blob cache, verifies it and extracts it once per manifest digest.
// n and version name a plain artifact that carries no wrun.toml.
func (c *Client) fetchPackage(ctx context.Context, t Target, repo, tag string, n Name, version string) (*Package, error) {
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
				return nil, notFound(n, tag, t, vs, c.opts.Offline)
			}
		}
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s: %v", ErrNotFound, ref, err)
		}
		return nil, fmt.Errorf("resolving %s: %w", ref, netError(err))
	}
	var m *ocispec.Manifest
	if ok, _ := c.cache.Exists(ctx, desc); ok {
		b, err := content.FetchAll(ctx, c.cache, desc)
		if err == nil {
			m = new(ocispec.Manifest)
			if err := json.Unmarshal(b, m); err != nil {
				return nil, fmt.Errorf("%w: manifest %s of %s: %v", ErrInvalidArtifact, desc.Digest, ref, err)
			}
		}
	}
	dir := filepath.Join(c.packagesDir(), desc.Digest.Encoded())
	if m != nil {
		p, err := c.loadExtracted(dir, m)
		if err == nil {
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
	if p, err := c.loadExtracted(dir, m); err == nil {
		return p, c.rememberTag(t, repo, tag, desc) // another process extracted it
	} else if _, serr := os.Stat(dir); serr == nil {
		os.RemoveAll(dir) // complete but fails verification now: extract again
	}
	if err := c.extract(ctx, dir, ref, desc, m, n, version); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	p, err := c.loadExtracted(dir, m)
	if err != nil {
		// Verified for the first time: a package that fails leaves nothing.
		os.RemoveAll(dir)
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

// loadExtracted loads an extracted package, which hashes every file again
// (the content digest is checked on every pull), and verifies its release
// signature from the manifest's annotations against the keys trusted now.
func (c *Client) loadExtracted(dir string, m *ocispec.Manifest) (*Package, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(pullRecordPath)))
	if err != nil {
		return nil, err
	}
	var rec pullRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	p, err := c.loadVerified(dir, rec.Ref, m.Annotations)
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
// file index in the reserved directory; later loads read the index instead
// of hashing the files again (a cache entry is extracted from verified
// blobs, read-only, and never modified), and reads through the package
// still verify what they read. A local project directory is always hashed.
func (c *Client) loadVerified(dir, ref string, ann map[string]string) (*Package, error) {
	want, announced := ann[AnnotationContentDigest]
	indexPath := filepath.Join(dir, filepath.FromSlash(verifiedIndexPath))
	var bp *bundle.Package
	if b, err := os.ReadFile(indexPath); err == nil {
		var entries []bundle.Entry
		if json.Unmarshal(b, &entries) == nil {
			if p, err := bundle.LoadDirIndexed(dir, entries); err == nil && (!announced || want == p.Digest().String()) {
				bp = p
			}
		}
	}
	if bp == nil {
		p, err := bundle.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidArtifact, ref, err)
		}
		if announced && want != p.Digest().String() {
			return nil, fmt.Errorf("%w: %s: files have content digest %s, the artifact announces %s; refusing to run it", ErrDigestMismatch, ref, p.Digest(), want)
		}
		bp = p
		if b, err := json.Marshal(bp.Files()); err == nil {
			writeFileAtomic(indexPath, b) // best effort: without it the next load hashes again
		}
	}
	if rel, ok := ann[AnnotationRelease]; ok {
		sig, err := base64.StdEncoding.DecodeString(ann[AnnotationSignature])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: malformed signature annotation: %v", ErrSignature, ref, err)
		}
		bp.Signature = &bundle.Signature{Release: []byte(rel), Sig: sig}
	}
	v, err := bundle.Verify(bp, bundle.TrustStore{Dir: c.dirs.Keys()})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSignature, ref, err)
	}
	return &Package{Package: bp, Ref: ref, Verification: v}, nil
}

// extract writes a cached artifact's files into dir: into a temp dir first,
// then renamed into place. Several processes may extract at once; the first
// rename wins. Every load of dir verifies it (loadVerified); the caller
// removes it if its first load fails.
func (c *Client) extract(ctx context.Context, dir, ref string, desc ocispec.Descriptor, m *ocispec.Manifest, n Name, version string) error {
	if err := os.MkdirAll(c.packagesDir(), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.packagesDir(), fmt.Sprintf(".tmp-%d-", os.Getpid()))
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	configType := m.Config.MediaType
	if configType == ocispec.MediaTypeEmptyJSON && m.ArtifactType == MediaTypeWasmConfig {
		// An image-spec v1.1 manifest (`oras push --artifact-type
		// application/vnd.wasm.config.v0+json`): the type is the artifactType.
		configType = MediaTypeWasmConfig
	}
	switch configType {
	case MediaTypeWasmConfig:
		if err := c.extractPlain(ctx, tmp, m, n, version); err != nil {
			return err
		}
	case MediaTypePackageConfig:
		if err := c.extractWrun(ctx, tmp, m); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %s has config media type %q; want %s (a Wasm OCI artifact) or %s (a wrun package)", ErrInvalidArtifact, ref, m.Config.MediaType, MediaTypeWasmConfig, MediaTypePackageConfig)
	}
	rec, err := json.Marshal(pullRecord{Ref: ref, Descriptor: ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(tmp, bundle.ReservedDir), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, filepath.FromSlash(pullRecordPath)), rec, 0o444); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, filepath.FromSlash(pullRecordPath))); serr == nil {
			return nil // another process extracted it first
		}
		return err
	}
	return nil
}

// linkBlob places a cached blob at dst: a hard link (the blob is
// read-only), or a copy across filesystems.
func (c *Client) linkBlob(ctx context.Context, d ocispec.Descriptor, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
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
			types = append(types, l.MediaType)
		}
		return fmt.Errorf("%w: a Wasm OCI artifact must have exactly one %s layer, this one has [%s]", ErrInvalidArtifact, MediaTypeWasm, strings.Join(types, ", "))
	}
	l := m.Layers[0]
	name := path.Base(l.Annotations[ocispec.AnnotationTitle])
	if name == "." || name == "/" || name == "" || bundle.ValidatePath(name) != nil || name == bundle.ManifestName {
		name = "module.wasm"
	}
	if err := c.linkBlob(ctx, l, filepath.Join(dir, name)); err != nil {
		return err
	}
	if toml, ok := m.Annotations[AnnotationManifest]; ok {
		return os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(toml), 0o444)
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
	return os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(b.String()), 0o444)
}

// extractWrun handles wrun's own artifact type (README.md, "wrun package artifacts").
func (c *Client) extractWrun(ctx context.Context, dir string, m *ocispec.Manifest) error {
	for _, l := range m.Layers {
		p := l.Annotations[AnnotationPath]
		switch l.MediaType {
		case MediaTypeManifestTOML, MediaTypeWasm:
			if err := bundle.ValidatePath(p); err != nil {
				return fmt.Errorf("%w: layer %s: %v", ErrInvalidArtifact, l.Digest, err)
			}
			if err := c.linkBlob(ctx, l, filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				return err
			}
		case MediaTypeFilesTar:
			if p != "" {
				if err := bundle.ValidatePath(p); err != nil {
					return fmt.Errorf("%w: layer %s: %v", ErrInvalidArtifact, l.Digest, err)
				}
			}
			if err := c.untar(ctx, l, dir, p); err != nil {
				return fmt.Errorf("%w: layer %s (%s): %v", ErrInvalidArtifact, l.Digest, p, err)
			}
		default:
			return fmt.Errorf("%w: unknown layer media type %q (layer %s)", ErrInvalidArtifact, l.MediaType, l.Digest)
		}
	}
	return nil
}

// untar extracts a canonical tar layer under dir/sub: regular files only,
// paths checked, nothing outside dir, no file written twice.
func (c *Client) untar(ctx context.Context, l ocispec.Descriptor, dir, sub string) error {
	rc, err := c.cache.Fetch(ctx, l)
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("entry %q is not a regular file", h.Name)
		}
		rel := h.Name
		if sub != "" {
			rel = sub + "/" + h.Name
		}
		if err := bundle.ValidatePath(rel); err != nil || rel == pullRecordPath || strings.HasPrefix(rel, bundle.ReservedDir+"/") {
			return fmt.Errorf("entry %q: not a valid package path", h.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("entry %q appears twice", h.Name)
			}
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	// Read to EOF so the blob's digest is verified.
	_, err = io.Copy(io.Discard, rc)
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
