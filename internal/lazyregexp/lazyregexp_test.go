package lazyregexp

import (
	"sync"
	"testing"
)

// TestNew: the expression compiles once, on first use, and every caller
// (concurrent ones included) gets the same compiled value.
func TestNew(t *testing.T) {
	re := New(`^a+$`)
	var wg sync.WaitGroup
	got := make(chan any, 8)
	for range 8 {
		wg.Go(func() { got <- re() })
	}
	wg.Wait()
	close(got)
	first := re()
	for g := range got {
		if g != first {
			t.Fatal("New returned different values to different callers")
		}
	}
	if !first.MatchString("aaa") || first.MatchString("ab") {
		t.Fatal("wrong expression")
	}
}

// TestNewInvalidIsLazy: an invalid expression does not panic until used.
func TestNewInvalidIsLazy(t *testing.T) {
	re := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("using an invalid expression did not panic")
		}
	}()
	re()
}
