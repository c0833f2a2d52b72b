package registryclient

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/component"
	"github.com/wrun-dev/wrun/internal/wasmbin"
)

// Media types and annotations of the two artifact layouts (README.md, "wrun package artifacts").
const (
	// MediaTypeWasmConfig is the config of a CNCF Wasm OCI artifact.
	MediaTypeWasmConfig = "application/vnd.wasm.config.v0+json"
	// MediaTypeWasm is a wasm binary layer, in both layouts.
	MediaTypeWasm = "application/wasm"
	// MediaTypePackageConfig is the config of wrun's own package artifact.
	MediaTypePackageConfig = "application/vnd.wrun.package.config.v1+json"
	// MediaTypeManifestTOML is the wrun.toml layer.
	MediaTypeManifestTOML = "application/vnd.wrun.manifest.v1+toml"
	// MediaTypeFilesTar is a canonical tar of package files.
	MediaTypeFilesTar = "application/vnd.wrun.files.v1.tar"

	// AnnotationPath is the package path a layer holds: a file (wasm,
	// wrun.toml) or a directory (a tar layer; "" for the package root).
	AnnotationPath = "dev.wrun.path"
	// AnnotationContentDigest is the package's content digest.
	AnnotationContentDigest = "dev.wrun.content.digest"
	// AnnotationPackage is the package name, namespace:name.
	AnnotationPackage = "dev.wrun.package"
	// AnnotationManifest carries wrun.toml in a plain Wasm artifact, which
	// has room for one layer only.
	AnnotationManifest = "dev.wrun.manifest"
	// AnnotationRelease and AnnotationSignature carry the release manifest
	// (raw JSON) and its Ed25519 signature (base64).
	AnnotationRelease   = "dev.wrun.release"
	AnnotationSignature = "dev.wrun.signature"
)

// wasmConfig is the CNCF Wasm OCI artifact config.
type wasmConfig struct {
	Created      string         `json:"created"`
	Author       string         `json:"author,omitempty"`
	Architecture string         `json:"architecture"`
	OS           string         `json:"os"`
	LayerDigests []string       `json:"layerDigests"`
	Component    *wasmComponent `json:"component,omitempty"`
}

type wasmComponent struct {
	Exports []string `json:"exports"`
	Imports []string `json:"imports"`
	Target  *string  `json:"target"`
}

// packageConfig is wrun's package artifact config.
type packageConfig struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Kind          string `json:"kind"`
	ContentDigest string `json:"contentDigest"`
}

// blob is a descriptor with a way to read its content.
type blob struct {
	desc ocispec.Descriptor
	data []byte                        // small blobs
	open func() (io.ReadCloser, error) // large ones
}

func (b blob) reader() (io.ReadCloser, error) {
	if b.open != nil {
		return b.open()
	}
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

// artifact is a package laid out for OCI: config, layers, manifest.
type artifact struct {
	config   blob
	layers   []blob
	manifest blob
	cleanup  func()
}

// isPlainWasm reports whether a package is only a wasm (plus its
// wrun.toml) and so is published as a CNCF Wasm OCI artifact.
func isPlainWasm(p *bundle.Package) bool {
	m := p.Manifest
	w := m.Run.Wasm
	files := p.Files()
	if w == "" || strings.Contains(w, "/") || !strings.HasSuffix(w, ".wasm") ||
		m.Run.Runtime != "" || len(m.Assets) > 0 || len(m.Dependencies) > 0 || len(files) != 2 {
		return false
	}
	for _, f := range files {
		if f.Path != w && f.Path != bundle.ManifestName {
			return false
		}
	}
	return true
}

// epoch is the created time of published artifacts: publishing the same
// package twice yields the same manifest digest.
const epoch = "1970-01-01T00:00:00Z"

func fileBlob(p *bundle.Package, mediaType string, e bundle.Entry) blob {
	return blob{
		desc: ocispec.Descriptor{MediaType: mediaType, Digest: digest.NewDigestFromEncoded(digest.SHA256, e.Sum.Hex()), Size: e.Size},
		open: func() (io.ReadCloser, error) { return p.Open(e.Path) },
	}
}

func jsonBlob(mediaType string, v any) (blob, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return blob{}, err
	}
	return blob{desc: ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}, data: b}, nil
}

// buildArtifact lays a package out, as README.md ("wrun package artifacts") describes.
func buildArtifact(p *bundle.Package, tmpDir string) (*artifact, error) {
	m := p.Manifest
	entry := map[string]bundle.Entry{}
	for _, f := range p.Files() {
		entry[f.Path] = f
	}
	ann := map[string]string{
		ocispec.AnnotationVersion: m.Package.Version,
		ocispec.AnnotationTitle:   m.Package.Name,
		AnnotationPackage:         m.Package.Name,
		AnnotationContentDigest:   p.Digest().String(),
		ocispec.AnnotationCreated: epoch,
	}
	if m.Package.Description != "" {
		ann[ocispec.AnnotationDescription] = m.Package.Description
	}
	if m.Package.License != "" {
		ann[ocispec.AnnotationLicenses] = m.Package.License
	}
	if m.Package.Source != "" {
		ann[ocispec.AnnotationSource] = m.Package.Source
	}
	if m.Package.Homepage != "" {
		ann[ocispec.AnnotationURL] = m.Package.Homepage
	}
	if len(m.Package.Authors) > 0 {
		ann[ocispec.AnnotationAuthors] = strings.Join(m.Package.Authors, ", ")
	}
	if sig := p.Signature; sig != nil {
		ann[AnnotationRelease] = string(sig.Release)
		ann[AnnotationSignature] = base64.StdEncoding.EncodeToString(sig.Sig)
	}
	a := &artifact{cleanup: func() {}}
	if isPlainWasm(p) {
		toml, err := p.ReadFile(bundle.ManifestName)
		if err != nil {
			return nil, err
		}
		ann[AnnotationManifest] = string(toml)
		w := fileBlob(p, MediaTypeWasm, entry[m.Run.Wasm])
		w.desc.Annotations = map[string]string{ocispec.AnnotationTitle: m.Run.Wasm}
		cfg := wasmConfig{Created: epoch, Architecture: "wasm", OS: "wasip1", LayerDigests: []string{w.desc.Digest.String()}}
		if len(m.Package.Authors) > 0 {
			cfg.Author = strings.Join(m.Package.Authors, ", ")
		}
		if isComponent(p, m.Run.Wasm) {
			cfg.OS = "wasip2"
			cfg.Component = componentWorld(p, m.Run.Wasm)
		}
		c, err := jsonBlob(MediaTypeWasmConfig, cfg)
		if err != nil {
			return nil, err
		}
		a.config, a.layers = c, []blob{w}
	} else {
		if err := a.wrunLayers(p, entry, tmpDir); err != nil {
			a.cleanup()
			return nil, err
		}
		c, err := jsonBlob(MediaTypePackageConfig, packageConfig{Name: m.Package.Name, Version: m.Package.Version, Kind: m.Package.Kind, ContentDigest: p.Digest().String()})
		if err != nil {
			a.cleanup()
			return nil, err
		}
		a.config = c
	}
	om := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      a.config.desc,
		Annotations: ann,
	}
	for _, l := range a.layers {
		om.Layers = append(om.Layers, l.desc)
	}
	mb, err := jsonBlob(ocispec.MediaTypeImageManifest, om)
	if err != nil {
		a.cleanup()
		return nil, err
	}
	a.manifest = mb
	return a, nil
}

// wrunLayers: wrun.toml, the wasm, one tar per [[assets]] directory, one
// tar of every other file.
func (a *artifact) wrunLayers(p *bundle.Package, entry map[string]bundle.Entry, tmpDir string) error {
	m := p.Manifest
	covered := map[string]bool{bundle.ManifestName: true}
	t := fileBlob(p, MediaTypeManifestTOML, entry[bundle.ManifestName])
	t.desc.Annotations = map[string]string{ocispec.AnnotationTitle: bundle.ManifestName, AnnotationPath: bundle.ManifestName}
	a.layers = append(a.layers, t)
	if w := m.Run.Wasm; w != "" {
		b := fileBlob(p, MediaTypeWasm, entry[w])
		b.desc.Annotations = map[string]string{ocispec.AnnotationTitle: path.Base(w), AnnotationPath: w}
		a.layers = append(a.layers, b)
		covered[w] = true
	}
	var tmps []string
	a.cleanup = func() {
		for _, f := range tmps {
			os.Remove(f)
		}
	}
	addTar := func(dir string, files []bundle.Entry) error {
		f, err := os.CreateTemp(tmpDir, fmt.Sprintf("layer-%d-*.tar", os.Getpid())) // see cleanupPublishTemps
		if err != nil {
			return err
		}
		tmps = append(tmps, f.Name())
		d := digest.SHA256.Digester()
		n, err := p.WriteLayer(io.MultiWriter(f, d.Hash()), dir, files) // bundle owns the canonical tar rule
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		name := f.Name()
		title := dir
		if title == "" {
			title = "files"
		}
		a.layers = append(a.layers, blob{
			desc: ocispec.Descriptor{MediaType: MediaTypeFilesTar, Digest: d.Digest(), Size: n,
				Annotations: map[string]string{ocispec.AnnotationTitle: strings.ReplaceAll(title, "/", "_") + ".tar", AnnotationPath: dir}},
			open: func() (io.ReadCloser, error) { return os.Open(name) },
		})
		return nil
	}
	// Asset directories, longest first so nested ones get their own layer.
	var dirs []string
	for _, as := range m.Assets {
		dirs = append(dirs, strings.Trim(path.Clean(as.From), "/"))
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	seen := map[string]bool{}
	for _, dir := range dirs {
		if dir == "." || seen[dir] {
			continue
		}
		seen[dir] = true
		var files []bundle.Entry
		for _, f := range p.Files() {
			if !covered[f.Path] && strings.HasPrefix(f.Path, dir+"/") {
				files = append(files, f)
				covered[f.Path] = true
			}
		}
		if len(files) > 0 {
			if err := addTar(dir, files); err != nil {
				return err
			}
		}
	}
	var rest []bundle.Entry
	for _, f := range p.Files() {
		if !covered[f.Path] {
			rest = append(rest, f)
		}
	}
	if len(rest) > 0 {
		return addTar("", rest)
	}
	return nil
}

// componentWorld is the config's component field for a component: the
// names of its imports and exports (interfaces with versions, as
// "wasi:cli/environment@0.2.0"), empty when the component cannot be read.
func componentWorld(p *bundle.Package, name string) *wasmComponent {
	wc := &wasmComponent{Exports: []string{}, Imports: []string{}}
	b, err := p.ReadFile(name)
	if err != nil {
		return wc
	}
	c, err := component.Parse(b)
	if err != nil {
		return wc
	}
	for _, im := range c.Imports {
		wc.Imports = append(wc.Imports, im.Name)
	}
	for _, e := range c.Exports {
		wc.Exports = append(wc.Exports, e.Name)
	}
	return wc
}

// isComponent reports whether a package's wasm is a component (layer 1)
// rather than a core module.
func isComponent(p *bundle.Package, name string) bool {
	f, err := p.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [8]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	return wasmbin.Sniff(h[:]) == wasmbin.Component
}
