package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EPackageNonASCIIPublish: a package whose asset paths ustar cannot
// hold (non-ASCII, and longer than 100 bytes) builds, publishes to the
// local store, pulls and runs: the bundle and the registry layers are
// written by the one canonical tar writer (bundle.WriteLayer).
func TestE2EPackageNonASCIIPublish(t *testing.T) {
	long := "static/" + strings.Repeat("f", 143) // 150 bytes, a 143-byte last component
	if len(long) != 150 {
		t.Fatalf("long path is %d bytes", len(long))
	}
	files := map[string]string{
		"static/hello.txt": "hello\n",
		"static/é.txt":     "accent\n",
		long:               "long\n",
	}
	dir := catPackage(t, catManifest("example:uni", "1.0.0"), files)
	c := newCLI(t)
	t.Run("build", func(t *testing.T) {
		r := c.run("build", dir, "-o", filepath.Join(t.TempDir(), "uni.wrun"))
		if r.code != 0 {
			t.Fatalf("build: %+v", r)
		}
	})
	t.Run("publish", func(t *testing.T) {
		r := c.run("publish", dir)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "published example:uni@1.0.0\n") {
			t.Fatalf("publish: %+v", r)
		}
	})
	t.Run("pull", func(t *testing.T) {
		r := c.run("pull", "example:uni@1.0.0")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "example:uni@1.0.0 sha256:") {
			t.Fatalf("pull: %+v", r)
		}
	})
	t.Run("run", func(t *testing.T) {
		c.run("example:uni@1.0.0", "--", "/static/é.txt").ok(t, "non-ASCII asset", "hello\naccent\n")
		c.run("example:uni@1.0.0", "--", "/"+long).ok(t, "150-byte asset path", "hello\nlong\n")
	})
}

// TestE2EPackageNameRules: build (the manifest check) and publish and pull
// (the registry's check) agree on what a package name is, both ways. The
// rule is the component model's: namespace:name, each a kebab-case label
// of lowercase words, every word starting with a letter.
func TestE2EPackageNameRules(t *testing.T) {
	valid := []string{"example:hello", "example:hello-world", "ex2:hello2-world3"}
	invalid := []string{"example:hello-2", "example:2hello", "Example:hello", "example:hello--world", "example:hello-", "ex_ample:hello", "example:"}
	c := newCLI(t)
	for _, name := range valid {
		t.Run("valid "+name, func(t *testing.T) {
			dir := catPackage(t, catManifest(name, "1.0.0"), map[string]string{"static/hello.txt": "hi\n"})
			if r := c.run("build", dir, "-o", filepath.Join(t.TempDir(), "x.wrun")); r.code != 0 {
				t.Errorf("build: %+v", r)
			}
			if r := c.run("publish", dir); r.code != 0 {
				t.Errorf("publish: %+v", r)
			}
			if r := c.run("pull", name+"@1.0.0"); r.code != 0 {
				t.Errorf("pull: %+v", r)
			}
		})
	}
	for _, name := range invalid {
		t.Run("invalid "+name, func(t *testing.T) {
			dir := catPackage(t, catManifest(name, "1.0.0"), map[string]string{"static/hello.txt": "hi\n"})
			c.run("build", dir, "-o", filepath.Join(t.TempDir(), "x.wrun")).wantError(t, "package.name", "kebab-case")
			c.run("publish", dir).wantError(t, "package.name", "kebab-case")
			c.run("pull", name+"@1.0.0").wantError(t, name)
		})
	}
}
