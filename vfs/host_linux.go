//go:build linux

package vfs

import (
	"os"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental/sys"
	"golang.org/x/sys/unix"
)

func unlinkAt(d *os.File, base string, dir bool) sys.Errno {
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	return errnoOf(unix.Unlinkat(int(d.Fd()), base, flags))
}

func futimens(fd int, atim, mtim int64) sys.Errno {
	ts := [2]unix.Timespec{toTimespec(atim), toTimespec(mtim)}
	// utimensat(fd, NULL, ts, 0) is futimens(fd, ts).
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return errnoOf(e)
	}
	return 0
}

func toTimespec(ns int64) unix.Timespec {
	if ns == sys.UTIME_OMIT {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(ns)
}

func setAppend(fd int, enable bool) sys.Errno {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return errnoOf(err)
	}
	if enable {
		fl |= unix.O_APPEND
	} else {
		fl &^= unix.O_APPEND
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
	return errnoOf(err)
}

func renameAt(from *os.File, fbase string, to *os.File, tbase string) sys.Errno {
	return errnoOf(unix.Renameat(int(from.Fd()), fbase, int(to.Fd()), tbase))
}
