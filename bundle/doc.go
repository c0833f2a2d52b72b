// Package bundle defines a wrun package byte for byte: the wrun.toml
// manifest, the content digest, the canonical archive (a bundle), release
// signatures, and the Wasm binary sections a package's metadata lives in.
//
// # Packages
//
// A Package comes from a directory (LoadDir), a bundle file (OpenFile,
// OpenArchive) or either (Load). It holds exactly the files its manifest
// names — wrun.toml, the [run] wasm and every regular file under each
// [[assets]] from — hashed while loaded. LoadDir refuses a symlink in any
// component of those paths (not only the last: "lnk/sub" with lnk -> /etc
// is refused) and reads through an os.Root of the directory, so nothing
// outside it is read. Every loader refuses a path that is both a file and
// a directory ("static/a" and "static/a/b"), and a [run] wasm that is a
// core module whose declared section or vector counts exceed its bytes
// (CheckWasm, before any decoder allocates from them). Digest is the
// files' content digest (ContentDigest, the SIG-Registries rule), the same
// for a directory and the bundle built from it. Files are read back with Open, ReadFile or FS
// (an fs.FS whose files are io.ReaderAt, served from the bundle without
// extracting), verified again at EOF. WriteArchive writes the canonical
// bundle and WriteLayer a registry layer, by one header rule: ustar, or
// PAX with one "path" record for a path ustar cannot hold (non-ASCII or
// too long).
//
// # Names
//
// ValidateName is the one package-name rule, used by the manifest check
// and the registry client alike: namespace:name, each a component-model
// label of lowercase kebab-case words, every word starting with a letter
// ("example:hello-world", not "example:hello-2").
//
// The bundle reader refuses, with errors wrapping ErrInvalidArchive and
// naming the entry: links and other non-regular entries, paths breaking
// ValidatePath (../, absolute, invalid UTF-8), duplicates, files the
// manifest does not name, a truncated archive or one missing its
// end-of-archive marker, an entry larger than its header or than the bytes
// that remain, and more than Options.MaxSize bytes of files (default
// DefaultMaxSize, 8 GiB). Nothing is allocated from a declared size.
//
// # Signatures
//
// Sign adds a release manifest and an Ed25519 signature, stored in the
// bundle as .wrun/release.json and .wrun/release.sig, outside the content
// index. Verify checks a package against a TrustStore (home.Dirs.Keys() on
// disk): a namespace with trusted keys requires a valid signature.
//
// # Wasm
//
// ReadMetadata and AddMetadata read and write the custom sections
// `wasm-tools metadata` uses. Explode and Assemble split a wasm into files
// (one per section, one per data segment, custom sections by name, nested
// core modules and components of a component recursively, layout.json for
// the rest) and back, byte for byte; a binary of more than
// wasmbin.MaxSections (10,000) sections, or one exploding into more than
// MaxExplodeFiles (100,000) files, is refused, and Assemble does not
// follow symlinks. WasmDigest — the content digest of a
// .wasm — is defined as the content digest of its exploded files;
// CanonicalWasmDigest ignores where custom sections sit. All of it goes
// through the one section codec, internal/wasmbin.
//
// README.md ("The package manifest") documents every manifest key.
package bundle
