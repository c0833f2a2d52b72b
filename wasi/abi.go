package wasi

import (
	"io/fs"

	"github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wrun-dev/wrun/vfs"
)

// WASI preview 1 errno values (wasi_snapshot_preview1 witx, "errno").
const (
	errnoSuccess     = 0
	errnoAcces       = 2
	errnoAgain       = 6
	errnoBadf        = 8
	errnoBusy        = 10
	errnoExist       = 20
	errnoFault       = 21
	errnoIntr        = 27
	errnoInval       = 28
	errnoIO          = 29
	errnoIsdir       = 31
	errnoLoop        = 32
	errnoMfile       = 33
	errnoNametoolong = 37
	errnoNoent       = 44
	errnoNospc       = 51
	errnoNosys       = 52
	errnoNotdir      = 54
	errnoNotempty    = 55
	errnoNotsock     = 57
	errnoNotsup      = 58
	errnoPerm        = 63
	errnoRange       = 68
	errnoRofs        = 69
	errnoSpipe       = 70
	errnoXdev        = 75
	errnoNotcapable  = 76
)

// toWASI maps an errno of experimental/sys, including the values vfs adds
// above wazero's range, to its WASI preview 1 code. Anything unknown is EIO.
func toWASI(e sys.Errno) uint32 {
	switch e {
	case 0:
		return errnoSuccess
	case sys.EACCES:
		return errnoAcces
	case sys.EAGAIN:
		return errnoAgain
	case sys.EBADF:
		return errnoBadf
	case sys.EEXIST:
		return errnoExist
	case sys.EFAULT:
		return errnoFault
	case sys.EINTR:
		return errnoIntr
	case sys.EINVAL:
		return errnoInval
	case sys.EIO:
		return errnoIO
	case sys.EISDIR:
		return errnoIsdir
	case sys.ELOOP:
		return errnoLoop
	case sys.ENAMETOOLONG:
		return errnoNametoolong
	case sys.ENOENT:
		return errnoNoent
	case sys.ENOSYS:
		return errnoNosys
	case sys.ENOTDIR:
		return errnoNotdir
	case sys.ERANGE:
		return errnoRange
	case sys.ENOTEMPTY:
		return errnoNotempty
	case sys.ENOTSOCK:
		return errnoNotsock
	case sys.ENOTSUP:
		return errnoNotsup
	case sys.EPERM:
		return errnoPerm
	case sys.EROFS:
		return errnoRofs
	case vfs.ENOSPC:
		return errnoNospc
	case vfs.EXDEV:
		return errnoXdev
	case vfs.EMFILE:
		return errnoMfile
	case vfs.EBUSY:
		return errnoBusy
	case vfs.ENOTCAPABLE:
		return errnoNotcapable
	}
	return errnoIO
}

// File types ("filetype").
const (
	ftUnknown     = 0
	ftBlockDevice = 1
	ftCharDevice  = 2
	ftDirectory   = 3
	ftRegular     = 4
	ftSocketDgram = 5
	ftSocketStrm  = 6
	ftSymlink     = 7
)

// fileType maps an fs.FileMode's type bits to a WASI filetype.
func fileType(m fs.FileMode) uint8 {
	switch {
	case m.IsRegular():
		return ftRegular
	case m&fs.ModeDir != 0:
		return ftDirectory
	case m&fs.ModeSymlink != 0:
		return ftSymlink
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return ftCharDevice
	case m&fs.ModeDevice != 0:
		return ftBlockDevice
	case m&fs.ModeSocket != 0:
		return ftSocketStrm
	}
	return ftUnknown
}

// fd flags ("fdflags").
const (
	fdflagAppend   = 1 << 0
	fdflagDsync    = 1 << 1
	fdflagNonblock = 1 << 2
	fdflagRsync    = 1 << 3
	fdflagSync     = 1 << 4
	fdflagAll      = fdflagAppend | fdflagDsync | fdflagNonblock | fdflagRsync | fdflagSync
)

// open flags ("oflags").
const (
	oflagCreat     = 1 << 0
	oflagDirectory = 1 << 1
	oflagExcl      = 1 << 2
	oflagTrunc     = 1 << 3
)

// lookup flags and fstflags.
const (
	lookupSymlinkFollow = 1

	fstAtim    = 1 << 0
	fstAtimNow = 1 << 1
	fstMtim    = 1 << 2
	fstMtimNow = 1 << 3
)

// Rights ("rights"), one bit each in witx order.
const (
	rightFdDatasync uint64 = 1 << iota
	rightFdRead
	rightFdSeek
	rightFdFdstatSetFlags
	rightFdSync
	rightFdTell
	rightFdWrite
	rightFdAdvise
	rightFdAllocate
	rightPathCreateDirectory
	rightPathCreateFile
	rightPathLinkSource
	rightPathLinkTarget
	rightPathOpen
	rightFdReaddir
	rightPathReadlink
	rightPathRenameSource
	rightPathRenameTarget
	rightPathFilestatGet
	rightPathFilestatSetSize
	rightPathFilestatSetTimes
	rightFdFilestatGet
	rightFdFilestatSetSize
	rightFdFilestatSetTimes
	rightPathSymlink
	rightPathRemoveDirectory
	rightPathUnlinkFile
	rightPollFdReadwrite
	rightSockShutdown
	rightSockAccept

	// rightsFile are the rights that mean something on a regular file.
	rightsFile = rightFdDatasync | rightFdRead | rightFdSeek | rightFdFdstatSetFlags |
		rightFdSync | rightFdTell | rightFdWrite | rightFdAdvise | rightFdAllocate |
		rightFdFilestatGet | rightFdFilestatSetSize | rightFdFilestatSetTimes | rightPollFdReadwrite
	// rightsDir are the rights that mean something on a directory.
	rightsDir = rightFdFdstatSetFlags | rightFdSync | rightFdDatasync | rightFdAdvise |
		rightPathCreateDirectory | rightPathCreateFile | rightPathLinkSource |
		rightPathLinkTarget | rightPathOpen | rightFdReaddir | rightPathReadlink |
		rightPathRenameSource | rightPathRenameTarget | rightPathFilestatGet |
		rightPathFilestatSetSize | rightPathFilestatSetTimes | rightFdFilestatGet |
		rightFdFilestatSetTimes | rightPathSymlink | rightPathRemoveDirectory |
		rightPathUnlinkFile | rightPollFdReadwrite
	// rightsWrite need a file opened for writing; rightsRead one opened for reading.
	rightsWrite = rightFdWrite | rightFdAllocate | rightFdFilestatSetSize
	rightsRead  = rightFdRead | rightFdReaddir
	// rightsStdin / rightsStdout are what stdio fds start with: no seek or
	// tell (wasi-libc's isatty needs both absent on a terminal).
	rightsStdio  = rightFdFdstatSetFlags | rightFdSync | rightFdDatasync | rightFdFilestatGet | rightPollFdReadwrite
	rightsStdin  = rightsStdio | rightFdRead
	rightsStdout = rightsStdio | rightFdWrite
)

// Struct sizes.
const (
	sizeFdstat       = 24
	sizeFilestat     = 64
	sizePrestat      = 8
	sizeDirent       = 24
	sizeIovec        = 8
	sizeSubscription = 48
	sizeEvent        = 32
)

// Event types and clock flags for poll_oneoff.
const (
	eventClock   = 0
	eventFdRead  = 1
	eventFdWrite = 2

	subclockAbstime = 1
)
