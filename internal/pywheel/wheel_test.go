package pywheel_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/bundle"
	"github.com/wrun-dev/wrun/internal/pywheel"
	"github.com/wrun-dev/wrun/internal/pywheel/wheeltest"
)

func demo() wheeltest.Wheel {
	return wheeltest.Wheel{
		Name: "Demo_Lib", Version: "1.4rc2",
		Files: map[string]string{
			"demo/__init__.py": "VALUE = 1\n",
			"demo_single.py":   "X = 2\n",
		},
		Extras: []string{"speed", "Test"},
		Requires: []string{
			"six>=1.10",
			"attrs (~=22.1)",
			`colorama; sys_platform == "win32"`,
			`tomli>=1.0; python_version < "3.11"`,
			`typing-extensions; python_version >= "3.8"`,
			`pytest>=7, !=7.1.*; extra == "test"`,
			`hypothesis; extra == "test" and os_name == "nt"`,
			`ujson; extra == "speed"`,
			`demo-lib[speed]; extra == "test"`,
		},
		EntryPoints: "[pytest11]\ndemo = demo\n",
	}
}

// A pure wheel becomes the library package layout of the shared contract.
func TestImportLayout(t *testing.T) {
	whl := wheeltest.Write(t, t.TempDir(), demo())
	out := t.TempDir()
	pkgs, err := pywheel.Import(context.Background(), []pywheel.Input{{Path: whl, Extras: []string{"test"}}}, out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, "pypi-demo-lib-1.4.0-4.rc.2")
	if got := pkgs[0].DirName(); filepath.Join(out, got) != dir {
		t.Fatalf("DirName %q", got)
	}
	p, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := p.Manifest
	if m.Package.Name != "pypi:demo-lib" || m.Package.Version != "1.4.0-4.rc.2" || m.Package.Kind != "assets" {
		t.Errorf("package %+v", m.Package)
	}
	if len(m.Assets) != 1 || m.Assets[0].From != "site-packages" || m.Assets[0].To != "/" {
		t.Errorf("assets %+v", m.Assets)
	}
	want := map[string]string{
		"pypi:six":               ">=1.10.0",
		"pypi:attrs":             ">=22.1.0, <23.0.0",
		"pypi:typing-extensions": "*",
		"pypi:pytest":            ">=7.0.0, <7.1.0 || >=7.0.0, >=7.2.0",
		"pypi:ujson":             "*", // demo-lib[test] needs demo-lib[speed]
	}
	if len(m.Dependencies) != len(want) {
		t.Errorf("dependencies %v, want %v", m.Dependencies, want)
	}
	for name, rng := range want {
		d, ok := m.Dependencies[name]
		if !ok || d.Version != rng || d.To != pywheel.SitePackages {
			t.Errorf("dependency %s = %+v, want %q at %s", name, d, rng, pywheel.SitePackages)
		}
	}
	for _, f := range []string{"demo/__init__.py", "demo_single.py", "Demo_Lib-1.4rc2.dist-info/METADATA", "Demo_Lib-1.4rc2.dist-info/WHEEL", "Demo_Lib-1.4rc2.dist-info/RECORD", "Demo_Lib-1.4rc2.dist-info/entry_points.txt"} {
		if _, err := os.Stat(filepath.Join(dir, "site-packages", f)); err != nil {
			t.Error(err)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("output holds %d entries, want the package only", len(entries))
	}
}

func TestUnknownExtra(t *testing.T) {
	whl := wheeltest.Write(t, t.TempDir(), demo())
	out := filepath.Join(t.TempDir(), "out")
	_, err := pywheel.Import(context.Background(), []pywheel.Input{{Path: whl, Extras: []string{"nope"}}}, out, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `no extra "nope"`) {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output directory left behind: %v", err)
	}
}

func TestParseInput(t *testing.T) {
	in, err := pywheel.ParseInput("x-1.0-py3-none-any.whl[Speed, test]")
	if err != nil || in.Path != "x-1.0-py3-none-any.whl" || !slices.Equal(in.Extras, []string{"speed", "test"}) {
		t.Errorf("%+v %v", in, err)
	}
	if _, err := pywheel.ParseInput("x.whl[a"); err == nil {
		t.Error("x.whl[a accepted")
	}
}

// Every hostile wheel is refused with an error naming it and the problem,
// and nothing is written.
func TestHostileWheels(t *testing.T) {
	good := demo()
	di := good.DistInfo()
	edit := func(f func([]wheeltest.Entry) []wheeltest.Entry) []wheeltest.Entry { return f(good.Entries()) }
	// withRecord re-hashes RECORD over the entries, so that only the
	// problem under test is wrong.
	withRecord := func(es []wheeltest.Entry) []wheeltest.Entry {
		es = slices.DeleteFunc(es, func(e wheeltest.Entry) bool { return e.Name == di+"/RECORD" })
		return append(es, wheeltest.Entry{Name: di + "/RECORD", Data: wheeltest.Record(es, di+"/RECORD")})
	}
	add := func(name, data string, mode fs.FileMode) []wheeltest.Entry {
		return withRecord(append(good.Entries(), wheeltest.Entry{Name: name, Data: []byte(data), Mode: mode}))
	}
	cext := good
	cext.Files = map[string]string{"demo/__init__.py": "", "demo/_speedups.cpython-311-x86_64-linux-gnu.so": "\x7fELF"}
	cext.Tag = "cp311-cp311-manylinux_2_17_x86_64"
	cext.NotPurelib = true
	platOnly := good
	platOnly.Tag = "cp311-cp311-win_amd64"
	platOnly.NotPurelib = true
	py2 := good
	py2.Tag = "py2-none-any"
	oldPy := good
	oldPy.Metadata = []string{"Requires-Python: >=3.12"}
	badVersion := good
	badVersion.Version = "1!1.0"

	for _, c := range []struct {
		name    string
		file    string // default: good.FileName()
		entries []wheeltest.Entry
		raw     []byte // instead of entries
		want    []string
		is      error
	}{
		{name: "not a zip", raw: []byte("PK? not really"), want: []string{"not a zip"}, is: pywheel.ErrWheel},
		{name: "bad file name", file: "demo.whl", entries: good.Entries(), want: []string{"NAME-VERSION-PYTHON-ABI-PLATFORM.whl"}},
		{name: "no dist-info", entries: edit(func(es []wheeltest.Entry) []wheeltest.Entry { return es[:2] }), want: []string{"no .dist-info"}},
		{name: "no METADATA", entries: withRecord(edit(func(es []wheeltest.Entry) []wheeltest.Entry {
			return slices.DeleteFunc(es, func(e wheeltest.Entry) bool { return strings.HasSuffix(e.Name, "/METADATA") })
		})), want: []string{"METADATA is missing"}},
		{name: "C extension", entries: cext.Entries(), want: []string{"_speedups.cpython-311-x86_64-linux-gnu.so", "cp311-cp311-manylinux_2_17_x86_64", "pure-Python"}, is: pywheel.ErrNative, file: cext.FileName()},
		{name: "platform tag", entries: platOnly.Entries(), file: platOnly.FileName(), want: []string{"cp311-cp311-win_amd64", "Root-Is-Purelib: false"}, is: pywheel.ErrNative},
		{name: "python 2 only", entries: py2.Entries(), file: py2.FileName(), want: []string{"py2-none-any"}, is: pywheel.ErrNative},
		{name: "requires python", entries: oldPy.Entries(), want: []string{"requires Python >=3.12"}},
		{name: "record hash", entries: edit(func(es []wheeltest.Entry) []wheeltest.Entry {
			es[0].Data = []byte("import os; os.system('evil')\n")
			return es
		}), want: []string{"demo/__init__.py", "does not match its RECORD hash"}, is: pywheel.ErrRecord},
		{name: "unlisted file", entries: append(good.Entries(), wheeltest.Entry{Name: "demo/extra.py", Data: []byte("1")}), want: []string{"demo/extra.py", "not listed in RECORD"}, is: pywheel.ErrRecord},
		{name: "dotdot", entries: add("demo/../../evil.py", "x", 0), want: []string{`".." segment`}},
		{name: "absolute", entries: add("/etc/evil.py", "x", 0), want: []string{"absolute path"}},
		{name: "backslash", entries: add(`demo\evil.py`, "x", 0), want: []string{"backslash"}},
		{name: "symlink", entries: add("demo/link.py", "/etc/passwd", fs.ModeSymlink|0o777), want: []string{"symbolic link"}},
		{name: "duplicate", entries: withRecord(append(good.Entries(), wheeltest.Entry{Name: "demo/__init__.py", Data: []byte("VALUE = 1\n")})), want: []string{"appears twice"}},
		{name: "case", entries: add("Demo/__init__.py", "x", 0), want: []string{"differ only in case"}},
		{name: "zip bomb", entries: add("demo/big.txt", strings.Repeat("\x00", pywheel.MaxFileSize+1), 0), want: []string{"128 MiB per file"}},
		{name: "total", raw: declaredZip(t, 5, pywheel.MaxFileSize-1), want: []string{"512 MiB allowed in all"}, is: pywheel.ErrWheel},
		{name: "entries", entries: manyEntries(pywheel.MaxEntries + 1), want: []string{"100001 entries"}, is: pywheel.ErrWheel},
		{name: "name mismatch", file: "other-1.4rc2-py3-none-any.whl", entries: good.Entries(), want: []string{`distribution "other"`, `"Demo_Lib"`}},
		{name: "version mismatch", file: "Demo_Lib-1.5-py3-none-any.whl", entries: good.Entries(), want: []string{`version "1.5"`, `"1.4rc2"`}},
		{name: "epoch", entries: badVersion.Entries(), file: badVersion.FileName(), want: []string{"epoch"}, is: pywheel.ErrVersion},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := c.file
			if file == "" {
				file = good.FileName()
			}
			p := filepath.Join(dir, file)
			if c.raw != nil {
				os.WriteFile(p, c.raw, 0o644)
			} else {
				wheeltest.WriteZip(t, p, c.entries)
			}
			out := filepath.Join(dir, "out")
			_, err := pywheel.Import(context.Background(), []pywheel.Input{{Path: p}}, out, nil, nil)
			if err == nil {
				t.Fatal("imported")
			}
			if !strings.Contains(err.Error(), file) {
				t.Errorf("error %q does not name the wheel %s", err, file)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("output directory written: %v", err)
			}
		})
	}
}

// A wheel built from Debian's installed python3-six (an .egg-info
// distribution with a single module) imports; markupsafe, which Debian
// ships with its C speedups, is refused naming the extension.
func TestDebianWheels(t *testing.T) {
	out := t.TempDir()
	pkgs, err := pywheel.Import(context.Background(), []pywheel.Input{
		{Path: wheeltest.FromDebian(t, "python3-six")},
		{Path: wheeltest.FromDebian(t, "python3-attr")},
		{Path: wheeltest.FromDebian(t, "python3-jinja2"), Extras: []string{"i18n"}},
	}, out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.Name+"@"+p.Version)
		if _, err := bundle.Load(filepath.Join(out, p.DirName())); err != nil {
			t.Error(err)
		}
	}
	if want := []string{"pypi:six@1.16.0", "pypi:attrs@22.2.0", "pypi:jinja2@3.1.2"}; !slices.Equal(got, want) {
		t.Errorf("imported %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(out, "pypi-six-1.16.0", "site-packages", "six.py")); err != nil {
		t.Error(err)
	}
	if d := pkgs[2].Deps; len(d) == 0 || d[0].Name != "pypi:babel" {
		t.Errorf("jinja2[i18n] dependencies %v, want pypi:babel", d)
	}

	_, err = pywheel.Import(context.Background(), []pywheel.Input{{Path: wheeltest.FromDebian(t, "python3-markupsafe")}}, t.TempDir(), nil, nil)
	if !errors.Is(err, pywheel.ErrNative) || !strings.Contains(err.Error(), "markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so") || !strings.Contains(err.Error(), "cp311-cp311-linux_x86_64") {
		t.Errorf("markupsafe with its C speedups: %v", err)
	}
}

// .data/purelib and .data/platlib are installed into site-packages;
// .data/scripts, headers and data are left out with a warning.
func TestDataDirectories(t *testing.T) {
	w := demo()
	w.Requires = nil
	stem := strings.TrimSuffix(w.DistInfo(), ".dist-info")
	w.Files = map[string]string{
		"demo/__init__.py":                 "",
		stem + ".data/purelib/pure_mod.py": "P = 1\n",
		stem + ".data/platlib/plat_mod.py": "Q = 1\n",
		stem + ".data/scripts/demo-cli":    "#!python\n",
		stem + ".data/data/share/demo.txt": "data\n",
	}
	out := t.TempDir()
	pkgs, err := pywheel.Import(context.Background(), []pywheel.Input{{Path: wheeltest.Write(t, t.TempDir(), w)}}, out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(out, pkgs[0].DirName(), "site-packages")
	for _, f := range []string{"pure_mod.py", "plat_mod.py", "demo/__init__.py"} {
		if _, err := os.Stat(filepath.Join(site, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(site, stem+".data")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".data directory installed: %v", err)
	}
	if ws := strings.Join(pkgs[0].Warnings, "\n"); !strings.Contains(ws, "left out 2 file(s)") || !strings.Contains(ws, "scripts/demo-cli") {
		t.Errorf("warnings %q", ws)
	}
	rec, _ := os.ReadFile(filepath.Join(site, w.DistInfo(), "RECORD"))
	if !strings.Contains(string(rec), "\npure_mod.py,sha256=") || strings.Contains(string(rec), ".data/") {
		t.Errorf("RECORD is not the installed files:\n%s", rec)
	}
}

// declaredZip is a zip of n entries that each declare size bytes unpacked
// (and hold none).
func declaredZip(t *testing.T, n int, size uint64) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := range n {
		h := &zip.FileHeader{Name: fmt.Sprintf("demo/big%d.txt", i), Method: zip.Store, UncompressedSize64: size}
		if _, err := zw.CreateRaw(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// manyEntries is n empty files.
func manyEntries(n int) []wheeltest.Entry {
	es := make([]wheeltest.Entry, n)
	for i := range es {
		es[i] = wheeltest.Entry{Name: fmt.Sprintf("demo/f%d.py", i)}
	}
	return es
}
