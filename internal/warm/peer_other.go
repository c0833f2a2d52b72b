//go:build !linux

package warm

import (
	"errors"
	"syscall"
)

// checkPeer refuses every peer: the warm server checks peer credentials
// with SO_PEERCRED, which only Linux has; elsewhere wrun runs in process.
func checkPeer(syscall.Conn) (int, error) {
	return 0, errors.New("peer credentials are checked on Linux only")
}
