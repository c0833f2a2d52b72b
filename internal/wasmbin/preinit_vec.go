package wasmbin

// AppendVector appends n encoded entries to the payload of a section that is
// a vector (type, function, export, code, …): the count becomes count+n and
// entries is written after the existing entries, which are copied unchanged.
// An empty payload is an empty vector. base is the payload's offset in the
// input, for error messages.
func AppendVector(payload []byte, base int, n uint32, entries []byte) ([]byte, error) {
	var count uint32
	rest := payload
	if len(payload) > 0 {
		c, w, err := DecodeU32(payload)
		if err != nil {
			return nil, &Error{Offset: base, What: "vector length", Err: err}
		}
		count, rest = c, payload[w:]
	}
	if uint64(count)+uint64(n) > 1<<32-1 {
		return nil, &Error{Offset: base, What: "vector length", Err: ErrMalformed}
	}
	out := make([]byte, 0, SizeU32(count+n)+len(rest)+len(entries))
	out = AppendU32(out, count+n)
	out = append(out, rest...)
	return append(out, entries...), nil
}
