// Package kv holds the one rule for KEY=VALUE settings: --env flags of
// `wrun run` and `wrun preinit`, preinit.Options.Env entries, and the
// environment names and values of a manifest.
package kv

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid means a setting is not KEY=VALUE with a valid KEY and VALUE.
var ErrInvalid = errors.New("want KEY=VALUE")

// Parse splits s at its first '=': the key is what comes before and must
// be a valid name (CheckName); the value is everything after, which may
// be empty and may contain '=' but no NUL byte. Errors wrap ErrInvalid
// and say what is wrong, without repeating s.
func Parse(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("%w: there is no '='", ErrInvalid)
	}
	if err := Check(key, value); err != nil {
		return "", "", err
	}
	return key, value, nil
}

// Check checks a key and a value given apart, by the rule Parse applies.
func Check(key, value string) error {
	if err := CheckName(key); err != nil {
		return err
	}
	if strings.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("%w: the value contains a NUL byte, which no environment variable can hold", ErrInvalid)
	}
	return nil
}

// CheckName checks a key: non-empty, with no '=' and no NUL byte (what an
// environment variable's name can be).
func CheckName(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: the KEY before '=' is empty", ErrInvalid)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: the KEY contains a NUL byte", ErrInvalid)
	case strings.IndexByte(key, '=') >= 0:
		return fmt.Errorf("%w: the KEY contains '='", ErrInvalid)
	}
	return nil
}
