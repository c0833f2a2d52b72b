package registryclient

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Bounds on a paginated listing (tags/list, _catalog): a registry whose
// Link: rel="next" never ends is stopped with ErrProtocol.
const (
	maxListPages = 10000
	maxListItems = 1 << 20 // 1,048,576 tags or repositories
)

// pageGuard follows a listing page by page and stops it on a page seen
// before (a Link that loops) or past the bounds.
type pageGuard struct {
	what  string // "tags of example/hello at HOST"
	seen  map[[32]byte]bool
	pages int
	items int
}

func newPageGuard(what string) *pageGuard {
	return &pageGuard{what: what, seen: map[[32]byte]bool{}}
}

func (g *pageGuard) page(items []string) error {
	g.pages++
	g.items += len(items)
	key := sha256.Sum256([]byte(strings.Join(items, "\n")))
	switch {
	case g.seen[key]:
		return fmt.Errorf("%w: %s: page %d repeats an earlier page (the registry's Link: rel=\"next\" loops); stopped", ErrProtocol, g.what, g.pages)
	case g.pages > maxListPages:
		return fmt.Errorf("%w: %s: more than %d pages; stopped", ErrProtocol, g.what, maxListPages)
	case g.items > maxListItems:
		return fmt.Errorf("%w: %s: more than %d entries; stopped", ErrProtocol, g.what, maxListItems)
	}
	g.seen[key] = true
	return nil
}
