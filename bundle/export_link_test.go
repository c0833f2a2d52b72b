package bundle

// SetMaxLinkedEntries lowers maxLinkedEntries for a test; the returned
// function restores it.
func SetMaxLinkedEntries(n int) (restore func()) {
	old := maxLinkedEntries
	maxLinkedEntries = n
	return func() { maxLinkedEntries = old }
}
