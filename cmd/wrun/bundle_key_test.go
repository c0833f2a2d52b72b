package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBundleKeySignTrust(t *testing.T) {
	c := newCLI(t)
	keys := t.TempDir()
	key := filepath.Join(keys, "release-key")
	r := c.run("key", "generate", "-o", key)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	priv, _ := os.ReadFile(key)
	pub, _ := os.ReadFile(key + ".pub")
	if !strings.HasPrefix(string(priv), "-----BEGIN PRIVATE KEY-----") || !strings.HasPrefix(string(pub), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("key files:\n%s\n%s", priv, pub)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v", fi.Mode())
	}
	// Never overwritten.
	c.run("key", "generate", "-o", key).wantError(t, "exists")
	if again, _ := os.ReadFile(key); string(again) != string(priv) {
		t.Fatal("the key changed")
	}

	r = c.run("key", "trust", "example", key+".pub")
	if r.code != 0 || !strings.Contains(r.stdout, filepath.Join(c.home, "keys", "example")) {
		t.Fatalf("trust: %+v", r)
	}
	c.run("key", "trust", "Bad_NS", key+".pub").wantError(t, `"Bad_NS" is not a namespace`)
	c.run("key", "trust", "example", key).wantError(t, "PUBLIC KEY")

	dir := bundleDir(t, helloManifest)
	c.dir = t.TempDir()
	signed := c.run("build", dir, "-o", "signed.wrun", "--sign", key)
	unsigned := c.run("build", dir, "-o", "unsigned.wrun")
	if signed.code != 0 || signed.stdout != unsigned.stdout {
		t.Fatalf("signing changed the content digest: %+v %+v", signed, unsigned)
	}
	r = c.run("inspect", filepath.Join(c.dir, "signed.wrun"))
	if !strings.Contains(r.stdout, "signed              verified: ") || !strings.Contains(r.stdout, `release             {"entityType":"component","name":"example:hello","version":"1.0.0","contentDigest":"`+strings.TrimSpace(signed.stdout)+`"}`) {
		t.Fatalf("inspect:\n%s", r.stdout)
	}
	c.run("build", dir, "-o", "x.wrun", "--sign", key+".pub").wantError(t, "--sign", "PRIVATE KEY")
	if _, err := os.Stat(filepath.Join(c.dir, "x.wrun")); err == nil {
		t.Fatal("a bundle was written despite the bad key")
	}
}
