package pywheel

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/lazyregexp"
	textsafe "github.com/wrun-dev/wrun/internal/printable"
)

// ErrMetadata is wrapped by errors about a wheel's METADATA or WHEEL file.
var ErrMetadata = errors.New("metadata")

// Headers is an RFC 822-style metadata file (METADATA, WHEEL, PKG-INFO):
// each field with its values in order.
type Headers map[string][]string

// Get returns the first value of a field, "" when absent.
func (h Headers) Get(k string) string {
	if v := h[strings.ToLower(k)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ParseHeaders parses the header block of a metadata file (up to the first
// empty line; the body, the long description, is ignored). Field names are
// case-insensitive and stored lowercase; continuation lines are folded.
func ParseHeaders(b []byte) (Headers, error) {
	h := Headers{}
	last := ""
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("%w: a continuation line before any field", ErrMetadata)
			}
			vs := h[last]
			vs[len(vs)-1] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line %q is not \"Field: value\"", ErrMetadata, printable(line))
		}
		last = strings.ToLower(strings.TrimSpace(k))
		h[last] = append(h[last], strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	return h, nil
}

var nameRunRE = lazyregexp.New(`[-_.]+`)

// NormalizeName is PEP 503's name normalization: lowercase, every run of
// "-", "_" and "." one "-" (Zope.Interface → zope-interface).
func NormalizeName(s string) string {
	return nameRunRE().ReplaceAllString(strings.ToLower(strings.TrimSpace(s)), "-")
}

// PackageName returns the wrun package name of a distribution:
// "pypi:" + its PEP 503 name. A name that is not a wrun label (a word
// starting with a digit, as in "2to3" or "py-3x") is refused: any rewrite
// could collide with another distribution's name.
func PackageName(dist string) (string, error) {
	n := "pypi:" + NormalizeName(dist)
	if err := bundle.ValidateName(n); err != nil {
		return "", fmt.Errorf("distribution %q normalizes to %q, which is not a wrun package name (every hyphen-separated word must start with a letter); wrun cannot import it: %w", printable(dist), n, err)
	}
	return n, nil
}

// Requirement is one Requires-Dist entry (PEP 508).
type Requirement struct {
	Name      string // as written
	Extras    []string
	Specifier string // PEP 440 specifier set, "" for any
	Marker    string // "" for none
}

var reqRE = lazyregexp.New(`^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$`)

// ParseRequirement parses a PEP 508 requirement. A direct reference
// (name @ url) is refused: a wrun package depends on a version range.
func ParseRequirement(s string) (Requirement, error) {
	spec, marker, _ := strings.Cut(s, ";")
	m := reqRE().FindStringSubmatch(spec)
	if m == nil {
		return Requirement{}, fmt.Errorf("%w: requirement %q is not PEP 508", ErrMetadata, printable(s))
	}
	r := Requirement{Name: m[1], Marker: strings.TrimSpace(marker)}
	for _, e := range strings.Split(m[2], ",") {
		if e = strings.TrimSpace(e); e != "" {
			r.Extras = append(r.Extras, NormalizeName(e))
		}
	}
	v := strings.TrimSpace(m[3])
	if strings.HasPrefix(v, "@") {
		return Requirement{}, fmt.Errorf("%w: requirement %q is a direct URL reference; wrun dependencies are version ranges", ErrMetadata, printable(s))
	}
	if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	if _, err := ParseSpecifiers(v); err != nil {
		return Requirement{}, fmt.Errorf("requirement %q: %w", printable(s), err)
	}
	r.Specifier = v
	return r, nil
}

// printable escapes what a terminal must not see raw (internal/printable).
func printable(s string) string { return textsafe.String(s) }
