package warm

import (
	"cmp"
	"fmt"
	"os"
	"time"
)

// handshakeTimeout bounds everything before the run starts: a server that
// does not answer within it is not used.
const handshakeTimeout = 2 * time.Second

// Dial connects to the server in dir and sends a Hello for op (OpStatus,
// OpStop). A refusal is an error wrapping ErrFallback that names the
// server's reason.
func Dial(dir, build, op string) (*os.File, HelloReply, error) {
	c, pid, err := connect(dir)
	if err != nil {
		return nil, HelloReply{}, err
	}
	err = writeFrame(c, Hello{Proto: Proto, Build: build, Op: op, Limits: Limits()})
	reply, err := answer(c, pid, err)
	if err != nil {
		return nil, reply, err
	}
	return c, reply, nil
}

// connect opens a connection to the server in dir and checks who is on
// the other end, whose process id it returns; everything until the
// server's answer must happen within handshakeTimeout.
func connect(dir string) (*os.File, int, error) {
	sock := SocketPath(dir)
	if len(sock) > maxSocketPath {
		return nil, 0, fmt.Errorf("%w: socket path %s is over %d bytes", ErrFallback, sock, maxSocketPath)
	}
	c, err := dialUnix(sock)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrFallback, err)
	}
	// The server gets the client's stdio and working directory: it must be
	// the user's own, whoever made the socket.
	pid, err := checkPeer(c)
	if err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("%w: the server: %w", ErrFallback, err)
	}
	// The socket is pollable (socket.go), so the deadline holds; were it
	// not, a wedged server would hang the client: refuse to go on.
	if err := c.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("%w: %w", ErrFallback, err)
	}
	return c, pid, nil
}

// Refused is a server's refusal of a Hello. It wraps ErrFallback.
type Refused struct {
	// PID is the server's process id, from its socket's peer credentials
	// (checked: the user's own process, in the user's namespaces).
	PID            int
	Reason, Detail string
}

func (r *Refused) Error() string {
	return fmt.Sprintf("%v: server refused: %s %s", ErrFallback, r.Reason, r.Detail)
}

func (r *Refused) Unwrap() error { return ErrFallback }

// answer reads the server's HelloReply after the client's frames were
// written (werr, the error writing them) to the server pid. Anything but
// OK closes c and is an error wrapping ErrFallback (a *Refused when the
// server said no).
func answer(c *os.File, pid int, werr error) (HelloReply, error) {
	var reply HelloReply
	// A server refusing a run reads no further than the Hello, and may close
	// before the Request is written: its reply, when there is one, says why.
	_, rerr := readFrame(c, &reply, 0, maxSmallFrame)
	switch {
	case rerr == nil && !reply.OK:
		c.Close()
		return reply, &Refused{PID: pid, Reason: reply.Reason, Detail: reply.Detail}
	case werr != nil || rerr != nil:
		c.Close()
		return reply, fmt.Errorf("%w: handshake: %w", ErrFallback, cmp.Or(werr, rerr))
	}
	return reply, nil
}

// Run hands an invocation to the server in dir: args and env, stdio and the
// working directory cwd, an open directory. A receive on cancel asks the
// server to cancel the run. It returns the run's exit code. An error
// wrapping ErrFallback means the run did not start and the caller should
// run it itself; any other error came after the run started.
//
// The Hello and the Request go out together, and the server's one reply
// says whether it took the run: one round trip before the run starts.
func Run(dir, build string, req Request, stdio [3]*os.File, cwd *os.File, cancel <-chan struct{}) (int, error) {
	c, pid, err := connect(dir)
	if err != nil {
		return 0, err
	}
	fds := []int{int(stdio[0].Fd()), int(stdio[1].Fd()), int(stdio[2].Fd()), int(cwd.Fd())}
	err = writeFrame(c, Hello{Proto: Proto, Build: build, Op: OpRun, Limits: Limits()})
	if err == nil {
		err = writeFrame(c, req, fds...)
	}
	if _, err := answer(c, pid, err); err != nil {
		return 0, err
	}
	defer c.Close()
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
		var ev Event
		if _, err := readFrame(c, &ev, 0, maxSmallFrame); err != nil {
			return 0, fmt.Errorf("wrun server: connection lost during the run: %w", err)
		}
		if ev.Exit != nil {
			return *ev.Exit, nil
		}
	}
}
