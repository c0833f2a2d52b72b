package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrun-dev/wrun/internal/testenv"
)

// wrunBin is the wrun binary under test, built once by TestMain.
var wrunBin string

func TestMain(m *testing.M) {
	if sock := os.Getenv(oldServerEnv); sock != "" {
		oldServer(sock)
		return
	}
	dir, err := os.MkdirTemp("", "wrun-cmd-test")
	if err != nil {
		panic(err)
	}
	wrunBin = filepath.Join(dir, "wrun")
	build := exec.Command("go", "build", "-o", wrunBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one wrun process did.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the wrun binary with a fresh WRUN_HOME (unless env sets one) and
// the given extra environment, stdin and arguments.
type cli struct {
	t     *testing.T
	home  string
	env   []string
	stdin string
	dir   string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, home: t.TempDir()}
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	cmd := exec.Command(wrunBin, args...)
	cmd.Env = append([]string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}, c.env...)
	cmd.Stdin = strings.NewReader(c.stdin)
	cmd.Dir = c.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatalf("wrun %v: %v", args, err)
	}
	r := result{out.String(), errOut.String(), code}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		c.t.Fatalf("wrun %v crashed:\n%s", args, r.stderr)
	}
	return r
}

// wantError checks a failed run: exit code 1 and one line on stderr that
// contains every fragment.
func (r result) wantError(t *testing.T, fragments ...string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit code %d, want 1 (stderr %q)", r.code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "wrun: ") {
		t.Errorf("stderr is not one `wrun: ` line: %q", r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stderr, f) {
			t.Errorf("stderr %q does not say %q", r.stderr, f)
		}
	}
}

func guest(t *testing.T, name string) string { return testenv.Guest(t, name) }
