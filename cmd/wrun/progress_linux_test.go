package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the test reads the master, progress is
// written to the slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pty: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestProgressOnTerminal: the command line draws a bar with humanized
// sizes for a transfer that outlasts progressDelay on a terminal, and
// nothing anywhere else.
func TestProgressOnTerminal(t *testing.T) {
	if newTermProgress(&bytes.Buffer{}) != nil {
		t.Fatal("progress for a writer that is not a terminal")
	}
	master, slave := openPTY(t)
	defer master.Close()
	var out bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(&out, master)
	}()
	p := newTermProgress(slave)
	if p == nil {
		t.Fatal("no progress for a terminal")
	}
	tr := p.Start("example/big:1.0.0")
	tr.SetTotal(6 << 20)
	for end := time.Now().Add(progressDelay + 300*time.Millisecond); time.Now().Before(end); {
		tr.Add(64 << 10)
		time.Sleep(10 * time.Millisecond)
	}
	tr.Done()
	slave.Close()
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	wg.Wait()
	s := out.String()
	if !strings.Contains(s, "example/big:1.0.0") || !strings.Contains(s, "MiB") {
		t.Fatalf("no progress bar on the terminal for a slow transfer:\n%q", s)
	}
}
