package preinit

import (
	"encoding/binary"
	"sort"
)

// span is the byte range [start, end) of memory.
type span struct{ start, end int }

// nonZeroSpans returns the ranges of mem holding its non-zero bytes. Runs
// separated by at most maxGap zero bytes share a range; when more than
// maxSpans ranges remain, those separated by the smallest gaps are merged
// (ties: lower address first) until maxSpans remain.
func nonZeroSpans(mem []byte, maxGap, maxSpans int) []span {
	var spans []span
	n := len(mem)
	for i := 0; i < n; {
		// Skip zeros, a word at a time where possible.
		for i+8 <= n && binary.LittleEndian.Uint64(mem[i:]) == 0 {
			i += 8
		}
		for i < n && mem[i] == 0 {
			i++
		}
		if i == n {
			break
		}
		start := i
		for i < n && mem[i] != 0 {
			i++
		}
		if k := len(spans) - 1; k >= 0 && start-spans[k].end <= maxGap {
			spans[k].end = i
		} else {
			spans = append(spans, span{start, i})
		}
	}
	if len(spans) <= maxSpans {
		return spans
	}
	// merge[k] joins spans[k] and spans[k+1].
	gaps := make([]int, len(spans)-1)
	for k := range gaps {
		gaps[k] = k
	}
	sort.SliceStable(gaps, func(a, b int) bool {
		return spans[gaps[a]+1].start-spans[gaps[a]].end < spans[gaps[b]+1].start-spans[gaps[b]].end
	})
	merge := make([]bool, len(spans)-1)
	for _, k := range gaps[:len(spans)-maxSpans] {
		merge[k] = true
	}
	out := make([]span, 0, maxSpans)
	cur := spans[0]
	for k := 1; k < len(spans); k++ {
		if merge[k-1] {
			cur.end = spans[k].end
			continue
		}
		out = append(out, cur)
		cur = spans[k]
	}
	return append(out, cur)
}
