//go:build !linux

package warm

import (
	"errors"
	"net"
)

// checkPeer refuses every peer: the warm server checks peer credentials
// with SO_PEERCRED, which only Linux has; elsewhere wrun runs in process.
func checkPeer(*net.UnixConn) error {
	return errors.New("peer credentials are checked on Linux only")
}
