package registryclient

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/hex"
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
//	packages/HEX/verified.idx   the file index wrun hashed (loadVerified)
//
// A layer whose path is under .wrun/ (bundle.ReservedDir) is refused
// outright: an artifact never names wrun's state, not even the bundle's.
// (Versions before the index format of verifiedIndexHeader kept the index
// as JSON in verified.json; it is ignored, and left for prune.)
const (
	pkgSubdir         = "pkg"
	pullRecordName    = "pull.json"
	verifiedIndexName = "verified.idx"
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
// extracted from verified blobs and never modified). They look at no file
// but wrun.toml, which is hashed against its entry; every index entry is
// checked as a package path, and the content digest computed from the
// index is compared with the announced one. Each file is checked when it
// is read instead: reads through the package (bundle's indexed source)
// check its size, and the asset layers made from the index
// (vfs.NewIndexLayer) check that it is a regular file of its indexed size
// when the guest opens it.
func (c *Client) loadVerified(dir, indexPath, ref string, ann map[string]string) (*Package, error) {
	want, announced := ann[AnnotationContentDigest]
	var bp *bundle.Package
	if entries, err := readVerifiedIndex(indexPath); err == nil {
		if p, err := bundle.LoadDirIndexed(dir, entries); err == nil && (!announced || want == p.Digest().String()) {
			bp = p
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
		if b, ok := formatVerifiedIndex(bp.Files()); ok {
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

// The verified index (packages/HEX/verified.idx) is a header line, then one
// line per file, sorted bytewise by path:
//
//	wrun verified index 1
//	<SHA-256, 64 lowercase hex> <size> <path length> <path>
//
// with single spaces, sizes and lengths in decimal without sign or leading
// zeros, and each line ending in "\n" right after the path's bytes (a
// package path may hold any byte but NUL, so its length says where it
// ends). It is parsed by hand (JSON decoding of a 1,900-file index took
// longer than the rest of a warm load) and strictly: anything else, or an
// index past maxVerifiedIndexBytes or maxVerifiedEntries, is refused, and
// the package is hashed again and the index written anew.
const (
	verifiedIndexHeader   = "wrun verified index 1\n"
	maxVerifiedIndexBytes = 256 << 20
	maxVerifiedEntries    = 1 << 21
)

// errBadIndex is why a verified index was not used (never shown: the
// package is hashed instead).
var errBadIndex = errors.New("verified index")

// readVerifiedIndex reads and parses the verified index at p.
func readVerifiedIndex(p string) ([]bundle.Entry, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxVerifiedIndexBytes {
		return nil, fmt.Errorf("%w: not a regular file of at most %d bytes", errBadIndex, maxVerifiedIndexBytes)
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return parseVerifiedIndex(string(b), maxVerifiedEntries)
}

// parseVerifiedIndex parses a verified index of at most maxEntries files.
// The paths of the entries share s's memory.
func parseVerifiedIndex(s string, maxEntries int) ([]bundle.Entry, error) {
	rest, ok := strings.CutPrefix(s, verifiedIndexHeader)
	if !ok {
		return nil, fmt.Errorf("%w: no header", errBadIndex)
	}
	// Room for every line, bounded by what the index can hold: never more
	// entries than lines of the shortest form fit in it.
	const shortest = len("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 0 1 a\n")
	entries := make([]bundle.Entry, 0, min(strings.Count(rest, "\n"), len(rest)/shortest, maxEntries))
	for line := 2; rest != ""; line++ {
		bad := func(why string) error { return fmt.Errorf("%w: line %d: %s", errBadIndex, line, why) }
		if len(entries) == maxEntries {
			return nil, bad("too many entries")
		}
		var e bundle.Entry
		if len(rest) < 2*len(e.Sum)+1 || rest[2*len(e.Sum)] != ' ' {
			return nil, bad("no digest")
		}
		var invalid byte
		for i := range e.Sum {
			hi, lo := hexValues[rest[2*i]], hexValues[rest[2*i+1]]
			invalid |= hi | lo
			e.Sum[i] = hi<<4 | lo&0xf
		}
		if invalid&0xf0 != 0 {
			return nil, bad("digest is not lowercase hex")
		}
		rest = rest[2*len(e.Sum)+1:]
		var err error
		if e.Size, rest, err = parseDecimal(rest); err != nil {
			return nil, bad("size: " + err.Error())
		}
		n, after, err := parseDecimal(rest)
		if err != nil || n > bundle.MaxPathLen || int64(len(after)) < n+1 || after[n] != '\n' {
			return nil, bad("path")
		}
		// The path rules (bundle.ValidatePath) are bundle.LoadDirIndexed's
		// to check, as it does for every index; .wrun/ is wrun's own rule.
		e.Path, rest = after[:n], after[n+1:]
		if reservedPath(e.Path) {
			return nil, bad("path under the reserved directory")
		}
		if len(entries) > 0 && entries[len(entries)-1].Path >= e.Path {
			return nil, bad("not sorted by path, or a path twice")
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// hexValues maps a lowercase hex digit to its value and any other byte to
// 0xff. It is never written.
var hexValues = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

// parseDecimal parses a non-negative decimal number of at most 18 digits,
// without sign or leading zeros, followed by one space, which it consumes.
func parseDecimal(s string) (int64, string, error) {
	var n int64
	i := 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if i == 18 || (i == 1 && s[0] == '0') {
			return 0, "", errors.New("too long, or a leading zero")
		}
		n = n*10 + int64(s[i]-'0')
	}
	if i == 0 || i == len(s) || s[i] != ' ' {
		return 0, "", errors.New("not a number followed by a space")
	}
	return n, s[i+1:], nil
}

// formatVerifiedIndex writes entries (sorted by path, as Files returns
// them) in the verified index format; ok is false when they cannot be
// written in it (the parse would refuse them).
func formatVerifiedIndex(entries []bundle.Entry) ([]byte, bool) {
	if len(entries) > maxVerifiedEntries {
		return nil, false
	}
	b := make([]byte, 0, len(verifiedIndexHeader)+len(entries)*(64+3+len("1234567 123 ")+48))
	b = append(b, verifiedIndexHeader...)
	for _, e := range entries {
		b = hex.AppendEncode(b, e.Sum[:])
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(len(e.Path)), 10)
		b = append(b, ' ')
		b = append(b, e.Path...)
		b = append(b, '\n')
	}
	return b, len(b) <= maxVerifiedIndexBytes
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
