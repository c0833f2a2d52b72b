package bundle

import "github.com/wrun-dev/wrun/internal/lazyregexp"

// lazyRegexp is lazyregexp.New, the one home of compile-on-first-use
// regular expressions (shared with registryclient).
var lazyRegexp = lazyregexp.New
