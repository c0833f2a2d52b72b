package printable

import "testing"

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain/file.txt":  "plain/file.txt",
		"a\x1b[31mb":      `a\x1b[31mb`,
		"line\nfake: yes": `line\nfake: yes`,
		"tab\there":       `tab\there`,
		"back\\slash":     `back\\slash`,
		"bell\x07\x7f":    `bell\x07\x7f`,
		"bad\xffutf8":     `bad\xffutf8`,
		"c1\u009bcsi":     `c1\u009bcsi`,
		"rtl\u202eevil":   `rtl\u202eevil`,
		"héllo wörld 日本":  "héllo wörld 日本",
		"":                "",
		"nul\x00":         `nul\x00`,
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}
