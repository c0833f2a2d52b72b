package registryclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"

	"github.com/wrun-dev/wrun/internal/atomicfile"
	"github.com/wrun-dev/wrun/internal/bytecount"
)

// cache is the content-addressed blob cache, shared by every package:
//
//	blobs/sha256/HEX     complete blobs, verified when written
//	blobs/tmp/*.partial  blobs being written, each locked by its writer
//	blobs/tmp/*.new      the same, for the moment before its writer locks it
//	blobs/tmp/HEX.lock   held while one process fetches HEX
//	refs/KEY/REPO/TAG    the manifest descriptor a tag resolved to
//
// A blob is written to a temp file while its digest is computed, then
// renamed into place, so a complete name always holds verified content. A
// temp file whose writer died (kill -9) is removed by the next pull. A blob
// of the wrong size is deleted and reported as not found; a blob whose
// content does not match is deleted when read and reported as a mismatch.
type cache struct {
	blobs string // home.Dirs.Blobs()
	refs  string
}

var _ content.Storage = (*cache)(nil)

func newCache(blobs, refs string) *cache { return &cache{blobs: blobs, refs: refs} }

func (c *cache) path(d digest.Digest) string {
	return filepath.Join(c.blobs, d.Algorithm().String(), d.Encoded())
}

func (c *cache) tmp() string { return filepath.Join(c.blobs, "tmp") }

// Exists reports whether a complete blob is cached.
func (c *cache) Exists(_ context.Context, d ocispec.Descriptor) (bool, error) {
	if err := d.Digest.Validate(); err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalidArtifact, err)
	}
	fi, err := os.Stat(c.path(d.Digest))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Size() != d.Size {
		os.Remove(c.path(d.Digest))
		return false, nil
	}
	return true, nil
}

// Fetch opens a cached blob; the reader verifies the digest at EOF.
func (c *cache) Fetch(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArtifact, err)
	}
	p := c.path(d.Digest)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: blob %s (%s) is not cached", ErrNotFound, d.Digest, d.MediaType)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() != d.Size {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("%w: blob %s (%s) is not cached (partial entry removed)", ErrNotFound, d.Digest, d.MediaType)
	}
	return &verifyingFile{File: f, vr: content.NewVerifyReader(f, d), path: p, desc: d}, nil
}

type verifyingFile struct {
	*os.File
	vr   *content.VerifyReader
	path string
	desc ocispec.Descriptor
}

func (v *verifyingFile) Read(p []byte) (int, error) {
	n, err := v.vr.Read(p)
	if err == io.EOF {
		if verr := v.vr.Verify(); verr != nil {
			os.Remove(v.path)
			return n, fmt.Errorf("%w: cached blob %s (%s) is corrupt and was removed: %w", ErrDigestMismatch, v.desc.Digest, v.desc.MediaType, verr)
		}
	}
	return n, err
}

// Push writes a blob: temp file, digest computed while copying, rename.
// There is no fsync: a blob damaged by a crash has the wrong size (Exists
// drops it) or the wrong digest (Fetch drops it), and is fetched again.
// Content that does not match d is refused with ErrDigestMismatch and
// leaves nothing behind.
//
// This is the one temp-write-rename that does not go through
// internal/atomicfile (writeFileAtomic, the pull records and the tag files
// do), on purpose: a blob's name is its digest, so the content verifies
// itself and an fsync per blob (hundreds per Python pull) buys nothing;
// its temp files live in blobs/tmp as NAME.partial, beside the fetch
// locks, so that cleanup (each pull) and partials (cache ls) find every
// transfer in flight or abandoned by a killed process in one directory,
// which atomicfile's ".NAME.tmp-*" beside each target would scatter over
// blobs/sha256/.
func (c *cache) Push(_ context.Context, d ocispec.Descriptor, r io.Reader) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArtifact, err)
	}
	dst := c.path(d.Digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(c.tmp(), 0o755); err != nil {
		return err
	}
	// The temp file is locked before it takes its .partial name: cleanup
	// removes a .partial it can lock, so it must never see one unlocked
	// between its creation and its lock.
	f, err := os.CreateTemp(c.tmp(), d.Digest.Encoded()+".*.new")
	if err != nil {
		return err
	}
	unlock, _ := tryLockFile(f.Name()) // marks the temp file as live for cleanup
	tmp := strings.TrimSuffix(f.Name(), ".new") + ".partial"
	if err := os.Rename(f.Name(), tmp); err != nil {
		tmp = f.Name()
	}
	ok := false
	defer func() {
		if unlock != nil {
			unlock()
		}
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	v := d.Digest.Verifier()
	n, err := io.Copy(io.MultiWriter(f, v), io.LimitReader(r, d.Size+1))
	if err != nil {
		return fmt.Errorf("fetching blob %s (%s): %w", d.Digest, d.MediaType, err)
	}
	if n != d.Size || !v.Verified() {
		return fmt.Errorf("%w: blob %s (%s): received %d bytes that do not match its digest and size %d; not cached", ErrDigestMismatch, d.Digest, d.MediaType, n, d.Size)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o444); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	ok = true
	return nil
}

// cleanup removes temp files whose writer is gone, and the fetch lock of a
// complete blob whose holder died (kill -9) before removing it. (A process
// that opens such a lock as it is removed finds the blob complete under it.)
func (c *cache) cleanup() {
	ents, err := os.ReadDir(c.tmp())
	if err != nil {
		return
	}
	for _, e := range ents {
		if hex, ok := strings.CutSuffix(e.Name(), ".lock"); ok {
			if _, err := os.Stat(c.path(digest.NewDigestFromEncoded(digest.SHA256, hex))); err != nil {
				continue // the next fetch of the blob takes and removes it
			}
		} else if strings.HasSuffix(e.Name(), ".new") {
			// Killed between creating and naming its temp file.
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < time.Minute {
				continue
			}
		} else if !strings.HasSuffix(e.Name(), ".partial") {
			continue
		}
		p := filepath.Join(c.tmp(), e.Name())
		if unlock, ok := tryLockFile(p); ok {
			os.Remove(p)
			unlock()
		}
	}
}

// partials lists temp files left in the cache (for tests and cache ls).
func (c *cache) partials() []string {
	ents, _ := os.ReadDir(c.tmp())
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".partial") {
			out = append(out, e.Name())
		}
	}
	return out
}

// fill makes d present in the cache, fetching it from src at most once
// across processes: the fetch runs under a per-blob lock, and a blob found
// complete after waiting for the lock is not fetched again. It returns the
// number of bytes fetched.
func (c *cache) fill(ctx context.Context, src content.Fetcher, d ocispec.Descriptor, count func(int64)) (int64, error) {
	if ok, err := c.Exists(ctx, d); err != nil || ok {
		return 0, err
	}
	if err := os.MkdirAll(c.tmp(), 0o755); err != nil {
		return 0, err
	}
	lockPath := filepath.Join(c.tmp(), d.Digest.Encoded()+".lock")
	unlock, err := lockFile(lockPath, true)
	if err != nil {
		return 0, err
	}
	defer func() {
		os.Remove(lockPath)
		unlock()
	}()
	if ok, err := c.Exists(ctx, d); err != nil || ok {
		return 0, err
	}
	rc, err := src.Fetch(ctx, d)
	if err != nil {
		return 0, fmt.Errorf("fetching blob %s (%s): %w", d.Digest, d.MediaType, err)
	}
	defer rc.Close()
	cr := &bytecount.Reader{R: rc, Progress: count}
	err = c.Push(ctx, d, cr)
	return cr.N, err
}

// maxManifestSize bounds a manifest read into memory.
const maxManifestSize = 4 << 20

// copyManifest copies a manifest and every blob it references from src into
// the cache, blobs in parallel, the manifest last (so a cached manifest
// always has its blobs). It returns the parsed manifest and bytes fetched.
func (c *cache) copyManifest(ctx context.Context, src content.Fetcher, root ocispec.Descriptor, prog *progress) (*ocispec.Manifest, int64, error) {
	if root.Size > maxManifestSize {
		return nil, 0, fmt.Errorf("%w: manifest %s is %d bytes, over the %d-byte limit", ErrInvalidArtifact, root.Digest, root.Size, maxManifestSize)
	}
	var raw []byte
	var fetched int64
	if ok, _ := c.Exists(ctx, root); ok {
		b, err := content.FetchAll(ctx, c, root)
		if err == nil {
			raw = b
		}
	}
	if raw == nil {
		rc, err := src.Fetch(ctx, root)
		if err != nil {
			return nil, 0, fmt.Errorf("fetching manifest %s: %w", root.Digest, err)
		}
		raw, err = content.ReadAll(rc, root)
		rc.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("%w: manifest %s: %w", ErrDigestMismatch, root.Digest, err)
		}
		fetched += int64(len(raw))
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, 0, fmt.Errorf("%w: manifest %s: %w", ErrInvalidArtifact, root.Digest, err)
	}
	prog.setTotal(&m)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	sizes := make([]int64, len(m.Layers)+1)
	for i, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		g.Go(func() error {
			n, err := c.fill(gctx, src, d, prog.add)
			sizes[i] = n
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	for _, n := range sizes {
		fetched += n
	}
	if ok, _ := c.Exists(ctx, root); !ok {
		if err := c.Push(ctx, root, strings.NewReader(string(raw))); err != nil {
			return nil, 0, err
		}
	}
	return &m, fetched, nil
}

// refPath is where the manifest descriptor of key/repo:tag is remembered.
func (c *cache) refPath(key, repo, tag string) string {
	return filepath.Join(c.refs, key, filepath.FromSlash(repo), tag+".json")
}

// lookupRef returns the remembered manifest descriptor of a tag.
func (c *cache) lookupRef(key, repo, tag string) (ocispec.Descriptor, bool) {
	b, err := os.ReadFile(c.refPath(key, repo, tag))
	if err != nil {
		return ocispec.Descriptor{}, false
	}
	var d ocispec.Descriptor
	if json.Unmarshal(b, &d) != nil || d.Digest.Validate() != nil {
		return ocispec.Descriptor{}, false
	}
	return d, true
}

// storeRef remembers a tag's manifest descriptor, atomically.
func (c *cache) storeRef(key, repo, tag string, d ocispec.Descriptor) error {
	p := c.refPath(key, repo, tag)
	b, err := json.Marshal(ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size})
	if err != nil {
		return err
	}
	return writeFileAtomic(p, b)
}

// cachedTags lists the tags remembered for key/repo.
func (c *cache) cachedTags(key, repo string) []string {
	ents, _ := os.ReadDir(filepath.Join(c.refs, key, filepath.FromSlash(repo)))
	var out []string
	for _, e := range ents {
		if t, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			out = append(out, t)
		}
	}
	return out
}

// writeFileAtomic writes a small state file (an index entry, a lock file)
// atomically, creating its directory. 0644: wrun.lock is a project file
// others read and commit, like the wrun.toml beside it.
func writeFileAtomic(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(p, 0o644, b)
}
