package linearmem

import (
	"bytes"
	"testing"
)

// TestImageSliceFallback: a memory that could not be reserved (a slice)
// starts from the image's bytes too, and its writes do not reach the image.
func TestImageSliceFallback(t *testing.T) {
	img, err := NewImage(2*PageSize, []Segment{{Offset: 5, Data: []byte("abc")}, {Offset: PageSize + 7, Data: []byte("xyz")}})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	want := make([]byte, 2*PageSize)
	copy(want[5:], "abc")
	copy(want[PageSize+7:], "xyz")
	m := &sliceMemory{a: New(0), limit: 4 * PageSize, capHint: 2 * PageSize, image: img}
	buf := m.Reallocate(2 * PageSize)
	if !bytes.Equal(buf, want) {
		t.Fatalf("a slice memory does not start as its image")
	}
	buf[5] = 'X'
	if grown := m.Reallocate(3 * PageSize); !bytes.Equal(grown[:2*PageSize], append([]byte{}, buf...)) || grown[5] != 'X' {
		t.Errorf("growth lost the memory's contents")
	}
	got, err := ImageBytes(img, 2*PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("a slice memory's write reached the image")
	}
}
