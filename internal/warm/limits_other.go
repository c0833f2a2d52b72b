//go:build !linux

package warm

// Limits returns nothing: the server runs on Linux only.
func Limits() map[string]uint64 { return nil }
