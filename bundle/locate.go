package bundle

import (
	"fmt"
	"strconv"
	"strings"
)

// locator finds the line a dotted key is defined on, for error messages.
// It understands the TOML a manifest is written in (tables, arrays of
// tables, dotted and quoted keys, one-line inline tables); for anything
// else it falls back to the line of the closest enclosing key, or 0.
type locator struct {
	keys  []string // "assets[1].to", `dependencies."example:lib".version`
	lines []int
}

var (
	headerRE = lazyRegexp(`^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)
	keyRE    = lazyRegexp(`^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=`)
	inlineRE = lazyRegexp(`(?:^|[{,])\s*((?:"[^"]*"|[A-Za-z0-9_-]+))\s*=`)
	indexRE  = lazyRegexp(`\[\d+\]`)
)

func newLocator(src string) *locator {
	l := &locator{}
	counts := map[string]int{}
	current := ""
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		if m := headerRE().FindStringSubmatch(line); m != nil {
			name := normKey(m[2])
			if m[1] == "[[" {
				counts[name]++
				current = fmt.Sprintf("%s[%d]", name, counts[name]-1)
			} else {
				current = name
			}
			l.add(current, n)
			continue
		}
		m := keyRE().FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := join(current, normKey(m[1]))
		l.add(key, n)
		rest := line[len(m[0]):]
		if j := strings.Index(rest, "{"); j >= 0 {
			for _, im := range inlineRE().FindAllStringSubmatch(rest[j:], -1) {
				l.add(join(key, normKey(im[1])), n)
			}
		}
	}
	return l
}

func (l *locator) add(k string, n int) {
	l.keys = append(l.keys, k)
	l.lines = append(l.lines, n)
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// normKey rewrites a TOML key into the form keyString produces.
func normKey(k string) string {
	var parts []string
	for _, p := range splitKey(k) {
		p = strings.TrimSpace(p)
		if u, err := strconv.Unquote(p); err == nil && strings.HasPrefix(p, `"`) {
			p = u
		} else if strings.HasPrefix(p, "'") && strings.HasSuffix(p, "'") && len(p) >= 2 {
			p = p[1 : len(p)-1]
		}
		if strings.ContainsAny(p, ".:\" ") || p == "" {
			p = fmt.Sprintf("%q", p)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ".")
}

func splitKey(k string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '.':
			out = append(out, k[start:i])
			start = i + 1
		}
	}
	return append(out, k[start:])
}

// line returns the line of key: an exact match, else a match ignoring
// array indices, else the line of the longest defined prefix.
func (l *locator) line(key string) int {
	for i, k := range l.keys {
		if k == key {
			return l.lines[i]
		}
	}
	plain := indexRE().ReplaceAllString(key, "")
	for i, k := range l.keys {
		if indexRE().ReplaceAllString(k, "") == plain {
			return l.lines[i]
		}
	}
	for p := key; p != ""; {
		j := strings.LastIndexAny(p, ".[")
		if j < 0 {
			break
		}
		p = p[:j]
		for i, k := range l.keys {
			if k == p {
				return l.lines[i]
			}
		}
	}
	return 0
}
