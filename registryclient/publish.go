package registryclient

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/bytecount"
)

// Publish pushes a package (bundle.LoadDir or bundle.OpenFile) to the
// registry its name maps to (config.toml, Options.Registry) as
// NAMESPACE/NAME:VERSION and returns the manifest descriptor. Its release
// signature travels with it: the one p carries, or one made with
// Options.SignKey. A package that is only a
// wasm becomes a CNCF Wasm OCI artifact, any other a wrun package artifact
// (README.md, "wrun package artifacts"). Blobs the registry already has are not sent again.
// Publishing the same content twice is a no-op; a version that exists with
// other content is ErrExists.
func (c *Client) Publish(ctx context.Context, p *bundle.Package) (ocispec.Descriptor, error) {
	pi := p.Manifest.Package
	n, err := ParseName(pi.Name)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("publishing: %w", err)
	}
	if _, err := packageVersion(p.Manifest); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("publishing: %w", err)
	}
	if err := checkVersionTag(pi.Name, pi.Version); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("publishing: %w", err)
	}
	tag := VersionTag(pi.Version) // '+' is '_' in a tag, in every store
	t, err := c.target(n)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	repo := t.Repository(n)
	ref := t.Reference(n, pi.Version)
	s, err := c.store(t, repo)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if c.opts.SignKey != nil && p.Signature == nil {
		if err := bundle.Sign(p, c.opts.SignKey); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("signing %s: %w", ref, err)
		}
	}
	unlock, err := c.lockCache(false) // the layer tars live in the cache
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("publishing %s: %w", ref, err)
	}
	defer unlock()
	tmp := filepath.Join(c.dirs.Cache, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return ocispec.Descriptor{}, err
	}
	cleanupPublishTemps(tmp)
	if t.Layout != "" {
		cleanupIngest(t.Layout)
	}
	a, err := buildArtifact(p, tmp)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("publishing %s: %w", ref, netError(err))
	}
	defer a.cleanup()
	if old, err := s.Resolve(ctx, tag); err == nil {
		if old.Digest == a.manifest.desc.Digest {
			return old, nil
		}
		return ocispec.Descriptor{}, fmt.Errorf("%w: %s is already published with manifest %s (this package makes %s); bump [package] version", ErrExists, ref, old.Digest, a.manifest.desc.Digest)
	} else if !isNotFound(err) {
		return ocispec.Descriptor{}, fmt.Errorf("publishing %s: %w", ref, netError(err))
	}
	prog := c.newProgress("publishing "+ref, nil)
	defer prog.done()
	for _, b := range append([]blob{a.config}, a.layers...) {
		ok, err := s.Exists(ctx, b.desc)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("publishing %s: %w", ref, netError(err))
		}
		if ok {
			continue
		}
		rc, err := b.reader()
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		err = s.Push(ctx, b.desc, &bytecount.Reader{R: rc, Progress: prog.add})
		rc.Close()
		if err != nil && !isAlreadyExists(err) {
			return ocispec.Descriptor{}, fmt.Errorf("publishing %s: blob %s (%s): %w", ref, b.desc.Digest, b.desc.MediaType, netError(err))
		}
	}
	rc, _ := a.manifest.reader()
	defer rc.Close()
	if rp, ok := s.(registry.ReferencePusher); ok {
		err = rp.PushReference(ctx, a.manifest.desc, rc, tag)
	} else {
		if err = s.Push(ctx, a.manifest.desc, rc); err == nil || isAlreadyExists(err) {
			err = s.Tag(ctx, a.manifest.desc, tag)
		}
	}
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("publishing %s: %w", ref, netError(err))
	}
	return a.manifest.desc, nil
}

// cleanupPublishTemps removes the layer tars (layer-PID-*.tar) a publish
// left behind when its process died (kill -9) before removing them.
func cleanupPublishTemps(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "layer-")
		if !ok || !strings.HasSuffix(rest, ".tar") {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			continue
		}
		if pid != os.Getpid() && !processAlive(pid) {
			os.Remove(filepath.Join(tmp, e.Name()))
		}
	}
}
