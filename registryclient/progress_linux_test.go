package registryclient

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wrun-dev/wrun/internal/registrytest"
)

// openPTY opens a pseudo-terminal: the test reads the master, the client
// writes progress to the slave.
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

// slowTransport makes every response body trickle, so a transfer outlasts
// the progress delay.
type slowTransport struct{ base http.RoundTripper }

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(r)
	if err == nil && resp.ContentLength > 1<<20 {
		resp.Body = &slowBody{ReadCloser: resp.Body}
	}
	return resp, err
}

type slowBody struct{ io.ReadCloser }

func (s *slowBody) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	return s.ReadCloser.Read(p)
}

func TestProgressOnTerminal(t *testing.T) {
	reg := registrytest.Start(t)
	pub, _ := newClient(t, Options{Home: testHome(t), Registry: reg.Host})
	publishDir(t, pub, bigAssets(t, "example:big", "1.0.0", 6<<20, 7))

	master, slave := openPTY(t)
	defer master.Close()
	var out bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(&out, master)
	}()
	c, _ := newClient(t, Options{Registry: reg.Host, Progress: slave, HTTPClient: &http.Client{Transport: slowTransport{http.DefaultTransport}}})
	mustPull(t, c, "example:big@1.0.0")
	slave.Close()
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	wg.Wait()
	s := out.String()
	if !strings.Contains(s, "example/big:1.0.0") || !strings.Contains(s, "MiB") {
		t.Fatalf("no progress on the terminal for a slow transfer:\n%q", s)
	}
}
