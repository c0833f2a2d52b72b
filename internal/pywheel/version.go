package pywheel

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wrun-dev/wrun/internal/lazyregexp"
)

// ErrVersion is wrapped by every error about a PEP 440 version or specifier
// that cannot be parsed or has no semver form.
var ErrVersion = errors.New("version")

// PEP440 is a parsed PEP 440 version.
type PEP440 struct {
	Epoch   int
	Release []int  // at least one component, as written (1.0 has two)
	Pre     string // "", "a", "b" or "rc"
	PreN    int
	Post    bool
	PostN   int
	Dev     bool
	DevN    int
	Local   string // normalized, "" when none
}

// versionRE is PEP 440's VERSION_PATTERN (the one packaging uses), anchored.
var versionRE = lazyregexp.New(`(?i)^\s*v?(?:(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)([-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?([0-9]+)?)?((?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?([-_.]?(dev)[-_.]?([0-9]+)?)?)(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)

// ParseVersion parses a PEP 440 version in any of its accepted spellings
// (1.0-rc.1, 1.0C1, v1.0.post-2, ...).
func ParseVersion(s string) (PEP440, error) {
	m := versionRE().FindStringSubmatch(s)
	if m == nil {
		return PEP440{}, fmt.Errorf("%w %q is not a PEP 440 version", ErrVersion, s)
	}
	var v PEP440
	var err error
	num := func(s string) int {
		if s == "" || err != nil {
			return 0
		}
		n, e := strconv.Atoi(s)
		if e != nil || n > 1<<40 {
			err = fmt.Errorf("%w %q: number %s is too large", ErrVersion, s, s)
		}
		return n
	}
	v.Epoch = num(m[1])
	for _, c := range strings.Split(m[2], ".") {
		v.Release = append(v.Release, num(c))
	}
	if m[3] != "" {
		switch strings.ToLower(m[4]) {
		case "a", "alpha":
			v.Pre = "a"
		case "b", "beta":
			v.Pre = "b"
		default:
			v.Pre = "rc"
		}
		v.PreN = num(m[5])
	}
	if m[6] != "" {
		v.Post = true
		v.PostN = num(m[7] + m[9])
	}
	if m[10] != "" {
		v.Dev = true
		v.DevN = num(m[12])
	}
	if m[13] != "" {
		v.Local = strings.ToLower(strings.NewReplacer("-", ".", "_", ".").Replace(m[13]))
	}
	return v, err
}

// String is the normalized form (1.0rc1, 2!1.0.post2.dev3+local).
func (v PEP440) String() string {
	var b strings.Builder
	if v.Epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.Epoch)
	}
	for i, c := range v.Release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(c))
	}
	if v.Pre != "" {
		fmt.Fprintf(&b, "%s%d", v.Pre, v.PreN)
	}
	if v.Post {
		fmt.Fprintf(&b, ".post%d", v.PostN)
	}
	if v.Dev {
		fmt.Fprintf(&b, ".dev%d", v.DevN)
	}
	if v.Local != "" {
		b.WriteString("+" + v.Local)
	}
	return b.String()
}

// IsPrerelease reports a dev or pre release (PEP 440's definition).
func (v PEP440) IsPrerelease() bool { return v.Pre != "" || v.Dev }

// release returns the release with trailing zeros dropped (1.0.0 == 1).
func (v PEP440) release() []int {
	r := v.Release
	for len(r) > 1 && r[len(r)-1] == 0 {
		r = r[:len(r)-1]
	}
	return r
}

// Compare orders versions as PEP 440 does (packaging's _cmpkey); local
// labels compare as strings after the public version.
func Compare(a, b PEP440) int {
	if c := cmp.Compare(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	ra, rb := a.release(), b.release()
	for i := range max(len(ra), len(rb)) {
		x, y := 0, 0
		if i < len(ra) {
			x = ra[i]
		}
		if i < len(rb) {
			y = rb[i]
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	if c := slices.Compare(a.key(), b.key()); c != 0 {
		return c
	}
	return cmp.Compare(a.Local, b.Local)
}

// key is the pre/post/dev part of packaging's _cmpkey as integers.
func (v PEP440) key() []int {
	const inf = 1 << 50
	pre := []int{inf, 0}
	switch {
	case v.Pre != "":
		pre = []int{map[string]int{"a": 0, "b": 1, "rc": 2}[v.Pre], v.PreN}
	case !v.Post && v.Dev:
		pre = []int{-inf, 0}
	}
	post := -inf
	if v.Post {
		post = v.PostN
	}
	dev := inf
	if v.Dev {
		dev = v.DevN
	}
	return append(pre, post, dev)
}

// Semver maps a PEP 440 version to the semver version wrun publishes it
// as. The rule keeps PEP 440's order (README "Python libraries"):
//
//	3.3              3.3.0
//	1.2.3.0          1.2.3            (trailing zeros dropped)
//	1.0.dev3         1.0.0-1.dev.3
//	1.0a1            1.0.0-2.a.1      (alpha, beta, c, pre, preview: a, b, rc)
//	1.0b2            1.0.0-3.b.2
//	1.0rc1           1.0.0-4.rc.1
//	1.0.post1        1.0.1-0.0.post.1 (after 1.0.0, before 1.0.1.dev0)
//	1.2.3.4          1.2.4-0.4
//	1.2.3.4.post2    1.2.4-0.4.post.2
//	1.0.0+repack     1.0.0+repack     (local label: build metadata, no order)
//
// A local label becomes semver build metadata, which semver does not order:
// 1.0+a and 1.0+b have the same precedence (PEP 440 orders them), so a
// range may pick either. It refuses, naming the version: an epoch other
// than 0, more than four release components, and the combinations that
// have no place in this order: a pre-release with a post or dev part
// (1.0a1.dev2), a post-release with a dev part, a four-component version
// with a pre-release or dev part.
func Semver(v PEP440) (string, error) {
	s, err := semverPublic(v)
	if err != nil || v.Local == "" {
		return s, err
	}
	return s + "+" + v.Local, nil
}

func semverPublic(v PEP440) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w %s: %s, which wrun's semver mapping cannot order (README \"Python libraries\")", ErrVersion, v, why)
	}
	if v.Epoch != 0 {
		return bad("an epoch")
	}
	r := v.release()
	if len(r) > 4 {
		return bad("more than four release components")
	}
	r3 := append(append([]int(nil), r...), 0, 0, 0)[:max(3, len(r))]
	base := fmt.Sprintf("%d.%d.%d", r3[0], r3[1], r3[2])
	if len(r) <= 3 && !v.Post {
		switch {
		case v.Pre != "" && v.Dev:
			return bad("a pre-release with a dev part")
		case v.Pre != "":
			phase := map[string]int{"a": 2, "b": 3, "rc": 4}[v.Pre]
			return fmt.Sprintf("%s-%d.%s.%d", base, phase, v.Pre, v.PreN), nil
		case v.Dev:
			return fmt.Sprintf("%s-1.dev.%d", base, v.DevN), nil
		}
		return base, nil
	}
	// Between base and the next patch: a pre-release of the next patch in
	// its zone 0, below that patch's own dev and pre releases.
	if v.Pre != "" || v.Dev {
		return bad("a post-release or a fourth release component with a pre-release or dev part")
	}
	next := fmt.Sprintf("%d.%d.%d", r3[0], r3[1], r3[2]+1)
	fourth := 0
	if len(r) == 4 {
		fourth = r[3]
	}
	s := fmt.Sprintf("%s-0.%d", next, fourth)
	if v.Post {
		s += fmt.Sprintf(".post.%d", v.PostN)
	}
	return s, nil
}
