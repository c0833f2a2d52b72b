package registryclient

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// releaseSig is a release manifest and its signature as they travel in
// manifest annotations.
type releaseSig struct {
	release   []byte // raw release manifest JSON
	signature string // base64 Ed25519 signature of the release digest
}

// releaseManifest is the SIG-Registries release manifest.
type releaseManifest struct {
	EntityType    string `json:"entityType"`
	Name          string `json:"name"`
	Version       string `json:"version"`
	ContentDigest string `json:"contentDigest"`
}

const releaseDomain = "WASM-COMPONENT-REGISTRY-RELEASE-V1"

func releaseDigest(raw []byte) []byte {
	h := sha256.New()
	h.Write([]byte(releaseDomain))
	h.Write(raw)
	return h.Sum(nil)
}

// signRelease signs a package's release manifest.
func signRelease(p *Package, key ed25519.PrivateKey) (*releaseSig, error) {
	raw, err := json.Marshal(releaseManifest{EntityType: "release", Name: p.Name(), Version: p.Version(), ContentDigest: p.Digest.String()})
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, releaseDigest(raw))
	return &releaseSig{release: raw, signature: base64.StdEncoding.EncodeToString(sig)}, nil
}

// verifyRelease checks a package's signature annotations against the keys
// trusted for its namespace (keysDir/NAMESPACE/*.pub, each the base64 of a
// 32-byte Ed25519 public key). With no trusted key, an unsigned package is
// accepted and a signed one is checked only for consistency. signed reports
// whether a signature was verified against a trusted key.
func verifyRelease(keysDir, name, version, contentDigest string, ann map[string]string) (signed bool, err error) {
	ns, _, _ := strings.Cut(name, ":")
	keys, err := trustedKeys(filepath.Join(keysDir, ns))
	if err != nil {
		return false, err
	}
	rawRel, hasRel := ann[AnnotationRelease]
	sigB64, hasSig := ann[AnnotationSignature]
	if !hasRel || !hasSig {
		if len(keys) > 0 {
			return false, fmt.Errorf("%w: %s@%s is unsigned but namespace %q requires a signature (trusted keys in %s)", ErrSignature, name, version, ns, filepath.Join(keysDir, ns))
		}
		return false, nil
	}
	var rel releaseManifest
	if err := json.Unmarshal([]byte(rawRel), &rel); err != nil {
		return false, fmt.Errorf("%w: %s@%s: release manifest: %v", ErrSignature, name, version, err)
	}
	if rel.Name != name || rel.Version != version || rel.ContentDigest != contentDigest {
		return false, fmt.Errorf("%w: %s@%s: release manifest names %s@%s with content %s, not this package (content %s)", ErrSignature, name, version, rel.Name, rel.Version, rel.ContentDigest, contentDigest)
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false, fmt.Errorf("%w: %s@%s: malformed signature", ErrSignature, name, version)
	}
	if len(keys) == 0 {
		return false, nil
	}
	d := releaseDigest([]byte(rawRel))
	for _, k := range keys {
		if ed25519.Verify(k, d, sig) {
			return true, nil
		}
	}
	return false, fmt.Errorf("%w: %s@%s: signature does not verify against any key trusted for namespace %q", ErrSignature, name, version, ns)
}

func trustedKeys(dir string) ([]ed25519.PublicKey, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []ed25519.PublicKey
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".pub") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("trusted key %s: want the base64 of a %d-byte Ed25519 public key", filepath.Join(dir, e.Name()), ed25519.PublicKeySize)
		}
		keys = append(keys, ed25519.PublicKey(k))
	}
	return keys, nil
}
