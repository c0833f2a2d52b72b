// Package wasmbin is wrun's one WebAssembly binary section codec: it splits a
// module (or component) into its ordered sections with their raw payloads and
// offsets, re-encodes them byte for byte, and decodes and encodes the section
// contents the bundle and pre-initialization code need: the custom sections
// name, producers and the wasm-tools metadata sections, the data section's
// segments, globals, memories, imports, exports, a types summary, data count
// and start.
//
// Parsing never trusts a declared size: every length is checked against the
// bytes that remain before anything is allocated, and a malformed length or a
// section running past the end is an *Error carrying the byte offset. Parse
// accepts at most MaxSections sections. CheckCounts is the front door to
// other decoders (wazero's): it walks a core module as wazero decodes it and
// refuses any section or vector count larger than the bytes that remain,
// and locals past MaxFunctionLocals (50,000) per function.
//
// Round trip: Encode(Parse(b)) == b for every b Parse accepts. Sections keep
// the width of their size (and custom name) LEB128 encodings, so padded
// encodings written by some linkers are reproduced; a section whose payload
// changes size is re-encoded with the same width when it still fits, else
// minimally.
package wasmbin
