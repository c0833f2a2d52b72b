package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tests of the python:cpython runtime package itself (runtimes/python): the
// interpreter and what the package ships beside it (the time-zone database,
// the pytest plugin), for both the plain package and its pre-initialized
// variant, through the real wrun binary.

// pyRuntimes returns the plain runtime package and its pre-initialized
// variant (the plain one's directory + "-preinit", as build.sh lays them out).
func pyRuntimes(t *testing.T) []struct{ name, dir string } {
	t.Helper()
	plain := pythonRuntime(t)
	pre := plain + "-preinit"
	if _, err := os.Stat(filepath.Join(pre, "wrun.toml")); err != nil {
		t.Fatalf("python:cpython-preinit package %s: %v: run make python-build", pre, err)
	}
	return []struct{ name, dir string }{{"plain", plain}, {"preinit", pre}}
}

// wantNow checks that the Unix time s (seconds, as text) is within a
// minute of the host's clock.
func wantNow(t *testing.T, what, s string) {
	t.Helper()
	sec, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Errorf("%s: %q is not a time", what, s)
		return
	}
	if d := time.Since(time.Unix(int64(sec), 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("%s: mtime %s is %v away from the host's now (%d)", what, s, d.Round(time.Second), time.Now().Unix())
	}
}

// The cause of the 1970 mtimes, seen from C: the runtime's wasi-libc (Debian's
// 2022 snapshot) turns utimensat/futimens/utimes(NULL) into explicit zero
// times, and rejects UTIME_NOW for the modification time, before wrun's
// WASI layer sees anything; an explicit time reaches the file unchanged.
func TestPyRuntimeUtimeCause(t *testing.T) {
	host := t.TempDir()
	r := newCLI(t).run("run", "--mount", host+":/m", guest(t, "c/utimes"), "--", "/m/f")
	if r.code != 0 {
		t.Fatalf("utimes guest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		name, value, _ := strings.Cut(line, " ")
		got[name] = value
	}
	wantNow(t, "utimensat with clock_gettime's time", got["utimensat-clock"])
	// What this wasi-libc does with "now" (0 = 1970): recorded, not
	// required, so that a fixed wasi-libc does not fail the test.
	t.Logf("wasi-libc with NULL times: utimensat %s, futimens %s, utimes %s; with UTIME_NOW: %s",
		got["utimensat"], got["futimens"], got["utimes"], got["utimensat-now"])
}

// os.utime(path), os.utime(fd) and Path.touch() set the current time, in a
// mounted host directory and in /tmp.
func TestPyRuntimeUtimeNow(t *testing.T) {
	c := pythonCLI(t)
	const prog = `import os, pathlib
for p in ('/m/f', '/tmp/f'):
    pathlib.Path(p).write_text('x')
    os.utime(p, (1, 1)); os.utime(p); a = os.stat(p).st_mtime
    os.utime(p, (1, 1)); fd = os.open(p, os.O_RDWR); os.utime(fd); os.close(fd); b = os.stat(p).st_mtime
    os.utime(p, (1, 1)); pathlib.Path(p).touch(); c = os.stat(p).st_mtime
    print(p, int(a), int(b), int(c))
`
	for _, rt := range pyRuntimes(t) {
		t.Run(rt.name, func(t *testing.T) {
			host := t.TempDir()
			r := c.run("run", "--mount", host+":/m", rt.dir, "--", "-c", prog)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 2 {
				t.Fatalf("want two lines, got %q", r.stdout)
			}
			for _, line := range lines {
				f := strings.Fields(line)
				if len(f) != 4 {
					t.Fatalf("bad line %q", line)
				}
				wantNow(t, f[0]+" os.utime(path)", f[1])
				wantNow(t, f[0]+" os.utime(fd)", f[2])
				wantNow(t, f[0]+" Path.touch()", f[3])
			}
			info, err := os.Stat(filepath.Join(host, "f"))
			if err != nil {
				t.Fatal(err)
			}
			wantNow(t, "the host's file after Path.touch()", strconv.FormatInt(info.ModTime().Unix(), 10))
		})
	}
}

// zoneinfo finds Debian's time-zone database with no mount: the package
// mounts it at /usr/share/zoneinfo, the first directory of the default TZPATH.
func TestPyRuntimeZoneinfo(t *testing.T) {
	c := pythonCLI(t)
	const prog = `import datetime, zoneinfo
z = zoneinfo.ZoneInfo("Europe/Paris")
print(datetime.datetime(2024, 7, 1, 12, tzinfo=z).utcoffset(), datetime.datetime(2024, 1, 1, 12, tzinfo=z).tzname())
print(datetime.datetime(2024, 3, 10, 12, tzinfo=zoneinfo.ZoneInfo("America/New_York")).tzname(), zoneinfo.ZoneInfo("UTC").key)
print("Europe/Paris" in zoneinfo.available_timezones(), len(zoneinfo.available_timezones()) > 400)
`
	for _, rt := range pyRuntimes(t) {
		t.Run(rt.name, func(t *testing.T) {
			c.run("run", rt.dir, "--", "-c", prog).want(t, 0, "2:00:00 CET\nEDT UTC\nTrue True\n", "")
		})
	}
}

// With PWD set (what wrun's --workdir and [run] cwd convey), the runtime
// starts there: os.getcwd(), relative opens and -m's sys.path[0].
func TestPyRuntimeStartsInPWD(t *testing.T) {
	c := pythonCLI(t)
	app := t.TempDir()
	pyWriteFile(t, filepath.Join(app, "data.txt"), "from the workdir\n")
	pyWriteFile(t, filepath.Join(app, "hello.py"), "import os, sys\nprint(os.getcwd(), os.path.abspath(sys.path[0]), open('data.txt').read().strip())\n")
	for _, rt := range pyRuntimes(t) {
		t.Run(rt.name, func(t *testing.T) {
			c.run("run", "--mount", app+":/app:ro", "--env", "PWD=/app", rt.dir, "--", "-m", "hello").
				want(t, 0, "/app /app from the workdir\n", "")
			c.run("run", "--mount", app+":/app:ro", "--env", "PWD=/app", rt.dir, "--", "-c", "import os; print(os.getcwd(), os.path.abspath('x'))").
				want(t, 0, "/app /app/x\n", "")
			// A PWD that names no directory leaves the start at /.
			c.run("run", "--mount", app+":/app:ro", "--env", "PWD=/app/data.txt", rt.dir, "--", "-c", "import os; print(os.getcwd())").
				want(t, 0, "/\n", "")
			c.run("run", "--env", "PWD=/nowhere", rt.dir, "--", "-c", "import os; print(os.getcwd())").
				want(t, 0, "/\n", "")
		})
	}
}

// pytestSitePackages copies Debian's pytest 7.2.1 and what it imports
// (python3-pytest and its dependencies, from .ci/deps) into a directory to
// mount at /usr/local/lib/python3.11/site-packages.
func pytestSitePackages(t *testing.T) string {
	t.Helper()
	const dist = "/usr/lib/python3/dist-packages"
	names := []string{"pytest", "_pytest", "py.py", "pluggy", "iniconfig", "packaging", "attr", "attrs",
		"pytest-7.2.1.dist-info", "pluggy-1.0.0+repack.egg-info", "iniconfig-1.1.1.egg-info",
		"packaging-23.0.dist-info", "attrs-22.2.0.dist-info"}
	dst := t.TempDir()
	for _, n := range names {
		src := filepath.Join(dist, n)
		info, err := os.Stat(src)
		if err != nil {
			t.Fatalf("%v: install Debian's python3-pytest 7.2.1 (.ci/deps)", err)
		}
		if !info.IsDir() {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			pyWriteFile(t, filepath.Join(dst, n), string(b))
			continue
		}
		// Without the host's __pycache__ (compiled for the host's paths).
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			rel, _ := filepath.Rel(dist, p)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// `python -m pytest` with no flags collects and runs a suite that uses
// tmp_path, capsys and monkeypatch, rewrites a failing assert, and exits
// with pytest's codes; the fd-capturing options fail with a clear message.
func TestPyRuntimePytestDefaults(t *testing.T) {
	c := pythonCLI(t)
	site := pytestSitePackages(t) + ":/usr/local/lib/python3.11/site-packages:ro"
	pass, fail, capfd := t.TempDir(), t.TempDir(), t.TempDir()
	pyWriteFile(t, filepath.Join(pass, "test_ok.py"), `import os, sys

def test_tmp_path(tmp_path):
    (tmp_path / "a.txt").write_text("hi")
    assert (tmp_path / "a.txt").read_text() == "hi"

def test_capsys(capsys):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    assert capsys.readouterr() == ("to stdout\n", "to stderr\n")

def test_monkeypatch(monkeypatch):
    monkeypatch.setenv("WRUN_X", "1")
    monkeypatch.setattr(os.path, "sep", "!")
    assert os.environ["WRUN_X"] == "1" and os.path.sep == "!"

def test_print_and_dev_null():
    print("captured, not shown")
    with open("/dev/null", "w") as f:
        f.write("gone")
    assert open("/dev/null").read() == ""
`)
	pyWriteFile(t, filepath.Join(fail, "test_bad.py"), "def test_rewrite():\n    left = [1, 2, 3]\n    assert left == [1, 2, 4]\n")
	pyWriteFile(t, filepath.Join(capfd, "test_capfd.py"), "def test_capfd(capfd):\n    print('x')\n")

	for _, rt := range pyRuntimes(t) {
		t.Run(rt.name, func(t *testing.T) {
			r := c.run("run", "--mount", site, "--mount", pass+":/app", rt.dir, "--", "-m", "pytest", "/app")
			if r.code != 0 || !strings.Contains(r.stdout, "4 passed") || strings.Contains(r.stdout, "captured, not shown") {
				t.Errorf("passing suite: exit %d (want 0, 4 passed, output captured)\n%s%s", r.code, r.stdout, r.stderr)
			}
			r = c.run("run", "--mount", site, "--mount", fail+":/app", rt.dir, "--", "-m", "pytest", "/app")
			if r.code != 1 || !strings.Contains(r.stdout, "assert [1, 2, 3] == [1, 2, 4]") ||
				!strings.Contains(r.stdout, "At index 2 diff: 3 != 4") || !strings.Contains(r.stdout, "1 failed") {
				t.Errorf("failing suite: exit %d (want 1 and the rewritten assert)\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}

	plain := pythonRuntime(t)
	r := c.run("run", "--mount", site, "--mount", capfd+":/app", plain, "--", "-m", "pytest", "/app")
	if r.code != 1 || !strings.Contains(r.stdout, "capfd: capturing file descriptors needs os.dup2, which CPython on WASI") ||
		!strings.Contains(r.stdout, "use capsys") || strings.Contains(r.stdout, "Traceback") {
		t.Errorf("capfd: exit %d (want 1 and a one-line reason)\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = c.run("run", "--mount", site, "--mount", pass+":/app", plain, "--", "-m", "pytest", "--capture=fd", "/app")
	if r.code != 4 || !strings.Contains(r.stderr, "ERROR: --capture=fd: capturing file descriptors needs os.dup2") ||
		strings.Contains(r.stderr, "Traceback") {
		t.Errorf("--capture=fd: exit %d (want 4, pytest's usage error)\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, flags := range [][]string{{"-s"}, {"--capture=tee-sys"}, {"-p", "no:wrun", "--capture=sys", "-p", "no:faulthandler", "--basetemp=/tmp/bt"}} {
		args := append(append([]string{"run", "--mount", site, "--mount", pass + ":/app", plain, "--", "-m", "pytest", "-q"}, flags...), "/app")
		if r := c.run(args...); r.code != 0 || !strings.Contains(r.stdout, "4 passed") {
			t.Errorf("pytest %v: exit %d\n%s%s", flags, r.code, r.stdout, r.stderr)
		}
	}
}
