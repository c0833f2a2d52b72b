package pywheel

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/wrun-dev/wrun/internal/lazyregexp"
)

// Specifier is one PEP 440 version clause: an operator and a version, with
// Prefix set for ==V.* and !=V.*.
type Specifier struct {
	Op      string // ~= == != <= >= < > ===
	Version PEP440
	Raw     string // the version as written
	Prefix  bool
}

var specRE = lazyregexp.New(`^\s*(~=|===|==|!=|<=|>=|<|>)\s*([^\s,;]+)\s*$`)

// ParseSpecifiers parses a comma-separated PEP 440 specifier set (">=2.0,
// !=2.1.*"); "" is the empty set, which every version satisfies.
func ParseSpecifiers(s string) ([]Specifier, error) {
	var out []Specifier
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		m := specRE().FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("%w specifier %q: want an operator (~= == != <= >= < >) and a version", ErrVersion, strings.TrimSpace(part))
		}
		sp := Specifier{Op: m[1], Raw: m[2]}
		ver := m[2]
		if sp.Op == "===" {
			return nil, fmt.Errorf("%w specifier %q: arbitrary equality (===) has no version order", ErrVersion, strings.TrimSpace(part))
		}
		if strings.HasSuffix(ver, ".*") {
			if sp.Op != "==" && sp.Op != "!=" {
				return nil, fmt.Errorf("%w specifier %q: a .* prefix is only allowed with == and !=", ErrVersion, strings.TrimSpace(part))
			}
			sp.Prefix = true
			ver = strings.TrimSuffix(ver, ".*")
		}
		v, err := ParseVersion(ver)
		if err != nil {
			return nil, fmt.Errorf("specifier %q: %w", strings.TrimSpace(part), err)
		}
		if sp.Op == "~=" && len(v.Release) < 2 {
			return nil, fmt.Errorf("%w specifier %q: ~= needs at least two release components", ErrVersion, strings.TrimSpace(part))
		}
		sp.Version = v
		out = append(out, sp)
	}
	return out, nil
}

// Matches reports whether v satisfies every specifier (PEP 440 rules,
// pre-releases included: markers compare interpreter versions, which are
// never pre-releases here).
func Matches(specs []Specifier, v PEP440) bool {
	for _, s := range specs {
		if !s.matches(v) {
			return false
		}
	}
	return true
}

func (s Specifier) matches(v PEP440) bool {
	pub := v
	pub.Local = ""
	switch s.Op {
	case "==", "!=":
		eq := Compare(pub, s.Version) == 0
		if s.Prefix {
			eq = hasPrefix(v, s.Version)
		}
		return eq == (s.Op == "==")
	case "<=":
		return Compare(pub, s.Version) <= 0
	case ">=":
		return Compare(pub, s.Version) >= 0
	case "<":
		return Compare(pub, s.Version) < 0
	case ">":
		return Compare(pub, s.Version) > 0
	case "~=":
		up := s.Version
		up.Release = up.Release[:len(up.Release)-1]
		up.Pre, up.Post, up.Dev = "", false, false
		return Compare(pub, s.Version) >= 0 && hasPrefix(v, up)
	}
	return false
}

// hasPrefix reports whether v's release starts with p's (zero-padded).
func hasPrefix(v, p PEP440) bool {
	if v.Epoch != p.Epoch {
		return false
	}
	for i, c := range p.Release {
		x := 0
		if i < len(v.Release) {
			x = v.Release[i]
		}
		if x != c {
			return false
		}
	}
	return true
}

// Range maps a PEP 440 specifier set to a Masterminds/semver range (the
// syntax of [dependencies] version): comma is AND, "||" is OR. The empty set
// is "*" (any version). Each version maps by Semver:
//
//	>=2.0        >=2.0.0
//	<3           <3.0.0
//	==1.4.2      =1.4.2
//	==1.*        >=1.0.0, <2.0.0
//	~=1.4        >=1.4.0, <2.0.0
//	~=1.4.5      >=1.4.5, <1.5.0
//	!=1.3        !=1.3.0
//	!=1.3.*      <1.3.0 || >=1.4.0   (distributed over the other clauses)
//
// A specifier whose version has no semver form is an error.
func Range(specs []Specifier) (string, error) {
	if len(specs) == 0 {
		return "*", nil
	}
	groups := [][]string{nil} // OR of ANDs
	and := func(alts ...[]string) {
		var next [][]string
		for _, g := range groups {
			for _, a := range alts {
				next = append(next, append(append([]string(nil), g...), a...))
			}
		}
		groups = next
	}
	for _, s := range specs {
		if s.Version.Local != "" {
			return "", fmt.Errorf("%w: specifier %s%s: a local version label has no semver order", ErrVersion, s.Op, s.Raw)
		}
		sv, err := Semver(s.Version)
		if err != nil {
			return "", fmt.Errorf("specifier %s%s: %w", s.Op, s.Raw, err)
		}
		switch s.Op {
		case ">=", "<=", "<", ">":
			and([]string{s.Op + sv})
		case "==", "!=":
			if !s.Prefix {
				op := map[string]string{"==": "=", "!=": "!="}[s.Op]
				and([]string{op + sv})
				break
			}
			lo, hi, err := prefixBounds(s.Version.Release)
			if err != nil {
				return "", fmt.Errorf("specifier %s%s: %w", s.Op, s.Raw, err)
			}
			if s.Op == "==" {
				and([]string{">=" + lo, "<" + hi})
			} else {
				and([]string{"<" + lo}, []string{">=" + hi})
			}
		case "~=":
			_, hi, err := prefixBounds(s.Version.Release[:len(s.Version.Release)-1])
			if err != nil {
				return "", fmt.Errorf("specifier %s%s: %w", s.Op, s.Raw, err)
			}
			and([]string{">=" + sv, "<" + hi})
		}
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, strings.Join(g, ", "))
	}
	out := strings.Join(parts, " || ")
	if _, err := semver.NewConstraint(out); err != nil {
		return "", fmt.Errorf("%w: range %q: %w", ErrVersion, out, err)
	}
	return out, nil
}

// prefixBounds returns the semver bounds [lo, hi) of the versions whose
// release starts with prefix (1 → 1.0.0, 2.0.0; 1.4 → 1.4.0, 1.5.0).
func prefixBounds(prefix []int) (lo, hi string, err error) {
	if len(prefix) > 3 {
		return "", "", fmt.Errorf("%w: a prefix of more than three components has no semver range", ErrVersion)
	}
	l := append(append([]int(nil), prefix...), 0, 0, 0)[:3]
	h := append([]int(nil), l...)
	h[len(prefix)-1]++
	for i := len(prefix); i < 3; i++ {
		h[i] = 0
	}
	return fmt.Sprintf("%d.%d.%d", l[0], l[1], l[2]), fmt.Sprintf("%d.%d.%d", h[0], h[1], h[2]), nil
}
