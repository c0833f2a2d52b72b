//go:build linux

package vfs

import (
	"io/fs"
	"os"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental/sys"
	wsys "github.com/tetratelabs/wazero/sys"
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

func lutimensAt(d *os.File, base string, atim, mtim int64) sys.Errno {
	ts := []unix.Timespec{toTimespec(atim), toTimespec(mtim)}
	return errnoOf(unix.UtimesNanoAt(int(d.Fd()), base, ts, unix.AT_SYMLINK_NOFOLLOW))
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

// openat2 opens name below the host directory in one system call that the
// kernel confines to it (RESOLVE_BENEATH: no "..", absolute path or
// symbolic link leads out, EXDEV otherwise, reported as EPERM). ok is false
// when the layer has no openat2 handle (kernels before 5.6); the caller
// then goes through os.Root.
func (h *hostFS) openat2(name string, flags int, perm uint32) (fd int, errno sys.Errno, ok bool) {
	if h.beneath == nil {
		return 0, 0, false
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	if flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE {
		how.Mode = uint64(perm)
	}
	for {
		fd, err := unix.Openat2(int(h.beneath.Fd()), name, &how)
		switch err {
		case nil:
			return fd, 0, true
		case unix.EINTR:
			continue
		case unix.EXDEV:
			return 0, sys.EPERM, true
		}
		return 0, errnoOf(err), true
	}
}

// statBeneath is Stat or Lstat through openat2(O_PATH) and fstat.
func (h *hostFS) statBeneath(name string, follow bool) (wsys.Stat_t, sys.Errno, bool) {
	flags := unix.O_PATH
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, errno, ok := h.openat2(name, flags, 0)
	if !ok || errno != 0 {
		return wsys.Stat_t{}, errno, ok
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return wsys.Stat_t{}, errnoOf(err), true
	}
	return statOf(&st), 0, true
}

// statOf converts a Linux stat as Go's os package does for a FileInfo,
// which is what wazero's sys.NewStat_t reads.
func statOf(st *unix.Stat_t) wsys.Stat_t {
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if st.Mode&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return wsys.Stat_t{
		Dev: st.Dev, Ino: st.Ino, Mode: mode, Nlink: st.Nlink, Size: st.Size,
		Atim: st.Atim.Nano(), Mtim: st.Mtim.Nano(), Ctim: st.Ctim.Nano(),
	}
}
