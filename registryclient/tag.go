package registryclient

import (
	"fmt"
	"strings"
)

// MaxTagLen is the longest OCI tag (distribution spec:
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}).
const MaxTagLen = 128

// VersionTag is the OCI tag of a package version, in every store, local and
// remote alike: the version with '+' (semver build metadata, which a tag
// cannot hold) written '_', as Helm and other OCI tools do. semver has no
// '_', so TagVersion maps it back without ambiguity.
func VersionTag(version string) string { return strings.ReplaceAll(version, "+", "_") }

// TagVersion is the version a tag names (VersionTag reversed).
func TagVersion(tag string) string {
	if strings.HasPrefix(tag, "sha256:") {
		return tag
	}
	return strings.ReplaceAll(tag, "_", "+")
}

func tagVersion(tag string) string { return TagVersion(tag) }

// checkVersionTag refuses a version whose tag an OCI registry cannot store.
func checkVersionTag(name, version string) error {
	tag := VersionTag(version)
	if len(tag) > MaxTagLen {
		return fmt.Errorf("%w: %s@%s: the version makes an OCI tag of %d characters, over the %d that registries accept; shorten its prerelease or build metadata", ErrInvalidRef, name, version, len(tag), MaxTagLen)
	}
	return nil
}
