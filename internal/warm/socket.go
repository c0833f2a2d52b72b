package warm

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// The protocol's Unix socket is driven with system calls and *os.File
// rather than the net package: the client runs in warmstart's init, before
// most of wrun's packages initialize, and net's initialization comes after
// them (RATIONALE.md, "The warm client hands over before init"). A socket
// set non-blocking and wrapped by os.NewFile is pollable, so reads and
// writes park the goroutine and deadlines work as on a net.Conn.

// errClosed is what accept returns once its listener is closed.
var errClosed = errors.New("listener closed")

// newSocket returns a new Unix stream socket, close-on-exec and
// non-blocking.
func newSocket() (int, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|sockFlags, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}

// dialUnix connects to the socket at path. A server whose backlog is full
// refuses at once (EAGAIN) instead of making the client wait.
func dialUnix(path string) (*os.File, error) {
	fd, err := newSocket()
	if err != nil {
		return nil, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "connect", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// listenUnix listens on a new socket at path.
func listenUnix(path string) (*os.File, error) {
	fd, err := newSocket()
	if err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "bind", Path: path, Err: err}
	}
	if err := syscall.Listen(fd, syscall.SOMAXCONN); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "listen", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// accept waits for the next connection on l; it returns errClosed once l
// is closed.
func accept(l *os.File) (*os.File, error) {
	raw, err := l.SyscallConn()
	if err != nil {
		return nil, errClosed
	}
	fd := -1
	var aerr error
	if err := raw.Read(func(lfd uintptr) bool {
		fd, _, aerr = syscall.Accept(int(lfd))
		return aerr != syscall.EAGAIN && aerr != syscall.EINTR
	}); err != nil {
		return nil, errClosed
	}
	if aerr != nil {
		return nil, os.NewSyscallError("accept", aerr)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	return os.NewFile(uintptr(fd), "client"), nil
}

// sendmsg writes msg with the control message oob as one sendmsg call and
// returns how much of msg went out.
func sendmsg(c *os.File, msg, oob []byte) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var serr error
	if err := raw.Write(func(fd uintptr) bool {
		n, serr = syscall.SendmsgN(int(fd), msg, oob, nil, sendFlags)
		return serr != syscall.EAGAIN && serr != syscall.EINTR
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return n, os.NewSyscallError("sendmsg", serr)
	}
	return n, nil
}

// recvmsg reads into p, and control messages into oob, with one recvmsg
// call; at the end of the stream it returns io.EOF.
func recvmsg(c *os.File, p, oob []byte) (n, oobn, flags int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, 0, err
	}
	var rerr error
	if err := raw.Read(func(fd uintptr) bool {
		n, oobn, flags, _, rerr = syscall.Recvmsg(int(fd), p, oob, recvFlags)
		return rerr != syscall.EAGAIN && rerr != syscall.EINTR
	}); err != nil {
		return 0, 0, 0, err
	}
	if rerr != nil {
		return 0, 0, 0, os.NewSyscallError("recvmsg", rerr)
	}
	if n == 0 && oobn == 0 && len(p) > 0 {
		return 0, 0, 0, io.EOF
	}
	return n, oobn, flags, nil
}
