package bundle

import (
	"fmt"
	"strings"
)

// ValidateName checks a package name, "namespace:name", and returns an
// error wrapping ErrInvalidName if it is not one. It is the one rule for
// package names: the manifest check (package.name, [dependencies],
// run.runtime) and the registry client (publish, pull, ls) both use it.
//
// The rule is the component model's and wasm-pkg-tools': namespace and
// name are each a label (ValidateLabel).
func ValidateName(s string) error {
	ns, name, ok := strings.Cut(s, ":")
	if !ok || ValidateLabel(ns) != nil || ValidateLabel(name) != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, s, nameRule)
	}
	return nil
}

// nameRule says what a package name is, for errors.
const nameRule = "want namespace:name, each lowercase kebab-case (words of letters and digits, each starting with a letter, joined by single hyphens), e.g. example:hello"

// ValidateLabel checks one label of a package name (a namespace or a
// name): lowercase kebab-case, words of ASCII lowercase letters and digits
// joined by single hyphens, every word starting with a letter ("hello",
// "hello-world2"; not "hello-2", "Hello", "hello--world" or "hello-"). This
// is the component model's <label> with its lowercase <word>s, as
// wasm-pkg-tools validates package names.
func ValidateLabel(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: label %q: %s; want lowercase kebab-case, e.g. hello-world", ErrInvalidName, s, why)
	}
	if s == "" {
		return bad("empty")
	}
	for _, word := range strings.Split(s, "-") {
		if word == "" {
			return bad("empty word (a leading, trailing or double hyphen)")
		}
		if c := word[0]; c < 'a' || c > 'z' {
			return bad(fmt.Sprintf("word %q does not start with a lowercase letter", word))
		}
		for i := 1; i < len(word); i++ {
			if c := word[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return bad(fmt.Sprintf("word %q holds %q; only lowercase letters and digits are allowed", word, c))
			}
		}
	}
	return nil
}
