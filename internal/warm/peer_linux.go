package warm

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// checkPeer admits a peer of this process's uid, in its user and mount
// namespaces (where a path names the same file for both), and returns its
// process id. The server checks its clients, and a client its server.
func checkPeer(c syscall.Conn) (pid int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, fmt.Errorf("reading the peer's credentials: %w", cerr)
	}
	if int(cred.Uid) != os.Getuid() {
		return 0, fmt.Errorf("peer uid %d is not ours (%d)", cred.Uid, os.Getuid())
	}
	for _, ns := range []string{"user", "mnt"} {
		own, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			return 0, fmt.Errorf("reading our %s namespace: %w", ns, err)
		}
		theirs, err := os.Readlink("/proc/" + strconv.Itoa(int(cred.Pid)) + "/ns/" + ns)
		if err != nil {
			return 0, fmt.Errorf("reading peer %d's %s namespace: %w", cred.Pid, ns, err)
		}
		if own != theirs {
			return 0, fmt.Errorf("peer %d is in another %s namespace", cred.Pid, ns)
		}
	}
	return int(cred.Pid), nil
}
