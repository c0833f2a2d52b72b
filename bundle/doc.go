// Package bundle defines a wrun package byte for byte: the wrun.toml manifest,
// the content digest, the canonical archive, release signatures, and the Wasm
// binary sections a package's metadata lives in.
package bundle
