package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/wrun-dev/wrun/internal/pywheel/wheeltest"
)

// The pytest section runs a real pure-Python library's upstream pytest
// suite: toolz's (185 tests), from Debian bookworm's source package, the
// library's own source beside its tests, as a developer runs it from a
// checkout.
const (
	pytestSrcPkg     = "toolz"
	pytestSrcVersion = "0.12.0-1"
	// pytestSrcDirs are the suite's top-level directories in the source
	// package: the library and its tests (toolz/tests, toolz/sandbox/tests).
	pytestSrcDirs = "toolz tlz"
)

// pytestLibs are the Debian packages whose distributions become pytest's
// wheels, imported by `wrun python import`: pytest and what it requires on
// CPython 3.11.
var pytestLibs = []string{"python3-pytest", "python3-pluggy", "python3-iniconfig", "python3-packaging", "python3-attr"}

// pytestDeselect are the suite's tests that cannot pass under wrun for a
// documented platform limit; they are left out on both sides.
var pytestDeselect = []struct{ id, reason string }{
	{"toolz/sandbox/tests/test_parallel.py::test_fold", "multiprocessing.Pool: no subprocess or threads on WASI preview 1"},
}

// pytestRuns bounds the measured runs: a run of the suite is seconds.
const pytestRuns, pytestWarmup = 5, 1

// pytestBench times the suite natively (Debian's python3 and pytest, the
// files in place) against `wrun test APP` on the same files, the first run
// of an app directory (its bytecode cache empty: the suite's modules
// compiled and pytest's assertion rewriting done) and the second (the
// cache kept them), on python:cpython and python:cpython-preinit.
func (o *options) pytestBench(w io.Writer) error {
	src, err := pytestSource()
	if err != nil {
		return err
	}
	plain, err := pythonRuntimeDir()
	if err != nil {
		return err
	}
	pre, preErr := pythonPreinitDir()
	tmp, err := os.MkdirTemp("", "wrunbench-pytest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	home := filepath.Join(tmp, "home")
	env := []string{"WRUN_HOME=" + home}
	runtimes := []string{plain}
	if preErr == nil {
		runtimes = append(runtimes, pre)
	}
	if err := o.publish(env, runtimes...); err != nil {
		return err
	}
	if err := o.importPytest(env, tmp); err != nil {
		return err
	}

	apps := map[string]string{}
	for _, rt := range []string{"python:cpython", "python:cpython-preinit"} {
		if rt == "python:cpython-preinit" && preErr != nil {
			continue
		}
		app := filepath.Join(tmp, strings.TrimPrefix(rt, "python:")+"-app")
		if err := writePytestApp(app, src, rt); err != nil {
			return err
		}
		apps[rt] = app
	}
	var deselect []string
	for _, d := range pytestDeselect {
		deselect = append(deselect, "--deselect", d.id)
	}
	// Native: the files of the first app, its bytecode (written even when
	// the caller's environment sets PYTHONDONTWRITEBYTECODE: a developer's
	// second run finds it) and pytest's cache kept out of it (the wrun apps
	// must see the same files).
	appSrc := filepath.Join(apps["python:cpython"], "src")
	native := command{"native", append([]string{"/usr/bin/python3", "-m", "pytest", "-o", "cache_dir=" + filepath.Join(tmp, "native-pytest-cache"), appSrc}, deselect...),
		// PYTHONPATH: the app's own files come first, as the working
		// directory does for `wrun test` (python -m pytest in /app); without
		// it the suite imported whatever toolz the system had, or none.
		[]string{"PYTHONPYCACHEPREFIX=" + filepath.Join(tmp, "native-pycache"), "PYTHONDONTWRITEBYTECODE=", "PYTHONPATH=" + appSrc}}
	type side struct {
		name   string
		cmd    command
		before func() error // empties the bytecode cache: a first run
	}
	pycache := filepath.Join(home, "cache", "pycache")
	cold := func() error { return os.RemoveAll(pycache) }
	sides := []side{{"native", native, nil}}
	for _, rt := range []string{"python:cpython", "python:cpython-preinit"} {
		app, ok := apps[rt]
		if !ok {
			continue
		}
		argv := append([]string{o.wrun, "test", app, "--"}, deselect...)
		sides = append(sides,
			side{rt + " first", command{rt + " first", argv, env}, cold},
			side{rt + " second", command{rt + " second", argv, env}, nil})
	}

	// One checked run of each: every side passes the same tests.
	counts := make([]string, len(sides))
	for i, s := range sides {
		if s.before != nil {
			if err := s.before(); err != nil {
				return err
			}
		}
		if _, _, counts[i], err = runPytest(s.cmd); err != nil {
			return err
		}
		if counts[i] != counts[0] {
			return fmt.Errorf("%s: %s, natively %s", strings.Join(s.cmd.argv, " "), counts[i], counts[0])
		}
	}
	times := make([][]time.Duration, len(sides))
	sessions := make([][]time.Duration, len(sides))
	for i := range pytestWarmup + pytestRuns {
		for j, s := range sides {
			if s.before != nil {
				if err := s.before(); err != nil {
					return err
				}
			}
			d, session, _, err := runPytest(s.cmd)
			if err != nil {
				return err
			}
			if i >= pytestWarmup {
				times[j] = append(times[j], d)
				sessions[j] = append(sessions[j], session)
			}
		}
	}
	median := func(ts []time.Duration) time.Duration {
		slices.Sort(ts)
		return ts[len(ts)/2]
	}
	med := make([]time.Duration, len(sides))
	sess := make([]time.Duration, len(sides))
	for j := range sides {
		med[j], sess[j] = median(times[j]), median(sessions[j])
	}

	fmt.Fprintf(w, "== pytest: %s %s's upstream suite (%s), whole process, median of %d\n", pytestSrcPkg, pytestSrcVersion, counts[0], pytestRuns)
	fmt.Fprintf(w, "   native: Debian's /usr/bin/python3 (3.11.2) and pytest 7.2.1 on the same files, warm bytecode;\n")
	fmt.Fprintf(w, "   wrun test APP: the files as the app's assets, pytest and its dependencies from `wrun python import` of Debian's;\n")
	fmt.Fprintf(w, "   first: the app's bytecode cache emptied before the run; second: kept from the run before;\n")
	fmt.Fprintf(w, "   pytest session: the time pytest reports (collection and tests); before the session: the rest of the\n")
	fmt.Fprintf(w, "   whole-process time (start-up, importing pytest and its plugins, exit)\n")
	fmt.Fprintf(w, "   python:cpython-preinit: the app's [run] env has WRUN_PYTHON_PRELOAD naming pytest, so its snapshot holds it imported\n")
	for _, d := range pytestDeselect {
		fmt.Fprintf(w, "   deselected on both sides: %s (%s)\n", d.id, d.reason)
	}
	if preErr != nil {
		fmt.Fprintf(w, "   no python:cpython-preinit row: %v\n", preErr)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\ttime\t/native\tpytest session\t/native\tbefore the session\t")
	for j, s := range sides {
		fmt.Fprintf(tw, "%s\t%s\t%.2fx\t%s\t%.2fx\t%s\t\n", s.name, ms(med[j]), ratio(med[j], med[0]),
			ms(sess[j]), ratio(sess[j], sess[0]), ms(med[j]-sess[j]))
	}
	return tw.Flush()
}

// importPytest writes wheels of pytestLibs (as internal/pywheel/wheeltest
// builds them for the tests) under dir and imports and publishes them into
// the WRUN_HOME env names with `wrun python import --publish`.
func (o *options) importPytest(env []string, dir string) (err error) {
	wheels := filepath.Join(dir, "wheels")
	if err := os.MkdirAll(wheels, 0o755); err != nil {
		return err
	}
	defer func() {
		switch r := recover().(type) {
		case nil:
		case benchFatal:
			err = fmt.Errorf("making pytest's wheels: %s", string(r))
		default:
			panic(r)
		}
	}()
	t := benchTB{}
	args := []string{o.wrun, "python", "import", "-o", filepath.Join(dir, "libs"), "--publish"}
	for _, p := range pytestLibs {
		whl := wheeltest.Debian(t, p)
		// Debian's local labels (pluggy 1.0.0+repack) have no semver
		// order: the upstream release is what a developer would have.
		whl.Version, _, _ = strings.Cut(whl.Version, "+")
		args = append(args, wheeltest.Write(t, wheels, whl))
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// benchTB lets wheeltest, written for tests, run here: a failure panics
// with a benchFatal that importPytest turns into its error.
type benchTB struct{ testing.TB }

type benchFatal string

func (benchTB) Helper()                           {}
func (benchTB) Fatal(args ...any)                 { panic(benchFatal(fmt.Sprint(args...))) }
func (benchTB) Fatalf(format string, args ...any) { panic(benchFatal(fmt.Sprintf(format, args...))) }

// writePytestApp writes, at dir, an app whose asset src (at /app, where
// `wrun test` runs pytest) holds the suite's directories copied from src,
// on runtime rt, depending on pypi:pytest; pytest runs with its defaults.
func writePytestApp(dir, src, rt string) error {
	for _, d := range strings.Fields(pytestSrcDirs) {
		if err := os.CopyFS(filepath.Join(dir, "src", d), os.DirFS(filepath.Join(src, d))); err != nil {
			return err
		}
	}
	manifest := fmt.Sprintf(`[package]
name = "bench:%s-tests"
version = "1.0.0"
kind = "component"

[run]
runtime = "%s@^3.11"

[[assets]]
from = "src"
to = "/app"

[dependencies]
"pypi:pytest" = { version = "^7.2", to = "/usr/local/lib/python3.11/site-packages" }
`, pytestSrcPkg, rt)
	if strings.HasSuffix(rt, "-preinit") {
		// pytest and its plugins imported into the snapshot, once.
		manifest += "\n[run.env]\nWRUN_PYTHON_PRELOAD = \"pytest, _pytest.main, _pytest.python, _pytest.assertion.rewrite\"\n"
	}
	return os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(manifest), 0o644)
}

var pytestSummary = regexp.MustCompile(`(?m)^=+ (\d+ passed(?:, \d+ deselected)?) in ([0-9.]+)s.* =+$`)

// runPytest runs c once and returns its wall time, the session time
// pytest reports and its summary ("184 passed, 1 deselected"): every test
// must pass.
func runPytest(c command) (wall, session time.Duration, summary string, err error) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	m := pytestSummary.FindStringSubmatch(stdout.String())
	if err != nil || m == nil {
		return 0, 0, "", fmt.Errorf("%s: %v, want every test passed:\n%s%s", strings.Join(c.argv, " "), err, stdout.String(), stderr.String())
	}
	secs, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return 0, 0, "", fmt.Errorf("%s: pytest's time %q: %v", strings.Join(c.argv, " "), m[2], err)
	}
	return wall, time.Duration(secs * float64(time.Second)), m[1], nil
}

// pytestSource returns the directory holding the suite's upstream source
// (the source package's orig tarball, unpacked): the first call downloads
// it with `apt-get source --download-only` (deb-src is configured by
// runtimes/python/compile.sh) into wrun's build cache, keyed by the
// package version, as the runtime build caches its sources.
func pytestSource() (string, error) {
	root := os.Getenv("WRUN_BUILD_CACHE")
	if root == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			cache = filepath.Join(h, ".cache")
		}
		root = filepath.Join(cache, "wrun-build")
	}
	base := filepath.Join(root, "bench-src")
	dir := filepath.Join(base, pytestSrcPkg+"_"+pytestSrcVersion)
	if _, err := os.Stat(filepath.Join(dir, "setup.py")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(base, "."+pytestSrcPkg+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	run := func(argv ...string) error {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("fetching the pytest section's suite: %s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		return nil
	}
	if err := run("apt-get", "source", "--download-only", pytestSrcPkg+"="+pytestSrcVersion); err != nil {
		return "", fmt.Errorf("%w(apt needs a deb-src source for bookworm: runtimes/python/compile.sh adds one)", err)
	}
	upstream, _, _ := strings.Cut(pytestSrcVersion, "-")
	orig, _ := filepath.Glob(filepath.Join(tmp, pytestSrcPkg+"_"+upstream+".orig.tar.*"))
	if len(orig) != 1 {
		return "", fmt.Errorf("fetching the pytest section's suite: apt-get source left %d orig tarballs in %s, want 1", len(orig), tmp)
	}
	if err := os.Mkdir(filepath.Join(tmp, "src"), 0o755); err != nil {
		return "", err
	}
	if err := run("tar", "-xf", orig[0], "-C", "src", "--strip-components=1"); err != nil {
		return "", err
	}
	os.RemoveAll(dir)
	if err := os.Rename(filepath.Join(tmp, "src"), dir); err != nil {
		return "", err
	}
	return dir, nil
}
