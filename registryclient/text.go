package registryclient

import (
	"fmt"
	"strings"
	"unicode"
)

// sanitize makes text that came from a registry or an artifact safe to
// print: control and other non-graphic characters become \x.. or \u....
func sanitize(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsGraphic(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}
