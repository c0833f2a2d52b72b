// Package pywheel turns Python wheels (PEP 427) into wrun library packages:
// the layout every Python library package has (README "Python libraries"):
//
//	wrun.toml          [package] name = "pypi:<name>", kind = "assets"
//	site-packages/     the wheel's modules, its .dist-info, __pycache__
//
// It reads a wheel as hostile input: the zip is checked entry by entry
// (no "..", absolute paths, backslashes, symbolic links, duplicate names or
// names that differ only in case), every file against its RECORD hash, the
// sizes against MaxFileSize and MaxTotalSize, the tags against what
// CPython 3.11 on wasm32-wasi can load (no native extensions).
//
// It maps PEP 440 versions to semver (Version), PEP 440 specifiers to
// Masterminds/semver ranges (Range) and evaluates PEP 508 markers for
// CPython 3.11.2 on wasm32-wasi (Env). It does not run Python: the caller
// passes a Compile function that byte-compiles the new site-packages with
// the runtime package (cmd/wrun does it through the wrun library).
package pywheel
