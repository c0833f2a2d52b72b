package warmstart

import "testing"

// The commands the warm server runs: run, test and a REF; never another
// command, a flag first, or nothing (this test binary's own arguments are
// flags, so its init hands nothing over).
func TestEligible(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"run", "x.wasm"}, true},
		{[]string{"test", "./app"}, true},
		{[]string{"example:hello@1.0.0"}, true},
		{[]string{"./pkg"}, true},
		{[]string{"server", "start"}, false},
		{[]string{"publish", "./pkg"}, false},
		{[]string{"inspect"}, false},
		{[]string{"--registry", "x", "example:hello"}, false},
		{[]string{"-test.run=TestEligible"}, false},
		{nil, false},
	} {
		if got := Eligible(c.args); got != c.want {
			t.Errorf("Eligible(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}
