package linearmem

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestImageSparseSealed: an image holds only the pages its segments touch
// (two segments 256 MiB apart do not make the host write, or hold, the
// range between them), reads as the segments applied in order with zeros
// between, and nobody can write, grow or shrink its file once made.
func TestImageSparseSealed(t *testing.T) {
	const size = 4096 * PageSize // 256 MiB
	seg := bytes.Repeat([]byte{0xa5}, 300<<10)
	segs := []Segment{
		{Offset: size - uint64(len(seg)), Data: seg},
		{Offset: 8, Data: seg},
		{Offset: 4, Data: []byte("late")}, // overlaps the one before: applied after it
		{Offset: size / 2, Data: nil},
	}
	img, err := NewImage(size, segs)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	var st unix.Stat_t
	if err := unix.Fstat(img.file(), &st); err != nil {
		t.Fatal(err)
	}
	if held := st.Blocks * 512; held > 4<<20 {
		t.Errorf("the image's file holds %d bytes for %d bytes of segments, want the touched pages only", held, 2*len(seg)+4)
	}
	lo, hi := img.Bounds()
	got, err := ImageBytes(img, size)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	copy(want[8:], seg)
	copy(want[4:], "late")
	copy(want[size-uint64(len(seg)):], seg)
	if lo != 0 || hi != size || !bytes.Equal(got, want) {
		t.Errorf("the image [%d, %d) does not read as its segments applied in order", lo, hi)
	}
	if _, err := unix.Pwrite(img.file(), []byte("x"), 8); !errors.Is(err, unix.EPERM) {
		t.Errorf("write to the image's file: %v, want EPERM (sealed)", err)
	}
	for _, n := range []int64{0, size + 4096} {
		if err := unix.Ftruncate(img.file(), n); !errors.Is(err, unix.EPERM) {
			t.Errorf("truncating the image's file to %d: %v, want EPERM (sealed)", n, err)
		}
	}
}
