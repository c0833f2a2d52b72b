package pywheel

import (
	"errors"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// The README's table: each PEP 440 version and the semver it maps to.
func TestSemverTable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"3.3", "3.3.0"},
		{"1", "1.0.0"},
		{"1.2.3", "1.2.3"},
		{"1.2.3.0", "1.2.3"},
		{"v1.2", "1.2.0"},
		{"1.0.dev3", "1.0.0-1.dev.3"},
		{"1.0.dev", "1.0.0-1.dev.0"},
		{"1.0a1", "1.0.0-2.a.1"},
		{"1.0alpha1", "1.0.0-2.a.1"},
		{"1.0b2", "1.0.0-3.b.2"},
		{"1.0-beta.2", "1.0.0-3.b.2"},
		{"1.0rc1", "1.0.0-4.rc.1"},
		{"1.0c1", "1.0.0-4.rc.1"},
		{"1.0.post1", "1.0.1-0.0.post.1"},
		{"1.0-1", "1.0.1-0.0.post.1"},
		{"1.0.rev2", "1.0.1-0.0.post.2"},
		{"1.2.3.4", "1.2.4-0.4"},
		{"1.2.3.4.post2", "1.2.4-0.4.post.2"},
		{"0!2.0", "2.0.0"},
		{"1.0.0+repack", "1.0.0+repack"},
		{"1.0+Ubuntu-1", "1.0.0+ubuntu.1"},
	} {
		v, err := ParseVersion(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		got, err := Semver(v)
		if err != nil || got != c.want {
			t.Errorf("Semver(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if _, err := semver.StrictNewVersion(got); err != nil {
			t.Errorf("%s → %q is not strict semver: %v", c.in, got, err)
		}
	}
}

func TestSemverRefused(t *testing.T) {
	for _, in := range []string{"1!1.0", "1.2.3.4.5", "1.0a1.dev2", "1.0a1.post1", "1.0.post1.dev2", "1.2.3.4.dev1", "1.2.3.4a1"} {
		v, err := ParseVersion(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got, err := Semver(v); !errors.Is(err, ErrVersion) {
			t.Errorf("Semver(%s) = %q, %v; want an error", in, got, err)
		}
	}
	for _, in := range []string{"", "1.0-", "abc", "1..0", "1.0 beta"} {
		if _, err := ParseVersion(in); !errors.Is(err, ErrVersion) {
			t.Errorf("ParseVersion(%q): %v, want an error", in, err)
		}
	}
}

// The mapping keeps PEP 440's order: every pair of versions compares the
// same way before and after.
func TestSemverOrder(t *testing.T) {
	ordered := []string{
		"0.9", "0.9.post1", "0.9.0.1", "0.9.0.1.post1", "0.9.0.2",
		"1.0.dev0", "1.0.dev3", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0rc2", "1.0",
		"1.0.post0", "1.0.post1", "1.0.post10", "1.0.0.1", "1.0.0.1.post1", "1.0.0.5",
		"1.0.1.dev1", "1.0.1a1", "1.0.1", "1.1.dev0", "1.1", "2.0", "10.0",
	}
	var pv []PEP440
	var sv []*semver.Version
	for _, s := range ordered {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Semver(v)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		pv = append(pv, v)
		sv = append(sv, semver.MustParse(m))
	}
	for i := range ordered {
		for j := range ordered {
			want := Compare(pv[i], pv[j])
			if (i < j) != (want < 0) || (i == j) != (want == 0) {
				t.Errorf("PEP 440 Compare(%s, %s) = %d", ordered[i], ordered[j], want)
			}
			if got := sv[i].Compare(sv[j]); got != want {
				t.Errorf("semver %s vs %s = %d, PEP 440 %s vs %s = %d", sv[i], sv[j], got, ordered[i], ordered[j], want)
			}
		}
	}
}

func TestRange(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "*"},
		{">=2.0", ">=2.0.0"},
		{"<3", "<3.0.0"},
		{"==1.4.2", "=1.4.2"},
		{"==1.*", ">=1.0.0, <2.0.0"},
		{"==1.4.*", ">=1.4.0, <1.5.0"},
		{"~=1.4", ">=1.4.0, <2.0.0"},
		{"~=1.4.5", ">=1.4.5, <1.5.0"},
		{"!=1.3", "!=1.3.0"},
		{">=1.0, <2", ">=1.0.0, <2.0.0"},
		{">=1.0,!=1.3.*", ">=1.0.0, <1.3.0 || >=1.0.0, >=1.4.0"},
		{">1.0rc1", ">1.0.0-4.rc.1"},
	} {
		specs, err := ParseSpecifiers(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		got, err := Range(specs)
		if err != nil || got != c.want {
			t.Errorf("Range(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"===1.0", ">=1.0.*", "~=1", "=>1.0", ">=1.0+local"} {
		specs, err := ParseSpecifiers(in)
		if err == nil {
			_, err = Range(specs)
		}
		if !errors.Is(err, ErrVersion) {
			t.Errorf("%q: %v, want an ErrVersion", in, err)
		}
	}
}

// A range matches the semver of exactly the versions the specifier set
// matches (among versions that are not pre-releases).
func TestRangeAgreesWithPEP440(t *testing.T) {
	versions := []string{"0.9", "1.0", "1.2", "1.3", "1.3.5", "1.4", "1.4.5", "1.4.9", "1.5", "2.0", "2.1", "3.0"}
	for _, spec := range []string{">=1.3", ">1.3", "<=1.4", "<2", "==1.4.5", "==1.*", "==1.4.*", "~=1.4", "~=1.4.5", "!=1.3", "!=1.3.*", ">=1.0,<2,!=1.4.*"} {
		specs, err := ParseSpecifiers(spec)
		if err != nil {
			t.Fatal(err)
		}
		rng, err := Range(specs)
		if err != nil {
			t.Fatal(err)
		}
		c, err := semver.NewConstraint(rng)
		if err != nil {
			t.Fatalf("%s → %q: %v", spec, rng, err)
		}
		for _, vs := range versions {
			v, _ := ParseVersion(vs)
			s, _ := Semver(v)
			if want, got := Matches(specs, v), c.Check(semver.MustParse(s)); want != got {
				t.Errorf("%s on %s: PEP 440 %t, range %q %t", spec, vs, want, rng, got)
			}
		}
	}
}
