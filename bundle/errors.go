package bundle

import "errors"

// Sentinel errors. Every error the package returns that is about one of
// these conditions wraps the sentinel (test with errors.Is) and says which
// input and path it is about.
//
// ErrDigestMismatch, ErrSignatureInvalid and ErrUnsigned are the canonical
// values for those conditions across wrun: registryclient's sentinels of
// the same names are these values, so a caller tests one value whichever
// layer (a tampered file here, a tampered blob in the registry client)
// found it.
var (
	// ErrInvalidManifest: wrun.toml does not parse or validate.
	ErrInvalidManifest = errors.New("invalid manifest")
	// ErrInvalidPath: a path breaks the path rules (see ValidatePath).
	ErrInvalidPath = errors.New("invalid path")
	// ErrInvalidArchive: a bundle is not a well-formed wrun archive
	// (truncated, a symlink, a duplicate entry, an oversized entry, …).
	ErrInvalidArchive = errors.New("invalid bundle archive")
	// ErrMissingFile: the manifest names a file the package does not hold.
	ErrMissingFile = errors.New("file named by the manifest is missing")
	// ErrDigestMismatch: content does not match the digest it must have.
	ErrDigestMismatch = errors.New("content digest mismatch")
	// ErrSignatureInvalid: a release signature does not verify against any
	// key trusted for the package's namespace.
	ErrSignatureInvalid = errors.New("invalid release signature")
	// ErrUnsigned: the package is unsigned but its namespace has trusted
	// keys, so a signature is required.
	ErrUnsigned = errors.New("package is unsigned")
	// ErrTooLarge: an input exceeds the configured size limit.
	ErrTooLarge = errors.New("size limit exceeded")
	// ErrInvalidName: a package name or one of its labels breaks the name
	// rule (see ValidateName).
	ErrInvalidName = errors.New("invalid package name")
	// ErrNotExist: no such file in the package.
	ErrNotExist = errors.New("no such file in package")
)
