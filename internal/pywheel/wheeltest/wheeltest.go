// Package wheeltest builds real wheel files (PEP 427 zips with a .dist-info
// holding METADATA, WHEEL and a RECORD of sha256 hashes) for tests, from a
// description (Wheel, Write) or from a pure-Python distribution Debian
// installed on the host (FromDebian). Tests of hostile wheels take a
// well-formed wheel's Entries, change them and write them with WriteZip.
package wheeltest

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Wheel describes a wheel.
type Wheel struct {
	Name, Version string
	// Tag is the wheel's one tag, default "py3-none-any".
	Tag string
	// Files maps installed paths ("six.py", "pkg/__init__.py") to content;
	// "<dist-info>/..." paths (DistInfo) add files to the .dist-info.
	Files map[string]string
	// Requires are Requires-Dist values, Extras Provides-Extra values.
	Requires, Extras []string
	// Metadata holds more METADATA header lines ("Requires-Python: >=3.8").
	Metadata []string
	// EntryPoints, when set, is the .dist-info's entry_points.txt.
	EntryPoints string
	// NotPurelib writes Root-Is-Purelib: false into WHEEL.
	NotPurelib bool
}

// escape is the wheel file-name escaping of a name or version part.
func escape(s string) string { return regexp.MustCompile(`[-_.]+`).ReplaceAllString(s, "_") }

// DistInfo is the wheel's .dist-info directory name.
func (w Wheel) DistInfo() string {
	return escape(w.Name) + "-" + strings.ReplaceAll(w.Version, "-", "_") + ".dist-info"
}

// FileName is the wheel's PEP 427 file name.
func (w Wheel) FileName() string {
	tag := w.Tag
	if tag == "" {
		tag = "py3-none-any"
	}
	return escape(w.Name) + "-" + strings.ReplaceAll(w.Version, "-", "_") + "-" + tag + ".whl"
}

// Entry is one zip entry, written verbatim by WriteZip.
type Entry struct {
	Name string
	Data []byte
	Mode fs.FileMode // 0: a regular 0644 file
}

// Entries returns the entries of the well-formed wheel: the files in name
// order, then METADATA, WHEEL, entry_points.txt and RECORD (last, hashing
// all the others).
func (w Wheel) Entries() []Entry {
	di := w.DistInfo()
	var es []Entry
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range w.Files {
			if !yield(n) {
				return
			}
		}
	}) {
		es = append(es, Entry{Name: n, Data: []byte(w.Files[n])})
	}
	var md strings.Builder
	fmt.Fprintf(&md, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", w.Name, w.Version)
	for _, l := range w.Metadata {
		md.WriteString(l + "\n")
	}
	for _, e := range w.Extras {
		md.WriteString("Provides-Extra: " + e + "\n")
	}
	for _, r := range w.Requires {
		md.WriteString("Requires-Dist: " + r + "\n")
	}
	md.WriteString("\n" + w.Name + ", built by wheeltest.\n")
	es = append(es, Entry{Name: di + "/METADATA", Data: []byte(md.String())})
	tag := w.Tag
	if tag == "" {
		tag = "py3-none-any"
	}
	es = append(es, Entry{Name: di + "/WHEEL", Data: fmt.Appendf(nil, "Wheel-Version: 1.0\nGenerator: wheeltest\nRoot-Is-Purelib: %t\nTag: %s\n", !w.NotPurelib, tag)})
	if w.EntryPoints != "" {
		es = append(es, Entry{Name: di + "/entry_points.txt", Data: []byte(w.EntryPoints)})
	}
	return append(es, Entry{Name: di + "/RECORD", Data: Record(es, di+"/RECORD")})
}

// Record returns a RECORD listing entries with their sha256 hashes and
// sizes, and itself (name) without.
func Record(entries []Entry, name string) []byte {
	var b strings.Builder
	for _, e := range entries {
		s := sha256.Sum256(e.Data)
		fmt.Fprintf(&b, "%s,sha256=%s,%d\n", e.Name, base64.RawURLEncoding.EncodeToString(s[:]), len(e.Data))
	}
	fmt.Fprintf(&b, "%s,,\n", name)
	return []byte(b.String())
}

// Write writes the wheel into dir under its FileName and returns its path.
func Write(t testing.TB, dir string, w Wheel) string {
	t.Helper()
	p := filepath.Join(dir, w.FileName())
	WriteZip(t, p, w.Entries())
	return p
}

// WriteZip writes entries, in order and verbatim (duplicates, odd names and
// symbolic links included), as a deflated zip with fixed times.
func WriteZip(t testing.TB, path string, entries []Entry) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(e.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// distPackages is where Debian installs Python 3 distributions.
const distPackages = "/usr/lib/python3/dist-packages/"

// FromDebian writes a wheel of the distribution the Debian package pkg
// (e.g. "python3-six") installed, into t.TempDir(), and returns its path.
func FromDebian(t testing.TB, pkg string) string {
	t.Helper()
	return Write(t, t.TempDir(), Debian(t, pkg))
}

// Debian describes the distribution the Debian package pkg installed as a
// Wheel: its files under /usr/lib/python3/dist-packages (from `dpkg -L`,
// bytecode left out) and its metadata from its .dist-info (METADATA,
// entry_points.txt) or .egg-info (PKG-INFO as METADATA, requires.txt as
// Requires-Dist, entry_points.txt). A package that installed native
// extension modules gets the tag cp311-cp311-linux_x86_64 and
// Root-Is-Purelib: false, as pip would build it. A missing package fails
// the test with the apt-get command that installs it.
func Debian(t testing.TB, pkg string) Wheel {
	t.Helper()
	out, err := exec.Command("dpkg", "-L", pkg).Output()
	if err != nil {
		t.Fatalf("dpkg -L %s: %v: install it with `apt-get install -y %s`", pkg, err, pkg)
	}
	var info string
	files := map[string]string{}
	native := false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		p := sc.Text()
		rel, ok := strings.CutPrefix(p, distPackages)
		if !ok || rel == "" {
			continue
		}
		top, _, _ := strings.Cut(rel, "/")
		if strings.HasSuffix(top, ".egg-info") || strings.HasSuffix(top, ".dist-info") {
			info = distPackages + top
			continue
		}
		if strings.Contains(rel, "__pycache__/") || strings.HasSuffix(rel, ".pyc") {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[rel] = string(b)
		native = native || strings.HasSuffix(rel, ".so")
	}
	if info == "" {
		t.Fatalf("%s installed no .dist-info or .egg-info under %s", pkg, distPackages)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(info, name))
		if err != nil {
			return ""
		}
		return string(b)
	}
	md := read("METADATA")
	if md == "" {
		md = read("PKG-INFO")
	}
	head, _, _ := strings.Cut(strings.ReplaceAll(md, "\r\n", "\n"), "\n\n")
	w := Wheel{Files: files, EntryPoints: read("entry_points.txt")}
	hasRequires := false
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "name":
			w.Name = v
		case "version":
			w.Version = v
		case "metadata-version":
		case "provides-extra":
			w.Extras = append(w.Extras, v)
		case "requires-dist":
			hasRequires = true
			w.Requires = append(w.Requires, v)
		default:
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				if n := len(w.Metadata); n > 0 {
					w.Metadata[n-1] += "\n" + line
				}
				continue
			}
			w.Metadata = append(w.Metadata, line)
		}
	}
	if !hasRequires {
		extras, reqs := requiresTxt(read("requires.txt"))
		w.Requires = reqs
		for _, e := range extras {
			if !slices.Contains(w.Extras, e) {
				w.Extras = append(w.Extras, e)
			}
		}
	}
	if native {
		w.Tag, w.NotPurelib = "cp311-cp311-linux_x86_64", true
	}
	if w.Name == "" || w.Version == "" {
		t.Fatalf("%s: no Name or Version in %s", pkg, info)
	}
	return w
}

// requiresTxt turns an .egg-info requires.txt into Requires-Dist values:
// a "[extra]", "[:marker]" or "[extra:marker]" section adds that marker.
func requiresTxt(s string) (extras, reqs []string) {
	section := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			extra, marker, _ := strings.Cut(section, ":")
			var ms []string
			if marker != "" {
				ms = append(ms, "("+marker+")")
			}
			if extra != "" {
				if !slices.Contains(extras, extra) {
					extras = append(extras, extra)
				}
				ms = append(ms, `extra == "`+extra+`"`)
			}
			if len(ms) > 0 {
				line += "; " + strings.Join(ms, " and ")
			}
			reqs = append(reqs, line)
		}
	}
	return extras, reqs
}
