//go:build !linux

package vfs

import (
	"os"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
)

func fileSource(root *os.Root, _ *os.File, name string) source {
	return rootSource{root: root, name: name}
}

func openBeneathDir(string) *os.File { return nil }

func mapFile(any, int64) ([]byte, func() error) { return nil, nil }

func (h *hostFS) openat2(string, int, uint32) (int, sys.Errno, bool) { return 0, 0, false }

func (h *hostFS) statBeneath(string, bool) (wsys.Stat_t, sys.Errno, bool) {
	return wsys.Stat_t{}, 0, false
}

// The *at system calls the host layer uses where os.Root differs from the
// kernel are wired for Linux only; elsewhere these operations report ENOSYS.

func unlinkAt(*os.File, string, bool) sys.Errno             { return sys.ENOSYS }
func renameAt(*os.File, string, *os.File, string) sys.Errno { return sys.ENOSYS }
func futimens(int, int64, int64) sys.Errno                  { return sys.ENOSYS }
func lutimensAt(*os.File, string, int64, int64) sys.Errno   { return sys.ENOSYS }
func setAppend(int, bool) sys.Errno                         { return sys.ENOSYS }
