package wasmbin

import (
	"bytes"
	"errors"
	"testing"
)

func TestAppendVector(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		n       uint32
		entries []byte
		want    []byte
	}{
		{"empty payload", nil, 1, []byte{0xaa}, []byte{1, 0xaa}},
		{"empty vector", []byte{0}, 2, []byte{0xaa, 0xbb}, []byte{2, 0xaa, 0xbb}},
		{"keeps entries", []byte{1, 0x11}, 1, []byte{0x22}, []byte{2, 0x11, 0x22}},
		{"padded count re-encoded minimally", []byte{0x81, 0x80, 0x00, 0x11}, 1, []byte{0x22}, []byte{2, 0x11, 0x22}},
		{"count crosses one byte", append([]byte{127}, make([]byte, 127)...), 1, []byte{0x22},
			append(append([]byte{0x80, 0x01}, make([]byte, 127)...), 0x22)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendVector(tc.payload, 0, tc.n, tc.entries)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got % x, want % x", got, tc.want)
			}
		})
	}
}

func TestAppendVectorMalformed(t *testing.T) {
	_, err := AppendVector([]byte{0x80}, 7, 1, nil)
	var we *Error
	if !errors.As(err, &we) || we.Offset != 7 {
		t.Fatalf("got %v, want *Error at offset 7", err)
	}
}
