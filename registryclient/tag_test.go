package registryclient

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/registrytest"
)

// TestBuildMetadataVersion: a version with build metadata (1.0.1+build.7)
// publishes and pulls alike in the local store and a real registry (whose
// tags cannot hold '+'): the tag is 1.0.1_build.7 in both, and listing
// maps it back.
func TestBuildMetadataVersion(t *testing.T) {
	reg := registrytest.Start(t)
	for _, registry := range []string{LocalRegistry, reg.Host} {
		t.Run(registry, func(t *testing.T) {
			h := testHome(t)
			c, _ := newClient(t, Options{Home: h.Data, Registry: registry})
			publishDir(t, c, plainPackage(t, "example:hello", "1.0.1+build.7"))
			publishDir(t, c, plainPackage(t, "example:hello", "1.0.1+build.7")) // the same again: a no-op
			publishDir(t, c, appPackage(t, "example:app", "2.0.0-rc.1+exp.sha.5114f85"))
			ls, err := c.List(context.Background(), "example:hello")
			if err != nil || len(ls) != 1 || strings.Join(ls[0].Versions, " ") != "1.0.1+build.7" {
				t.Fatalf("List = %+v, %v", ls, err)
			}
			ref, _ := c.Reference("example:hello", "1.0.1+build.7")
			if !strings.HasSuffix(ref, "example/hello:1.0.1_build.7") {
				t.Errorf("Reference = %s, want the tag 1.0.1_build.7", ref)
			}
			for _, pull := range []string{"example:hello@1.0.1+build.7", "example:hello@^1", "example:app@2.0.0-rc.1+exp.sha.5114f85"} {
				c2, _ := newClient(t, Options{Home: testHome(t).Data, Registry: registry})
				if registry == LocalRegistry {
					c2, _ = newClient(t, Options{Home: h.Data, Registry: registry})
				}
				r := mustPull(t, c2, pull)
				if v := r.Root.Version(); !strings.Contains(v, "+") {
					t.Errorf("Pull(%s) version %q", pull, v)
				}
				r.Root.Close()
			}
			long := "1.0.0+" + strings.Repeat("b", 123)
			p := loadDir(t, plainPackage(t, "example:hello", long))
			_, err = c.Publish(context.Background(), p)
			if !errors.Is(err, ErrInvalidRef) || !strings.Contains(err.Error(), "129 characters") || !strings.Contains(err.Error(), "128") {
				t.Errorf("Publish of a %d-byte version = %v, want a refusal naming the 128-character limit", len(long), err)
			}
		})
	}
}
