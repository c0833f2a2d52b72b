package wasmbin

import "sort"

func sortStable(s []Section, less func(a, b Section) bool) {
	sort.SliceStable(s, func(i, j int) bool { return less(s[i], s[j]) })
}
