package bundle

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles a regular expression on first use instead of at
// program start: every wrun command links this package, and start-up time
// is what `wrun run` is measured on.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
