package linearmem

// ImageBytes reads the image's file: the bytes of a memory of size bytes
// that the image initializes (zero outside it).
func ImageBytes(im *Image, size uint64) ([]byte, error) {
	buf := make([]byte, size)
	return buf, im.readInto(buf)
}
