package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2EBlockedCallsEnd: a guest blocked in a host call — poll_oneoff
// sleeping an hour, open(2) of a FIFO no writer opens, read(2) of a FIFO
// whose writer sends nothing — is ended by --timeout, and without one by
// SIGTERM and Ctrl-C. Before wrun's own WASI layer the FIFO run hung forever
// and ignored both signals, and the sleep ran its full length.
func TestE2EBlockedCallsEnd(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	sleep, cat := guest(t, "wat/wasi_sleep"), guest(t, "c/cat")
	fifo := []string{"--mount", dir + ":/m", cat, "/m/fifo"}

	t.Run("timeout", func(t *testing.T) {
		for name, args := range map[string][]string{
			"sleep":     {sleep},
			"fifo-open": fifo,
		} {
			r := newCLI(t).run(append([]string{"run", "--timeout", "1s"}, args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, "1s") {
				t.Errorf("%s: exit %d, stderr %q; want 1 and the time limit named", name, r.code, r.stderr)
			}
		}
	})
	t.Run("fifo-read", func(t *testing.T) {
		w := make(chan *os.File, 1)
		go func() {
			f, _ := os.OpenFile(filepath.Join(dir, "fifo"), os.O_WRONLY, 0) // blocks until the guest opens it
			w <- f
		}()
		r := newCLI(t).run(append([]string{"run", "--timeout", "1s"}, fifo...)...)
		if f := <-w; f != nil {
			f.Close()
		}
		if r.code != 1 || !strings.Contains(r.stderr, "1s") {
			t.Errorf("exit %d, stderr %q; want 1 and the time limit named", r.code, r.stderr)
		}
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(wrunBin, append([]string{"run"}, fifo...)...)
			cmd.Env = []string{"WRUN_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// The signal ends the run whether it lands before or after the
			// guest blocks: no readiness is needed.
			time.Sleep(300 * time.Millisecond)
			cmd.Process.Signal(sig)
			select {
			case <-done:
				if code := cmd.ProcessState.ExitCode(); code != 130 {
					t.Errorf("exit code %d after %v, want 130", code, sig)
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("wrun still running 60 s after %v", sig)
			}
		})
	}
}
