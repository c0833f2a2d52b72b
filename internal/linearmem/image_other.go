//go:build !linux

package linearmem

// NewImage is not available here (no memfd): it returns ErrNoImage.
func NewImage(size uint64, segs []Segment) (*Image, error) { return nil, ErrNoImage }

func (im *Image) closeFile() {}

func (im *Image) readInto([]byte) error { return ErrNoImage }
