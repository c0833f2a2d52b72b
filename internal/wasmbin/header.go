package wasmbin

// Kind is what the first 8 bytes of a file say it is.
type Kind int

const (
	// NotWasm: fewer than 4 bytes, or they are not Magic.
	NotWasm Kind = iota
	// Truncated: Magic, then fewer than 4 more bytes.
	Truncated
	// CoreModule: Magic and VersionModule (01 00 00 00).
	CoreModule
	// Component: Magic and a layer field (bytes 6 and 7) of 01 00,
	// whatever the version field (bytes 4 and 5, 0x0d today): the
	// component model's preamble, as IsComponent reads it.
	Component
	// UnknownVersion: Magic and any other version.
	UnknownVersion
)

// HeaderSize is the number of bytes Sniff needs to decide.
const HeaderSize = 8

// Sniff tells a core module from a component and from anything else by the
// first HeaderSize bytes of b; b may be longer. It is the one rule every
// caller uses, and the one parsePreamble applies.
func Sniff(b []byte) Kind {
	switch {
	case len(b) < 4 || [4]byte(b[:4]) != Magic:
		return NotWasm
	case len(b) < HeaderSize:
		return Truncated
	case [4]byte(b[4:8]) == VersionModule:
		return CoreModule
	case b[6] == 1 && b[7] == 0:
		return Component
	}
	return UnknownVersion
}
