package warm

import "syscall"

// Socket and receive flags that make new descriptors close-on-exec
// atomically (elsewhere CloseOnExec follows, as it also does here), and a
// send to a peer that went away fails with EPIPE rather than raising
// SIGPIPE.
const (
	sockFlags = syscall.SOCK_CLOEXEC | syscall.SOCK_NONBLOCK
	recvFlags = syscall.MSG_CMSG_CLOEXEC
	sendFlags = syscall.MSG_NOSIGNAL
)
