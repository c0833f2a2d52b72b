package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wrun-dev/wrun/internal/atomicfile"
)

// ReleaseDomain prefixes the release manifest when computing the digest a
// release signature signs.
const ReleaseDomain = "WASM-COMPONENT-REGISTRY-RELEASE-V1"

// Release is the release manifest a signature covers.
type Release struct {
	EntityType    string `json:"entityType"` // the package kind
	Name          string `json:"name"`
	Version       string `json:"version"`
	ContentDigest Digest `json:"contentDigest"`
}

// Signature is a release manifest, as the raw bytes that were signed, and
// the Ed25519 signature of its release digest. In a bundle they are the
// entries ReleasePath and SignaturePath, outside the content index.
type Signature struct {
	Release []byte
	Sig     []byte
}

// ReleaseDigest is SHA-256(ReleaseDomain ‖ raw release manifest).
func ReleaseDigest(release []byte) Digest {
	h := sha256.New()
	h.Write([]byte(ReleaseDomain))
	h.Write(release)
	var d Digest
	h.Sum(d[:0])
	return d
}

// NewRelease is the release manifest of p. The package needs a name and a
// version (in wrun.toml or the wasm's metadata).
func NewRelease(p *Package) (Release, error) {
	m := p.Manifest
	if m.Package.Name == "" || m.Package.Version == "" {
		return Release{}, fmt.Errorf("%s: a signed release needs [package] name and version: set them in %s", p.name, ManifestName)
	}
	return Release{EntityType: m.Package.Kind, Name: m.Package.Name, Version: m.Package.Version, ContentDigest: p.digest}, nil
}

// Sign signs p's release manifest with key and sets p.Signature.
func Sign(p *Package, key ed25519.PrivateKey) error {
	rel, err := NewRelease(p)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(rel)
	if err != nil {
		return err
	}
	d := ReleaseDigest(raw)
	p.Signature = &Signature{Release: raw, Sig: ed25519.Sign(key, d[:])}
	return nil
}

// Verification is what Verify established.
type Verification struct {
	Signed   bool   // the package carries a signature
	Verified bool   // …which verified against a trusted key
	KeyID    string // the key that verified it (KeyID)
}

// Verify checks p against the keys trusted for its namespace:
//   - a signed package's release manifest must name p's content digest,
//     name and version (else ErrDigestMismatch or ErrSignatureInvalid);
//   - if the namespace has trusted keys, the signature must verify with one
//     of them (else ErrSignatureInvalid), and an unsigned package is
//     refused (ErrUnsigned);
//   - with no trusted keys, an unsigned package passes and a signed one
//     passes unverified.
func Verify(p *Package, trust TrustStore) (Verification, error) {
	var v Verification
	ns, _, _ := strings.Cut(p.Manifest.Package.Name, ":")
	var keys []ed25519.PublicKey
	if ns != "" {
		var err error
		if keys, err = trust.Keys(ns); err != nil {
			return v, err
		}
	}
	s := p.Signature
	if s == nil {
		if len(keys) > 0 {
			return v, fmt.Errorf("%s: %w: namespace %q has trusted keys, so its packages must be signed (build with --sign KEY)", p.name, ErrUnsigned, ns)
		}
		return v, nil
	}
	v.Signed = true
	var rel Release
	if err := json.Unmarshal(s.Release, &rel); err != nil {
		return v, fmt.Errorf("%s: %w: release manifest: %w", p.name, ErrSignatureInvalid, err)
	}
	if rel.ContentDigest != p.digest {
		return v, fmt.Errorf("%s: %w: the release manifest names %s but the content is %s", p.name, ErrDigestMismatch, rel.ContentDigest, p.digest)
	}
	if rel.Name != p.Manifest.Package.Name || rel.Version != p.Manifest.Package.Version {
		return v, fmt.Errorf("%s: %w: the release manifest is for %s@%s, the package is %s@%s", p.name, ErrSignatureInvalid,
			rel.Name, rel.Version, p.Manifest.Package.Name, p.Manifest.Package.Version)
	}
	if len(keys) == 0 {
		return v, nil
	}
	d := ReleaseDigest(s.Release)
	for _, k := range keys {
		if len(s.Sig) == ed25519.SignatureSize && ed25519.Verify(k, d[:], s.Sig) {
			v.Verified, v.KeyID = true, KeyID(k)
			return v, nil
		}
	}
	return v, fmt.Errorf("%s: %w: the signature does not verify with any of the %d key(s) trusted for namespace %q", p.name, ErrSignatureInvalid, len(keys), ns)
}

// KeyID names a public key: the first 16 hex digits of the SHA-256 of its
// raw 32 bytes.
func KeyID(k ed25519.PublicKey) string {
	s := sha256.Sum256(k)
	return hex.EncodeToString(s[:8])
}

// GenerateKey returns a new Ed25519 key pair encoded as PEM: the private
// key as PKCS #8 ("PRIVATE KEY"), the public key as PKIX ("PUBLIC KEY"),
// the formats openssl reads.
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pb, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}), nil
}

// ParsePrivateKey parses a PEM PKCS #8 Ed25519 private key.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" (create one with `wrun key generate -o KEY`)")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return ek, nil
}

// ParsePublicKey parses a PEM PKIX Ed25519 public key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\" (the KEY.pub `wrun key generate` writes)")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return ek, nil
}

// TrustStore holds the public keys trusted per namespace: Dir/NAMESPACE/
// KEYID.pub, PEM (home.Dirs.Keys() is the default Dir). The zero value
// trusts nothing.
type TrustStore struct {
	Dir string
}

// Keys returns the keys trusted for a namespace (none if its directory
// does not exist). A key file that does not parse is an error.
func (t TrustStore) Keys(namespace string) ([]ed25519.PublicKey, error) {
	if t.Dir == "" {
		return nil, nil
	}
	if err := checkNamespace(namespace); err != nil {
		return nil, err
	}
	dir := filepath.Join(t.Dir, namespace)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".pub") && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var keys []ed25519.PublicKey
	for _, n := range names {
		b, err := readBounded(filepath.Join(dir, n), 64<<10)
		if err != nil {
			return nil, err
		}
		k, err := ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s: %v", filepath.Join(dir, n), err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Trust adds a PEM public key to the keys trusted for namespace and returns
// the file it wrote. Adding a key twice is not an error.
func (t TrustStore) Trust(namespace string, pemKey []byte) (string, error) {
	if err := checkNamespace(namespace); err != nil {
		return "", err
	}
	k, err := ParsePublicKey(pemKey)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(t.Dir, namespace)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(dir, KeyID(k)+".pub")
	pb, _ := x509.MarshalPKIXPublicKey(k)
	out := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb})
	return name, atomicfile.WriteBytes(name, 0o644, out)
}

func checkNamespace(ns string) error {
	if err := ValidateLabel(ns); err != nil {
		return fmt.Errorf("%q is not a namespace: %w", ns, err)
	}
	return nil
}
