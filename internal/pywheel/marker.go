package pywheel

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// ErrMarker is wrapped by errors about a PEP 508 environment marker.
var ErrMarker = errors.New("marker")

// Env is the PEP 508 marker environment.
type Env map[string]string

// WASI is the marker environment of the python:cpython runtime: CPython
// 3.11.2 on wasm32-wasi, as it reports itself (platform.system() and
// sys.platform are "wasi", os.name "posix", platform.machine() "wasm32",
// platform.release() and platform.version() "0.0.0").
func WASI() Env {
	return Env{
		"python_version":                 "3.11",
		"python_full_version":            "3.11.2",
		"os_name":                        "posix",
		"sys_platform":                   "wasi",
		"platform_system":                "wasi",
		"platform_machine":               "wasm32",
		"platform_release":               "0.0.0",
		"platform_version":               "0.0.0",
		"implementation_name":            "cpython",
		"implementation_version":         "3.11.2",
		"platform_python_implementation": "CPython",
		"extra":                          "",
	}
}

// WithExtra returns a copy of e with extra set (normalized).
func (e Env) WithExtra(extra string) Env {
	c := maps.Clone(e)
	c["extra"] = NormalizeName(extra)
	return c
}

// EvalMarker evaluates a PEP 508 marker expression in env.
func EvalMarker(marker string, env Env) (bool, error) {
	p := &markerParser{src: marker, env: env}
	if err := p.tokenize(); err != nil {
		return false, err
	}
	v, err := p.or()
	if err != nil {
		return false, err
	}
	if p.pos != len(p.toks) {
		return false, p.errorf("unexpected %q", p.toks[p.pos].s)
	}
	return v, nil
}

type token struct {
	s      string
	quoted bool
}

type markerParser struct {
	src  string
	env  Env
	toks []token
	pos  int
}

func (p *markerParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrMarker, p.src, fmt.Sprintf(format, args...))
}

func (p *markerParser) tokenize() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, token{s: string(c)})
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return p.errorf("unterminated string")
			}
			p.toks = append(p.toks, token{s: s[i+1 : i+1+j], quoted: true})
			i += j + 2
		case strings.ContainsRune("<>=!~", rune(c)):
			j := i
			for j < len(s) && strings.ContainsRune("<>=!~", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{s: s[i:j]})
			i = j
		case c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			p.toks = append(p.toks, token{s: s[i:j]})
			i = j
		default:
			return p.errorf("unexpected character %q", c)
		}
	}
	return nil
}

func (p *markerParser) peek(s string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && p.toks[p.pos].s == s
}

func (p *markerParser) or() (bool, error) {
	v, err := p.and()
	for err == nil && p.peek("or") {
		p.pos++
		var w bool
		w, err = p.and()
		v = v || w
	}
	return v, err
}

func (p *markerParser) and() (bool, error) {
	v, err := p.expr()
	for err == nil && p.peek("and") {
		p.pos++
		var w bool
		w, err = p.expr()
		v = v && w
	}
	return v, err
}

func (p *markerParser) expr() (bool, error) {
	if p.peek("(") {
		p.pos++
		v, err := p.or()
		if err != nil {
			return false, err
		}
		if !p.peek(")") {
			return false, p.errorf("missing )")
		}
		p.pos++
		return v, nil
	}
	lhs, lvar, err := p.value()
	if err != nil {
		return false, err
	}
	if p.pos >= len(p.toks) {
		return false, p.errorf("missing operator")
	}
	op := p.toks[p.pos].s
	p.pos++
	if op == "not" {
		if !p.peek("in") {
			return false, p.errorf("want \"not in\"")
		}
		p.pos++
		op = "not in"
	}
	rhs, rvar, err := p.value()
	if err != nil {
		return false, err
	}
	if lvar == "extra" || rvar == "extra" {
		lhs, rhs = NormalizeName(lhs), NormalizeName(rhs)
	}
	switch op {
	case "in":
		return strings.Contains(rhs, lhs), nil
	case "not in":
		return !strings.Contains(rhs, lhs), nil
	case "<", "<=", ">", ">=", "==", "!=", "~=", "===":
	default:
		return false, p.errorf("unknown operator %q", op)
	}
	if op == "===" {
		return lhs == rhs, nil
	}
	if v, err := ParseVersion(lhs); err == nil {
		if specs, err := ParseSpecifiers(op + rhs); err == nil {
			return Matches(specs, v), nil
		}
	}
	switch op {
	case "==":
		return lhs == rhs, nil
	case "!=":
		return lhs != rhs, nil
	}
	return false, p.errorf("%q %s %q compares strings that are not versions", lhs, op, rhs)
}

// value reads a quoted string or a marker variable, returning its value and
// the variable's name ("" for a string).
func (p *markerParser) value() (string, string, error) {
	if p.pos >= len(p.toks) {
		return "", "", p.errorf("missing value")
	}
	t := p.toks[p.pos]
	p.pos++
	if t.quoted {
		return t.s, "", nil
	}
	name := t.s
	switch name { // legacy spellings (setuptools' pkg_resources accepts them)
	case "os.name":
		name = "os_name"
	case "sys.platform":
		name = "sys_platform"
	case "platform.version":
		name = "platform_version"
	case "platform.machine":
		name = "platform_machine"
	case "platform.python_implementation", "python_implementation":
		name = "platform_python_implementation"
	}
	v, ok := p.env[name]
	if !ok {
		return "", "", p.errorf("unknown variable %q", t.s)
	}
	return v, name, nil
}
