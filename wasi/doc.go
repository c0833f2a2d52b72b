// Package wasi is wrun's WASI preview 1 host module: the fd_*, path_*,
// poll_oneoff and sock_* functions of "wasi_snapshot_preview1", written
// on wazero's public host-module API over the vfs mount table, so that
// rights, errnos, cancellation and the path rules are wrun's to decide.
// The other functions (args_*, environ_*, clock_*, random_get, proc_*,
// sched_yield) are wazero's own: Instantiate exports wazero's whole module
// first and replaces the file-system functions by name.
//
// Each instance gets its world from the context it is started with
// (WithConfig): stdio as fds 0–2, then one preopened directory per
// Config.Preopens entry, in order, named by its guest path.
//
// What the layer decides, whatever the mount below:
//   - Rights per fd. A file's rights are those asked for, within the
//     directory's inheriting rights, minus those its access mode rules out
//     (a read-only open reports no fd_write, fd_allocate or
//     fd_filestat_set_size). fd_fdstat_set_rights only drops; a call
//     needing a dropped right fails with ENOTCAPABLE, one ruled out by the
//     access mode with Linux's errno (EBADF, EINVAL for a truncation).
//   - fd flags: those given at open are reported; fd_fdstat_set_flags
//     changes APPEND and NONBLOCK and answers EINVAL for DSYNC, RSYNC and
//     SYNC (fixed at open, as in wasmtime).
//   - Paths are resolved lexically against the directory fd; a path that
//     is absolute, or names something above the directory, fails with
//     ENOTCAPABLE (wasmtime's "path escapes"); ".." at the directory
//     itself is the directory, so a preopen's root is stat-able as "..".
//   - Trailing slashes are checked here, by a stat first, the same on
//     every mount: a trailing slash requires a directory (ENOTDIR), and a
//     missing target of symlink or link with one is ENOENT.
//   - fd_readdir lists "." and ".." first with real inode numbers; ".."
//     of a preopen is the preopen. A layer without inode numbers (0) gets
//     a stable number made from the path.
//   - path_readlink truncates to the buffer (POSIX); fd_prestat_dir_name
//     with a short buffer is ENAMETOOLONG.
//   - poll_oneoff reports fd subscriptions ready at once (stdio included,
//     as in wasmtime); a clock subscription sleeps. A call that blocks
//     (poll_oneoff sleeping, fd_read on stdin, a FIFO or a device) ends
//     the run as soon as its context is done, with the same
//     *sys.ExitError wazero gives for a cancelled context.
//   - No sockets: sock_* on an open fd is ENOTSOCK, else EBADF.
//   - vfs's errnos beyond wazero's set map to their WASI codes (ENOSPC,
//     EXDEV, EMFILE, EBUSY, ENOTCAPABLE).
//
// Every guest pointer and length is bounds-checked (EFAULT), and nothing
// the layer keeps refers to guest memory.
package wasi
