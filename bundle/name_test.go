package bundle_test

import (
	"errors"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
)

// TestValidateName: the one package-name rule, and the manifest check
// agreeing with it in both directions.
func TestValidateName(t *testing.T) {
	valid := []string{"example:hello", "example:hello-world", "ex2:hello2-world3", "a:b", "wasi:http"}
	invalid := []string{
		"example:hello-2",      // a word starting with a digit (passed the manifest check before)
		"example:2hello",       // the label starting with a digit
		"Example:hello",        // uppercase
		"example:hello--world", // empty word
		"example:hello-",       // trailing hyphen
		"-example:hello",       // leading hyphen
		"ex_ample:hello",       // underscore
		"example:",             // empty name
		":hello",               // empty namespace
		"example",              // no colon
		"example:hello:x",      // two colons
		"example:héllo",        // non-ASCII
	}
	manifest := func(name string) error {
		_, err := bundle.ParseManifest("wrun.toml", []byte("[package]\nname = \""+name+"\"\nkind = \"assets\"\n"))
		return err
	}
	for _, n := range valid {
		if err := bundle.ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
		if err := manifest(n); err != nil {
			t.Errorf("manifest name %q: %v, want accepted", n, err)
		}
	}
	for _, n := range invalid {
		if err := bundle.ValidateName(n); !errors.Is(err, bundle.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := manifest(n); !errors.Is(err, bundle.ErrInvalidManifest) {
			t.Errorf("manifest name %q: %v, want ErrInvalidManifest", n, err)
		}
	}
}
