package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRunWasm(t *testing.T) {
	c := newCLI(t)
	for _, g := range []string{"c/hello", "go/hello"} {
		r := c.run("run", guest(t, g), "--", "Ada")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "hello, Ada, from ") || r.stderr != "" {
			t.Errorf("%s: %+v", g, r)
		}
	}
	// Arguments after -- go to the guest verbatim, flags included.
	r := c.run("run", guest(t, "c/echo"), "--", "--timeout", "x")
	if !strings.Contains(r.stdout, "arg[1]=--timeout\narg[2]=x\n") {
		t.Errorf("guest args: %+v", r)
	}
}

func TestRunExitCodeAndStreams(t *testing.T) {
	c := newCLI(t)
	for _, code := range []string{"0", "3", "42"} {
		r := c.run("run", guest(t, "c/exit"), code)
		if want := "exiting with " + code + "\n"; r.stdout != want || r.stderr != "stderr line\n" || strconv.Itoa(r.code) != code {
			t.Errorf("exit %s: %+v", code, r)
		}
	}
	c.stdin = "line one\nline two\n"
	r := c.run("run", guest(t, "go/echo"))
	if !strings.HasSuffix(r.stdout, "line one\nline two\n") || r.code != 0 {
		t.Errorf("stdin: %+v", r)
	}
}

func TestRunEnv(t *testing.T) {
	c := newCLI(t)
	c.env = []string{"HOST_ONLY=secret"}
	r := c.run("run", "--env", "A=1", "--env", "B=x=y", guest(t, "c/echo"))
	if !strings.Contains(r.stdout, "envc=2\nenv A=1\nenv B=x=y\n") || strings.Contains(r.stdout, "HOST_ONLY") {
		t.Errorf("--env without inheritance: %+v", r)
	}
	r = c.run("run", "--env-inherit", "--env", "HOST_ONLY=override", guest(t, "c/echo"))
	if !strings.Contains(r.stdout, "env HOST_ONLY=override\n") || !strings.Contains(r.stdout, "env WRUN_HOME=") {
		t.Errorf("--env-inherit: %+v", r)
	}
	c.run("run", "--env", "NOEQUALS", guest(t, "c/echo")).wantError(t, `--env "NOEQUALS": want KEY=VALUE`)
	c.run("run", "--env", "=v", guest(t, "c/echo")).wantError(t, "want KEY=VALUE")
}

func TestRunMount(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	r := c.run("run", "--mount", dir+":/data", guest(t, "c/files"), "/data", "keep")
	if r.code != 0 {
		t.Fatalf("rw mount: %+v", r)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sub", "moved.txt")); err != nil || string(b) != "first line\nsecond line\n" {
		t.Fatalf("the guest's file on the host: %q %v", b, err)
	}
	r = c.run("run", "--mount", dir+":/data:ro", guest(t, "c/files"))
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL create note.txt") {
		t.Errorf("ro mount: %+v", r)
	}
	missing := filepath.Join(dir, "missing")
	c.run("run", "--mount", missing+":/data", guest(t, "c/hello")).wantError(t, missing, "does not exist")
	c.run("run", "--mount", dir, guest(t, "c/hello")).wantError(t, "want HOST:GUEST[:ro]")
	c.run("run", "--mount", dir+":data", guest(t, "c/hello")).wantError(t, "absolute path")
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a failed mount created %s", missing)
	}
}

func TestRunLimits(t *testing.T) {
	c := newCLI(t)
	c.run("run", "--timeout", "300ms", guest(t, "wat/loop")).wantError(t, "timed out after 300ms")
	c.run("run", "--timeout", "-1s", guest(t, "wat/loop")).wantError(t, "must not be negative")
	r := c.run("run", "--max-memory", "4MiB", guest(t, "c/memgrow"), "8")
	if r.code != 2 || !strings.HasPrefix(r.stdout, "out of memory after") {
		t.Errorf("--max-memory 4MiB: %+v", r)
	}
	if r := c.run("run", "--max-memory", "64MiB", guest(t, "c/memgrow"), "8"); r.code != 0 {
		t.Errorf("--max-memory 64MiB: %+v", r)
	}
	c.run("run", "--max-memory", "lots", guest(t, "c/hello")).wantError(t, `--max-memory "lots"`)
	c.run("run", "--max-memory", "16MiB", guest(t, "wat/bigmem")).wantError(t, "needs 512 pages")
}

func TestRunCache(t *testing.T) {
	c := newCLI(t)
	compiled := filepath.Join(c.home, "cache", "compiled")
	if r := c.run("run", "--no-cache", guest(t, "c/hello")); r.code != 0 {
		t.Fatal(r)
	}
	if _, err := os.Stat(compiled); !os.IsNotExist(err) {
		t.Fatalf("--no-cache wrote %s", compiled)
	}
	if r := c.run("run", guest(t, "c/hello")); r.code != 0 {
		t.Fatal(r)
	}
	if ents, _ := os.ReadDir(compiled); len(ents) == 0 {
		t.Fatalf("no compilation cache in %s", compiled)
	}
}

func TestRunErrors(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hello, _ := os.ReadFile(guest(t, "c/hello"))
	text := write("notes.txt", []byte("just text\n"))
	c.run("run", text).wantError(t, text, "not a WebAssembly binary")
	trunc := write("trunc.wasm", hello[:1000])
	c.run("run", trunc).wantError(t, trunc, "not a valid WebAssembly module")
	comp := write("comp.wasm", []byte("\x00asm\x0d\x00\x01\x00"))
	c.run("run", comp).wantError(t, "component", "core modules with WASI preview 1 only")
	c.run("run", guest(t, "wat/needs_env")).wantError(t, `"env"."host_log"`, "nothing provides")
	c.run("run", guest(t, "wat/trap")).wantError(t, "trapped: unreachable")
	c.run("run", filepath.Join(dir, "absent.wasm")).wantError(t, "absent.wasm", "no such file")
	c.run("run").wantError(t, "requires at least 1 arg")
}

func TestRunInterrupt(t *testing.T) {
	c := newCLI(t)
	// The guest prints "ready" once it runs, then loops: the signal is sent
	// only when the guest is surely running, however loaded the machine.
	cmd := exec.Command(wrunBin, "run", guest(t, "wat/loopready"))
	cmd.Env = []string{"WRUN_HOME=" + c.home}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, rerr := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the guest never said it was running: %q, %v, stderr %q", line, rerr, stderr.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("Ctrl-C: %v, stderr %q", err, stderr.String())
	}
}
