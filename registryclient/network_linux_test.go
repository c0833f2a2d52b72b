//go:build linux

package registryclient

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullBacklog is a listening socket whose accept queue is full: a new
// connection's SYN is dropped, so connecting hangs.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 8; i++ { // fill the queue; later dials hang
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("cannot fill a listen backlog on this system") // never on Linux
	return ""
}

func TestTimeoutConnect(t *testing.T) {
	host := fullBacklog(t)
	c, err := New(Options{Home: testHome(t).Data, Registry: host, Timeouts: Timeouts{Connect: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pull(context.Background(), "example:app@1.0.0")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "registry "+host+" timed out connecting") || !strings.Contains(err.Error(), "--connect-timeout") {
		t.Fatalf("Pull = %v; want ErrTimeout connecting to %s", err, host)
	}
}
