package preinit

import (
	"reflect"
	"testing"
)

func TestNonZeroSpans(t *testing.T) {
	mem := make([]byte, 200)
	for _, i := range []int{3, 4, 5, 10, 60, 61, 100, 199} {
		mem[i] = 1
	}
	for _, tc := range []struct {
		name             string
		maxGap, maxSpans int
		want             []span
	}{
		{"exact", 0, 100, []span{{3, 6}, {10, 11}, {60, 62}, {100, 101}, {199, 200}}},
		{"gap 4 merges", 4, 100, []span{{3, 11}, {60, 62}, {100, 101}, {199, 200}}},
		{"cap merges smallest gaps", 0, 3, []span{{3, 11}, {60, 101}, {199, 200}}},
		{"cap 1", 0, 1, []span{{3, 200}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nonZeroSpans(mem, tc.maxGap, tc.maxSpans); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := nonZeroSpans(make([]byte, 1<<16), 32, 10); len(got) != 0 {
		t.Errorf("zero memory: got %v, want no spans", got)
	}
}
