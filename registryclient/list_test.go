package registryclient

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/registrytest"
)

func TestList(t *testing.T) {
	reg := registrytest.Start(t)
	for _, registry := range []string{"local", reg.Host} {
		t.Run(registry, func(t *testing.T) {
			c, _ := newClient(t, Options{Registry: registry})
			publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
			publishDir(t, c, plainPackage(t, "example:hello", "1.10.0"))
			publishDir(t, c, plainPackage(t, "example:hello", "1.2.0"))
			publishDir(t, c, plainPackage(t, "other:tool", "0.1.0"))
			ctx := context.Background()
			all, err := c.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range all {
				got = append(got, l.Name+"="+strings.Join(l.Versions, ","))
			}
			if want := []string{"example:hello=1.0.0,1.2.0,1.10.0", "other:tool=0.1.0"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("List() = %v, want %v", got, want)
			}
			ns, err := c.List(ctx, "other")
			if err != nil || len(ns) != 1 || ns[0].Name != "other:tool" {
				t.Fatalf("List(other) = %v, %v", ns, err)
			}
			one, err := c.List(ctx, "example:hello")
			if err != nil || len(one) != 1 || len(one[0].Versions) != 3 {
				t.Fatalf("List(example:hello) = %v, %v", one, err)
			}
			if _, err := c.List(ctx, "example:none"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("List(example:none) = %v", err)
			}
		})
	}
}

func TestCacheListPrune(t *testing.T) {
	h := testHome(t)
	c, _ := newClient(t, Options{Home: h.Data})
	publishDir(t, c, plainPackage(t, "example:hello", "1.0.0"))
	mustPull(t, c, "example:hello@1.0.0")
	info, err := c.CacheList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Packages) != 1 || info.Packages[0].Name != "example:hello" || info.Packages[0].Version != "1.0.0" || info.Blobs != 3 || info.BlobBytes == 0 {
		t.Fatalf("CacheList = %+v", info)
	}
	freed, err := c.CachePrune(context.Background())
	if err != nil || freed < info.BlobBytes {
		t.Fatalf("CachePrune = %d, %v", freed, err)
	}
	info, _ = c.CacheList(context.Background())
	if len(info.Packages) != 0 || info.Blobs != 0 {
		t.Fatalf("after prune: %+v", info)
	}
	mustPull(t, c, "example:hello@1.0.0") // pulls again
}

func TestSignatures(t *testing.T) {
	reg := registrytest.Start(t)
	h := testHome(t)
	keyPEM, pubPEM, err := bundle.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := bundle.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := newClient(t, Options{Home: testHome(t).Data, Registry: reg.Host, SignKey: key})
	plain, _ := newClient(t, Options{Home: testHome(t).Data, Registry: reg.Host})
	wrongSigner, _ := newClient(t, Options{Home: testHome(t).Data, Registry: reg.Host, SignKey: otherKey})
	publishDir(t, signer, plainPackage(t, "example:signed", "1.0.0"))
	publishDir(t, signer, assetsPackage(t, "example:signedlib", "1.0.0", nil))
	publishDir(t, plain, plainPackage(t, "example:unsigned", "1.0.0"))
	publishDir(t, wrongSigner, plainPackage(t, "example:forged", "1.0.0"))

	// No trusted key: everything runs, nothing is "verified".
	c, _ := newClient(t, Options{Home: h.Data, Registry: reg.Host})
	if r := mustPull(t, c, "example:signed@1.0.0"); !r.Root.Verification.Signed || r.Root.Verification.Verified {
		t.Fatalf("untrusted signed package: %+v", r.Root.Verification)
	}
	mustPull(t, c, "example:unsigned@1.0.0")

	// Trust a key for the namespace: signed packages verify, unsigned and
	// wrongly signed ones are refused, even from the cache.
	if _, err := (bundle.TrustStore{Dir: h.Keys()}).Trust("example", pubPEM); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"example:signed@1.0.0", "example:signedlib@1.0.0"} {
		if r := mustPull(t, c, ref); !r.Root.Verification.Verified {
			t.Fatalf("%s: %+v", ref, r.Root.Verification)
		}
	}
	for _, ref := range []string{"example:unsigned@1.0.0", "example:forged@1.0.0"} {
		_, err := c.Pull(context.Background(), ref)
		if !errors.Is(err, ErrSignature) {
			t.Errorf("Pull(%s) = %v, want ErrSignature", ref, err)
		}
	}
	_, err = c.Pull(context.Background(), "example:unsigned@1.0.0")
	if !errors.Is(err, bundle.ErrUnsigned) || !strings.Contains(err.Error(), "example") {
		t.Errorf("unsigned in a namespace with keys: %v", err)
	}
}
