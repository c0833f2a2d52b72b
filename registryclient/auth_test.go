package registryclient

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// TestCredentialWiring: credentials come from config.toml's auth when set,
// else from Options.Credentials (here the docker config, DOCKER_CONFIG, and
// its helpers), and never from the docker config unasked.
func TestCredentialWiring(t *testing.T) {
	docker := t.TempDir()
	cfg := `{"auths":{"registry.example.com":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) + `"}}}`
	if err := os.WriteFile(filepath.Join(docker, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", docker)
	h := testHome(t)
	if err := os.WriteFile(h.Config(), []byte("[registry.\"static.example.com\".oci]\nauth = { username = \"bob\", password = \"pw\" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, Options{Home: h.Data, Credentials: DockerCredentials()})
	checkCredentials(t, c, map[string]auth.Credential{
		"registry.example.com": {Username: "alice", Password: "s3cret"},
		"static.example.com":   {Username: "bob", Password: "pw"},
		"other.example.com":    auth.EmptyCredential,
	})
	// Without Options.Credentials the library reads no docker config.
	c, _ = newClient(t, Options{Home: h.Data})
	checkCredentials(t, c, map[string]auth.Credential{
		"registry.example.com": auth.EmptyCredential,
		"static.example.com":   {Username: "bob", Password: "pw"},
	})
}

func checkCredentials(t *testing.T, c *Client, hosts map[string]auth.Credential) {
	t.Helper()
	for host, want := range hosts {
		tgt, err := c.config.RegistryTarget(host, "")
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.store(tgt, "ns/name")
		if err != nil {
			t.Fatal(err)
		}
		ac := s.(*remote.Repository).Client.(*auth.Client)
		got := auth.EmptyCredential // no Credential function: anonymous
		if ac.Credential != nil {
			if got, err = ac.Credential(context.Background(), host); err != nil {
				t.Fatal(err)
			}
		}
		if got != want {
			t.Errorf("%s: credential %+v, want %+v", host, got, want)
		}
		if tgt.PlainHTTP {
			t.Errorf("%s: plain HTTP for a non-loopback host", host)
		}
	}
}
