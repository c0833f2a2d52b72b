package warm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// handshakeTimeout bounds everything before the run starts: a server that
// does not answer within it is not used.
const handshakeTimeout = 2 * time.Second

// Dial connects to the server in dir and sends a Hello for op. A refusal is
// an error wrapping ErrFallback that names the server's reason.
func Dial(dir, build, op string) (*net.UnixConn, HelloReply, error) {
	sock := SocketPath(dir)
	if len(sock) > maxSocketPath {
		return nil, HelloReply{}, fmt.Errorf("%w: socket path %s is over %d bytes", ErrFallback, sock, maxSocketPath)
	}
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return nil, HelloReply{}, fmt.Errorf("%w: %w", ErrFallback, err)
	}
	// The server gets the client's stdio and working directory: it must be
	// the user's own, whoever made the socket.
	if err := checkPeer(c); err != nil {
		c.Close()
		return nil, HelloReply{}, fmt.Errorf("%w: the server: %w", ErrFallback, err)
	}
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	var reply HelloReply
	err = writeFrame(c, Hello{Proto: Proto, Build: build, Op: op, Limits: Limits()})
	if err == nil {
		_, err = readFrame(c, &reply, 0, maxSmallFrame)
	}
	if err != nil {
		c.Close()
		return nil, reply, fmt.Errorf("%w: handshake: %w", ErrFallback, err)
	}
	if !reply.OK {
		c.Close()
		return nil, reply, fmt.Errorf("%w: server refused: %s %s", ErrFallback, reply.Reason, reply.Detail)
	}
	return c, reply, nil
}

// Run hands an invocation to the server in dir: args and env, stdio and the
// working directory cwd, an open directory. A receive on cancel asks the
// server to cancel the run. It returns the run's exit code. An error
// wrapping ErrFallback means the run did not start and the caller should
// run it itself; any other error came after the run started.
func Run(dir, build string, req Request, stdio [3]*os.File, cwd *os.File, cancel <-chan struct{}) (int, error) {
	c, _, err := Dial(dir, build, OpRun)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	fds := []int{int(stdio[0].Fd()), int(stdio[1].Fd()), int(stdio[2].Fd()), int(cwd.Fd())}
	var ev Event
	err = writeFrame(c, req, fds...)
	if err == nil {
		_, err = readFrame(c, &ev, 0, maxSmallFrame)
	}
	if err == nil && !ev.Started {
		err = errors.New("no start event")
	}
	if err != nil {
		return 0, fmt.Errorf("%w: sending the request: %w", ErrFallback, err)
	}
	c.SetDeadline(time.Time{})

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-cancel:
			writeFrame(c, Control{Cancel: true})
		case <-done:
		}
	}()
	for {
		ev = Event{}
		if _, err := readFrame(c, &ev, 0, maxSmallFrame); err != nil {
			return 0, fmt.Errorf("wrun server: connection lost during the run: %w", err)
		}
		if ev.Exit != nil {
			return *ev.Exit, nil
		}
	}
}
