package registryclient

import (
	"errors"

	"github.com/wrun-dev/wrun/bundle"
)

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is) together with the reference, digest or media type at fault.
var (
	// ErrInvalidRef: a reference, package name or version range is malformed.
	ErrInvalidRef = errors.New("invalid reference")
	// ErrNotFound: the package, version, tag or blob does not exist where it
	// was looked for. A partial cache entry is reported as not found.
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch: content does not match the digest (or size) it was
	// announced with; it was not stored. It is bundle.ErrDigestMismatch, so
	// one test matches a mismatch whichever layer found it (a tampered blob
	// here, a tampered file in bundle).
	ErrDigestMismatch = bundle.ErrDigestMismatch
	// ErrOffline: the operation needs the network and the client is offline.
	ErrOffline = errors.New("offline")
	// ErrConflict: no single version satisfies every range required for a
	// package.
	ErrConflict = errors.New("version conflict")
	// ErrInvalidConfig: config.toml is malformed.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrInvalidArtifact: a manifest is not a Wasm OCI artifact nor a wrun
	// package artifact.
	ErrInvalidArtifact = errors.New("invalid artifact")
	// ErrSignature: a signature is missing where policy requires one, or does
	// not verify. It is the umbrella of this package's signature failures;
	// each also wraps the specific sentinel bundle found it with,
	// ErrSignatureInvalid or ErrUnsigned.
	ErrSignature = errors.New("signature")
	// ErrSignatureInvalid is bundle.ErrSignatureInvalid: a release signature
	// is malformed or does not verify against a key trusted for the
	// package's namespace.
	ErrSignatureInvalid = bundle.ErrSignatureInvalid
	// ErrUnsigned is bundle.ErrUnsigned: the package is unsigned but its
	// namespace has trusted keys.
	ErrUnsigned = bundle.ErrUnsigned
	// ErrUnreachable: the registry could not be reached.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrTimeout: a registry took longer than a network timeout (Timeouts)
	// to connect, to answer, or to move the next byte of a transfer.
	ErrTimeout = errors.New("registry timed out")
	// ErrProtocol: a registry's replies break the distribution protocol in
	// a way wrun cannot follow (a tag list that never ends).
	ErrProtocol = errors.New("registry protocol error")
)

// ErrExists: the version is already published with different content;
// versions are immutable, publish a new one.
var ErrExists = errors.New("version already published")
