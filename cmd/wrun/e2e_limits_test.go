package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bounded runs the wrun binary as c.run does, but kills it after limit, so
// that a hang fails the test instead of hanging it. It also returns the
// process's peak RSS in bytes and its wall time.
func (c *cli) bounded(limit time.Duration, args ...string) (result, uint64, time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrunBin, args...)
	cmd.Env = append([]string{"WRUN_HOME=" + c.home, "HOME=" + c.home, "PATH=" + os.Getenv("PATH")}, c.env...)
	cmd.Dir = c.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	err := cmd.Run()
	took := time.Since(began)
	if ctx.Err() != nil {
		c.t.Fatalf("wrun %v still ran after %s: killed (stderr %q)", args, limit, errOut.String())
	}
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatalf("wrun %v: %v", args, err)
	}
	var rss uint64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = uint64(ru.Maxrss) << 10 // KiB on Linux
	}
	return result{out.String(), errOut.String(), code}, rss, took
}

// preinitPackage writes a package directory whose wasm is the guest name and
// whose wrun.toml has [preinit].
func preinitPackage(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	wasm, err := os.ReadFile(guest(t, name))
	if err != nil {
		t.Fatal(err)
	}
	pkg := strings.TrimPrefix(name, "wat/")
	os.WriteFile(filepath.Join(dir, "component.wasm"), wasm, 0o644)
	os.WriteFile(filepath.Join(dir, "wrun.toml"), []byte(fmt.Sprintf(`[package]
name = "test:%s"
version = "1.0.0"
kind = "component"
[run]
wasm = "component.wasm"
[preinit]
init = "wizer.initialize"
`, pkg)), 0o644)
	return dir
}

// noSnapshots fails when the preinit cache of c holds anything.
func (c *cli) noSnapshots(t *testing.T) {
	t.Helper()
	if ents, _ := os.ReadDir(filepath.Join(c.home, "cache", "preinit")); len(ents) > 0 {
		t.Errorf("the preinit cache holds %d entries after a failed init, want none", len(ents))
	}
}

// An init that loops forever is stopped by --timeout, through `wrun run`,
// `wrun REF`, `wrun build` and `wrun preinit`, and nothing is cached or
// written.
func TestLimitsPreinitTimeout(t *testing.T) {
	c := newCLI(t)
	dir := preinitPackage(t, "wat/preloop")

	r, _, took := c.bounded(60*time.Second, "run", "--timeout", "2s", dir)
	r.wantError(t, "test:preloop", "pre-initializing", "time limit of 2s")
	if took > 20*time.Second {
		t.Errorf("wrun run --timeout 2s took %s", took)
	}
	c.noSnapshots(t)

	if p := c.run("publish", dir); p.code != 0 {
		t.Fatalf("publish: %+v", p)
	}
	r, _, _ = c.bounded(60*time.Second, "--timeout", "2s", "test:preloop@1.0.0")
	r.wantError(t, "test:preloop", "pre-initializing", "time limit of 2s")
	c.noSnapshots(t)

	out := filepath.Join(t.TempDir(), "p.wrun")
	r, _, _ = c.bounded(60*time.Second, "build", "--timeout", "2s", dir, "-o", out)
	r.wantError(t, "[preinit]", "time limit of 2s")
	if _, err := os.Stat(out); err == nil {
		t.Error("wrun build wrote a bundle although the init timed out")
	}

	pre := filepath.Join(t.TempDir(), "out.wasm")
	r, _, _ = c.bounded(60*time.Second, "preinit", "--timeout", "2s", guest(t, "wat/preloop"), "-o", pre)
	r.wantError(t, "time limit of 2s")
	if _, err := os.Stat(pre); err == nil {
		t.Error("wrun preinit wrote its output although the init timed out")
	}
}

// An init that grows its memory to 1 GiB is refused under --max-memory
// 64MiB, with an error naming the limit, by `wrun run`, `wrun build` and
// `wrun preinit`; nothing is cached or written, and the process stays far
// below the gigabyte.
func TestLimitsPreinitMaxMemory(t *testing.T) {
	c := newCLI(t)
	dir := preinitPackage(t, "wat/pregrow")

	r, rss, _ := c.bounded(60*time.Second, "run", "--max-memory", "64MiB", dir)
	r.wantError(t, "test:pregrow", "pre-initializing", "memory limit", "64 MiB", "raise the memory limit")
	c.noSnapshots(t)
	if rss > 256<<20 {
		t.Errorf("wrun run --max-memory 64MiB peaked at %d MiB RSS", rss>>20)
	}

	out := filepath.Join(t.TempDir(), "p.wrun")
	r, _, _ = c.bounded(60*time.Second, "build", "--max-memory", "64MiB", dir, "-o", out)
	r.wantError(t, "[preinit]", "memory limit", "64 MiB")
	if _, err := os.Stat(out); err == nil {
		t.Error("wrun build wrote a bundle although the init went over the memory limit")
	}

	pre := filepath.Join(t.TempDir(), "out.wasm")
	r, _, _ = c.bounded(60*time.Second, "preinit", "--max-memory", "64MiB", guest(t, "wat/pregrow"), "-o", pre)
	r.wantError(t, "memory limit", "64 MiB")
	if _, err := os.Stat(pre); err == nil {
		t.Error("wrun preinit wrote its output although the init went over the memory limit")
	}
	c.run("preinit", "--max-memory", "63KiB", guest(t, "wat/pregrow"), "-o", pre).wantError(t, "--max-memory", "at least 64KiB")
}

// Host memory tracks guest memory: a guest that mallocs (and touches) 512
// MiB in 1 MiB steps costs the wrun process at most the guest's memory plus
// 10% over what a trivial guest costs, with a cap (the memory grows in
// place, never copied) and without one.
func TestLimitsHostMemoryTracksGuest(t *testing.T) {
	c := newCLI(t)
	hello, base, _ := c.bounded(60*time.Second, "run", guest(t, "c/hello"))
	if hello.code != 0 {
		t.Fatalf("hello: %+v", hello)
	}
	const guestMem = 512 << 20
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"capped", []string{"--max-memory", "4GiB"}},
		{"uncapped", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			args := append(append([]string{"run"}, tc.flags...), guest(t, "c/memgrow"), "512")
			r, rss, took := c.bounded(120*time.Second, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "allocated 512 MiB") {
				t.Fatalf("wrun %v: %+v", args, r)
			}
			limit := base + guestMem + guestMem/10
			t.Logf("wrun run %v: peak RSS %d MiB (a trivial guest: %d MiB), %s", tc.flags, rss>>20, base>>20, took.Round(time.Millisecond))
			if rss > limit {
				t.Errorf("wrun run %v: peak RSS %d MiB for 512 MiB of guest memory, over %d MiB (trivial guest + guest memory + 10%%)",
					tc.flags, rss>>20, limit>>20)
			}
		})
	}
}
