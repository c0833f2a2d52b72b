// wasiconf runs a scripted sequence of WASI preview 1 calls — rights and fd
// state, paths, preopens and /dev files, success and failure paths — and
// prints one line per call: the call, its arguments (symbolic), and "ok"
// with the relevant result fields or the errno name. It calls the raw
// functions of <wasi/api.h> so that wasi-libc hides no errno.
//
// Usage: wasiconf DIR. DIR is a guest directory that is the root of a
// mount (/mnt/host, /mnt/overlay, /tmp, /pkg); the guest creates its own
// fixture files there. The transcript does not depend on DIR (it prints
// "$DIR"), on inode numbers or on times, so one expected transcript
// (wasi/testdata/wasiconf.golden) serves every mount kind.
//
// The guest expects the preopens /mnt/host, /mnt/overlay, /tmp, /pkg, /dev
// and / (as wasi/conformance_test.go configures them), stdin redirected
// from a regular file holding "stdin\n", stdout a regular file and stderr
// /dev/null, /tmp and the overlays limited to 1 MiB.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define MAXFD 64

static const char *en(__wasi_errno_t e) {
	switch (e) {
	case __WASI_ERRNO_SUCCESS: return "ok";
	case __WASI_ERRNO_ACCES: return "EACCES";
	case __WASI_ERRNO_BADF: return "EBADF";
	case __WASI_ERRNO_BUSY: return "EBUSY";
	case __WASI_ERRNO_EXIST: return "EEXIST";
	case __WASI_ERRNO_FAULT: return "EFAULT";
	case __WASI_ERRNO_INVAL: return "EINVAL";
	case __WASI_ERRNO_IO: return "EIO";
	case __WASI_ERRNO_ISDIR: return "EISDIR";
	case __WASI_ERRNO_LOOP: return "ELOOP";
	case __WASI_ERRNO_MFILE: return "EMFILE";
	case __WASI_ERRNO_MLINK: return "EMLINK";
	case __WASI_ERRNO_NAMETOOLONG: return "ENAMETOOLONG";
	case __WASI_ERRNO_NOENT: return "ENOENT";
	case __WASI_ERRNO_NOSPC: return "ENOSPC";
	case __WASI_ERRNO_NOSYS: return "ENOSYS";
	case __WASI_ERRNO_NOTCAPABLE: return "ENOTCAPABLE";
	case __WASI_ERRNO_NOTDIR: return "ENOTDIR";
	case __WASI_ERRNO_NOTEMPTY: return "ENOTEMPTY";
	case __WASI_ERRNO_NOTSOCK: return "ENOTSOCK";
	case __WASI_ERRNO_NOTSUP: return "ENOTSUP";
	case __WASI_ERRNO_PERM: return "EPERM";
	case __WASI_ERRNO_RANGE: return "ERANGE";
	case __WASI_ERRNO_ROFS: return "EROFS";
	case __WASI_ERRNO_SPIPE: return "ESPIPE";
	case __WASI_ERRNO_XDEV: return "EXDEV";
	case __WASI_ERRNO_AGAIN: return "EAGAIN";
	case __WASI_ERRNO_INTR: return "EINTR";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", (int)e);
	return buf;
}

static const char *ftype(__wasi_filetype_t t) {
	switch (t) {
	case __WASI_FILETYPE_UNKNOWN: return "unknown";
	case __WASI_FILETYPE_BLOCK_DEVICE: return "block_device";
	case __WASI_FILETYPE_CHARACTER_DEVICE: return "character_device";
	case __WASI_FILETYPE_DIRECTORY: return "directory";
	case __WASI_FILETYPE_REGULAR_FILE: return "regular_file";
	case __WASI_FILETYPE_SOCKET_DGRAM: return "socket_dgram";
	case __WASI_FILETYPE_SOCKET_STREAM: return "socket_stream";
	case __WASI_FILETYPE_SYMBOLIC_LINK: return "symbolic_link";
	}
	return "filetype?";
}

// fdflags returns the flags as NAME|NAME, "0" when none, in bit order.
static const char *fdflags(__wasi_fdflags_t f) {
	static char buf[64];
	static const char *names[] = {"APPEND", "DSYNC", "NONBLOCK", "RSYNC", "SYNC"};
	buf[0] = 0;
	for (int i = 0; i < 5; i++) {
		if (f & (1 << i)) {
			if (buf[0]) strcat(buf, "|");
			strcat(buf, names[i]);
		}
	}
	if (!buf[0]) strcpy(buf, "0");
	return buf;
}

static int failed(const char *what, __wasi_errno_t e) {
	if (e) {
		printf("%s: %s\n", what, en(e));
		return 1;
	}
	return 0;
}

static void res(const char *what, __wasi_errno_t e) { printf("%s: %s\n", what, en(e)); }

static __wasi_errno_t open_at(__wasi_fd_t dir, __wasi_lookupflags_t lk, const char *path, __wasi_oflags_t of,
			      __wasi_rights_t rights, __wasi_fdflags_t ff, __wasi_fd_t *fd) {
	return __wasi_path_open(dir, lk, path, of, rights, rights, ff, fd);
}

#define R_RW (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | \
	      __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | \
	      __WASI_RIGHTS_POLL_FD_READWRITE | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_SOCK_SHUTDOWN)
// R_DIR is every right but FD_WRITE (which would ask for a directory open
// for writing).
#define R_DIR (((__wasi_rights_t)1 << 29) - 1 - __WASI_RIGHTS_FD_WRITE)
#define R_RO (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET)

static int write_all(__wasi_fd_t fd, const void *p, size_t n, __wasi_errno_t *e) {
	__wasi_ciovec_t iov = {p, n};
	__wasi_size_t w = 0;
	*e = __wasi_fd_write(fd, &iov, 1, &w);
	return (int)w;
}

static int read_some(__wasi_fd_t fd, void *p, size_t n, __wasi_errno_t *e) {
	__wasi_iovec_t iov = {p, n};
	__wasi_size_t r = 0;
	*e = __wasi_fd_read(fd, &iov, 1, &r);
	return (int)r;
}

// mkfile creates path under dir holding data.
static void mkfile(__wasi_fd_t dir, const char *path, const char *data) {
	__wasi_fd_t fd;
	char what[128];
	snprintf(what, sizeof what, "create %s", path);
	__wasi_errno_t e = open_at(dir, 0, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_RW, 0, &fd);
	if (e == 0) {
		write_all(fd, data, strlen(data), &e);
		(void)__wasi_fd_close(fd);
	}
	res(what, e);
}

// rights prints whether the key rights of fd are granted.
static void show_fdstat(const char *what, __wasi_fd_t fd) {
	__wasi_fdstat_t st;
	__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
	if (failed(what, e)) return;
	__wasi_rights_t r = st.fs_rights_base;
	printf("%s: ok %s flags=%s read=%d write=%d seek=%d set_size=%d\n", what, ftype(st.fs_filetype),
	       fdflags(st.fs_flags), !!(r & __WASI_RIGHTS_FD_READ), !!(r & __WASI_RIGHTS_FD_WRITE),
	       !!(r & __WASI_RIGHTS_FD_SEEK), !!(r & __WASI_RIGHTS_FD_FILESTAT_SET_SIZE));
}

// set_rights sets fd's rights to its current ones plus add, minus drop
// (path_open may have granted fewer rights than asked, those that do not
// apply to the file).
static __wasi_errno_t set_rights(__wasi_fd_t fd, __wasi_rights_t add, __wasi_rights_t drop) {
	__wasi_fdstat_t st;
	__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
	if (e) return e;
	return __wasi_fd_fdstat_set_rights(fd, (st.fs_rights_base | add) & ~drop,
					   st.fs_rights_inheriting & ~drop);
}

static void show_filetype(const char *what, __wasi_fd_t fd) {
	__wasi_fdstat_t st;
	__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
	if (failed(what, e)) return;
	printf("%s: ok %s\n", what, ftype(st.fs_filetype));
}

// Preopens, in fd order.
static int npre;
static __wasi_fd_t prefd[MAXFD];
static char prename[MAXFD][64];

static __wasi_fd_t preopen(const char *name) {
	for (int i = 0; i < npre; i++)
		if (strcmp(prename[i], name) == 0) return prefd[i];
	printf("no preopen %s\n", name);
	return (__wasi_fd_t)-1; // every call on it fails with EBADF
}

static void preopens(void) {
	printf("## preopens\n");
	for (__wasi_fd_t fd = 3; fd < MAXFD; fd++) {
		__wasi_prestat_t ps;
		__wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
		if (e == __WASI_ERRNO_BADF) {
			printf("fd_prestat_get(fd%d): EBADF (end of preopens)\n", (int)fd);
			break;
		}
		if (failed("fd_prestat_get", e)) return;
		size_t n = ps.u.dir.pr_name_len;
		char name[64] = {0};
		if (n >= sizeof name) {
			printf("fd_prestat_get(fd%d): name_len=%d too long\n", (int)fd, (int)n);
			continue;
		}
		e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, n);
		if (failed("fd_prestat_dir_name", e)) continue;
		name[n] = 0;
		printf("fd_prestat_get(fd%d): ok dir name_len=%d; fd_prestat_dir_name(len=%d): ok \"%s\"\n", (int)fd, (int)n,
		       (int)n, name);
		char short_[64];
		memset(short_, 0, sizeof short_);
		e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)short_, n - 1);
		if (e == 0) {
			printf("fd_prestat_dir_name(%s, len=%d): ok \"%.*s\"\n", name, (int)n - 1, (int)n - 1, short_);
		} else {
			printf("fd_prestat_dir_name(%s, len=%d): %s\n", name, (int)n - 1, en(e));
		}
		show_filetype("  fd_fdstat_get", fd);
		prefd[npre] = fd;
		strcpy(prename[npre], name);
		npre++;
	}
}

static void stdio(void) {
	printf("## stdio\n");
	show_filetype("fd_fdstat_get(0) [stdin from a regular file]", 0);
	show_filetype("fd_fdstat_get(1) [stdout to a regular file]", 1);
	show_filetype("fd_fdstat_get(2) [stderr to /dev/null]", 2);

	// poll_oneoff: FD_READ on stdin and FD_WRITE on stdout are ready.
	__wasi_subscription_t sub[2];
	memset(sub, 0, sizeof sub);
	sub[0].userdata = 10;
	sub[0].u.tag = __WASI_EVENTTYPE_FD_READ;
	sub[0].u.u.fd_read.file_descriptor = 0;
	sub[1].userdata = 11;
	sub[1].u.tag = __WASI_EVENTTYPE_FD_WRITE;
	sub[1].u.u.fd_write.file_descriptor = 1;
	__wasi_event_t ev[2];
	__wasi_size_t n = 0;
	fflush(stdout);
	__wasi_errno_t e = __wasi_poll_oneoff(sub, ev, 2, &n);
	if (!failed("poll_oneoff(FD_READ fd0, FD_WRITE fd1)", e)) {
		int got[2] = {-1, -1};
		for (__wasi_size_t i = 0; i < n && i < 2; i++) {
			if (ev[i].userdata == 10 || ev[i].userdata == 11)
				got[ev[i].userdata - 10] = ev[i].error;
		}
		printf("poll_oneoff(FD_READ fd0, FD_WRITE fd1): ok nevents=%d fd0=%s fd1=%s\n", (int)n,
		       got[0] < 0 ? "none" : en(got[0]), got[1] < 0 ? "none" : en(got[1]));
	}

	__wasi_errno_t re;
	char buf[16] = {0};
	int r = read_some(0, buf, sizeof buf - 1, &re);
	if (!failed("fd_read(0)", re)) printf("fd_read(0): ok n=%d \"%.*s\"\n", r, r > 0 ? r - 1 : 0, buf);
	res("sock_shutdown(1, RD|WR) [not a socket]", __wasi_sock_shutdown(1, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR));
}

static void devfiles(void) {
	printf("## /dev\n");
	__wasi_fd_t root = preopen("/");
	__wasi_fd_t dev = preopen("/dev");
	__wasi_fd_t fd;
	__wasi_errno_t e;
	unsigned char buf[16];
	char what[96];
	const char *paths[][2] = {{"dev/null", "/"}, {"null", "/dev"}, {"dev/zero", "/"}, {"dev/urandom", "/"}};
	for (int i = 0; i < 4; i++) {
		__wasi_fd_t dir = strcmp(paths[i][1], "/") == 0 ? root : dev;
		snprintf(what, sizeof what, "path_open(%s, \"%s\", RW)", paths[i][1], paths[i][0]);
		e = open_at(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, paths[i][0], 0, R_RW, 0, &fd);
		if (failed(what, e)) continue;
		printf("%s: ok\n", what);
		show_filetype("  fd_fdstat_get", fd);
		__wasi_filestat_t fs;
		e = __wasi_fd_filestat_get(fd, &fs);
		if (!failed("  fd_filestat_get", e)) printf("  fd_filestat_get: ok %s\n", ftype(fs.filetype));
		memset(buf, 0xAA, sizeof buf);
		int n = read_some(fd, buf, sizeof buf, &e);
		if (!failed("  fd_read(16)", e)) {
			int zeros = 0;
			for (int j = 0; j < n; j++) zeros += buf[j] == 0;
			if (strstr(paths[i][0], "urandom"))
				printf("  fd_read(16): ok n=%d\n", n);
			else
				printf("  fd_read(16): ok n=%d zeros=%d\n", n, zeros);
		}
		n = write_all(fd, "discard", 7, &e);
		if (!failed("  fd_write(7)", e)) printf("  fd_write(7): ok n=%d\n", n);
		res("  fd_close", __wasi_fd_close(fd));
	}
}

static __wasi_fd_t W;

static void rights(void) {
	printf("## rights and fd state\n");
	mkfile(W, "f", "hello world\n");
	mkfile(W, "r", "renum\n");
	__wasi_fd_t fd, ro;
	__wasi_errno_t e = open_at(W, 0, "f", 0, R_RO, 0, &ro);
	if (!failed("path_open(f, rights=READ|SEEK|TELL|FILESTAT_GET)", e)) {
		printf("path_open(f, rights=READ|SEEK|TELL|FILESTAT_GET): ok\n");
		show_fdstat("  fd_fdstat_get", ro);
		__wasi_errno_t we;
		write_all(ro, "x", 1, &we);
		printf("  fd_write: %s\n", we == __WASI_ERRNO_BADF || we == __WASI_ERRNO_NOTCAPABLE ? "EBADF|ENOTCAPABLE" : en(we));
		// Linux ftruncate(2) on a read-only fd: EINVAL; WASI rights:
		// ENOTCAPABLE. Either is right.
		e = __wasi_fd_filestat_set_size(ro, 3);
		printf("  fd_filestat_set_size(3): %s\n",
		       e == __WASI_ERRNO_INVAL || e == __WASI_ERRNO_NOTCAPABLE ? "EINVAL|ENOTCAPABLE" : en(e));
		res("  fd_fdstat_set_rights(+WRITE)", set_rights(ro, __WASI_RIGHTS_FD_WRITE, 0));
		(void)__wasi_fd_close(ro);
	}

	e = open_at(W, 0, "f", 0, R_RW, 0, &fd);
	if (!failed("path_open(f, rights=RW|FILESTAT_SET_SIZE)", e)) {
		printf("path_open(f, rights=RW|FILESTAT_SET_SIZE): ok\n");
		show_fdstat("  fd_fdstat_get", fd);
		res("  fd_filestat_set_size(5)", __wasi_fd_filestat_set_size(fd, 5));
		__wasi_filestat_t fs;
		e = __wasi_fd_filestat_get(fd, &fs);
		if (!failed("  fd_filestat_get", e)) printf("  fd_filestat_get: ok size=%d\n", (int)fs.size);
		res("  fd_fdstat_set_rights(-FILESTAT_SET_SIZE)", set_rights(fd, 0, __WASI_RIGHTS_FD_FILESTAT_SET_SIZE));
		show_fdstat("  fd_fdstat_get", fd);
		res("  fd_filestat_set_size(3)", __wasi_fd_filestat_set_size(fd, 3));
		res("  fd_fdstat_set_rights(+FILESTAT_SET_SIZE)", set_rights(fd, __WASI_RIGHTS_FD_FILESTAT_SET_SIZE, 0));
		show_fdstat("  fd_fdstat_get", fd);
		res("  sock_shutdown(RD) [regular file]", __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD));
		(void)__wasi_fd_close(fd);
	}

	__wasi_fdflags_t all = __WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_DSYNC | __WASI_FDFLAGS_NONBLOCK |
			       __WASI_FDFLAGS_RSYNC | __WASI_FDFLAGS_SYNC;
	e = open_at(W, 0, "f", 0, R_RW, all, &fd);
	if (!failed("path_open(f, fdflags=APPEND|DSYNC|NONBLOCK|RSYNC|SYNC)", e)) {
		printf("path_open(f, fdflags=APPEND|DSYNC|NONBLOCK|RSYNC|SYNC): ok\n");
		show_fdstat("  fd_fdstat_get", fd);
		res("  fd_fdstat_set_flags(NONBLOCK)", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK));
		show_fdstat("  fd_fdstat_get", fd);
		res("  fd_fdstat_set_flags(APPEND|SYNC)",
		    __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_SYNC));
		show_fdstat("  fd_fdstat_get", fd);
		res("  fd_fdstat_set_flags(APPEND)", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
		show_fdstat("  fd_fdstat_get", fd);
		__wasi_filesize_t pos;
		res("  fd_seek(0, SET)", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
		int n = write_all(fd, "!", 1, &e);
		if (!failed("  fd_write(\"!\")", e)) printf("  fd_write(\"!\"): ok n=%d\n", n);
		(void)__wasi_fd_close(fd);
		e = open_at(W, 0, "f", 0, R_RO, 0, &fd);
		if (!failed("  reopen f", e)) {
			char buf[32] = {0};
			n = read_some(fd, buf, sizeof buf - 1, &e);
			if (!failed("  fd_read(f)", e)) printf("  fd_read(f): ok \"%s\" [APPEND wrote at the end]\n", buf);
			(void)__wasi_fd_close(fd);
		}
	}

	printf("## fd_renumber\n");
	__wasi_fd_t a, b;
	if (open_at(W, 0, "f", 0, R_RO, 0, &a) || open_at(W, 0, "r", 0, R_RO, 0, &b)) {
		printf("fd_renumber fixture: failed\n");
		return;
	}
	res("fd_renumber(A=f, B=r) [B open]", __wasi_fd_renumber(a, b));
	show_filetype("  fd_fdstat_get(A)", a);
	{
		char buf[8] = {0};
		__wasi_filesize_t pos;
		(void)__wasi_fd_seek(b, 0, __WASI_WHENCE_SET, &pos);
		int n = read_some(b, buf, 3, &e);
		if (!failed("  fd_read(B, 3)", e)) printf("  fd_read(B, 3): ok \"%.*s\" [B is now f]\n", n, buf);
	}
	res("fd_renumber(B, 60) [60 not open]", __wasi_fd_renumber(b, 60));
	show_filetype("  fd_fdstat_get(B)", b);
	res("fd_renumber(60, B) [60 not open]", __wasi_fd_renumber(60, b));
	res("fd_renumber(B, B)", __wasi_fd_renumber(b, b));
	show_filetype("  fd_fdstat_get(B)", b);
	if (open_at(W, 0, "r", 0, R_RO, 0, &a) == 0) {
		res("fd_renumber(A=r, 0) [onto stdin]", __wasi_fd_renumber(a, 0));
		show_filetype("  fd_fdstat_get(A)", a);
		char buf[8] = {0};
		int n = read_some(0, buf, 5, &e);
		if (!failed("  fd_read(0, 5)", e)) printf("  fd_read(0, 5): ok \"%.*s\"\n", n, buf);
	}
	(void)__wasi_fd_close(b);
}

static void readlink_(void) {
	printf("## path_readlink\n");
	res("path_symlink(\"hello-target-long\", lnk)", __wasi_path_symlink("hello-target-long", W, "lnk"));
	char buf[64];
	__wasi_size_t n = 0;
	__wasi_errno_t e = __wasi_path_readlink(W, "lnk", (uint8_t *)buf, sizeof buf, &n);
	if (!failed("path_readlink(lnk, len=64)", e)) printf("path_readlink(lnk, len=64): ok n=%d \"%.*s\"\n", (int)n, (int)n, buf);
	memset(buf, 0, sizeof buf);
	e = __wasi_path_readlink(W, "lnk", (uint8_t *)buf, 5, &n);
	if (!failed("path_readlink(lnk, len=5)", e)) printf("path_readlink(lnk, len=5): ok n=%d \"%.*s\"\n", (int)n, (int)n, buf);
	res("path_readlink(f) [not a link]", __wasi_path_readlink(W, "f", (uint8_t *)buf, sizeof buf, &n));
}

static void stat_line(const char *what, __wasi_lookupflags_t lk, const char *path, __wasi_timestamp_t want) {
	__wasi_filestat_t st;
	__wasi_errno_t e = __wasi_path_filestat_get(W, lk, path, &st);
	if (failed(what, e)) return;
	printf("%s: ok %s mtim==%s\n", what, ftype(st.filetype),
	       st.mtim == want ? "T1" : st.mtim == want * 2 ? "T2" : "other");
}

static void times(void) {
	printf("## symlink times\n");
	const __wasi_timestamp_t T1 = 500000000000000000ull; // 1985-11-05
	mkfile(W, "tt", "target");
	res("path_symlink(\"tt\", tl)", __wasi_path_symlink("tt", W, "tl"));
	res("path_filestat_set_times(tl, NOFOLLOW, mtim=T1)",
	    __wasi_path_filestat_set_times(W, 0, "tl", T1, T1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
	stat_line("  path_filestat_get(tl, NOFOLLOW)", 0, "tl", T1);
	stat_line("  path_filestat_get(tl, FOLLOW)", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "tl", T1);
	res("path_filestat_set_times(tl, FOLLOW, mtim=T2)",
	    __wasi_path_filestat_set_times(W, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "tl", 2 * T1, 2 * T1,
					   __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
	stat_line("  path_filestat_get(tl, NOFOLLOW)", 0, "tl", T1);
	stat_line("  path_filestat_get(tt, NOFOLLOW)", 0, "tt", T1);
}

static void links(void) {
	printf("## path_link\n");
	res("path_symlink(\"missing\", dang)", __wasi_path_symlink("missing", W, "dang"));
	res("path_link(dang, FOLLOW, dl) [dangling]",
	    __wasi_path_link(W, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "dang", W, "dl"));
	res("path_create_directory(d)", __wasi_path_create_directory(W, "d"));
	res("path_link(d, dlink) [directory]", __wasi_path_link(W, 0, "d", W, "dlink"));
	res("path_link(f, f2)", __wasi_path_link(W, 0, "f", W, "f2"));
	__wasi_filestat_t st;
	__wasi_errno_t e = __wasi_path_filestat_get(W, 0, "f2", &st);
	if (!failed("  path_filestat_get(f2)", e)) printf("  path_filestat_get(f2): ok %s nlink=%d size=%d\n", ftype(st.filetype), (int)st.nlink, (int)st.size);
	res("path_link(f, f2) [exists]", __wasi_path_link(W, 0, "f", W, "f2"));
}

static void slashes(void) {
	printf("## trailing slashes\n");
	res("path_unlink_file(\"f/\") [file]", __wasi_path_unlink_file(W, "f/"));
	res("path_symlink(\"f\", \"sl/\") [sl missing]", __wasi_path_symlink("f", W, "sl/"));
	res("path_link(f, \"hl/\") [hl missing]", __wasi_path_link(W, 0, "f", W, "hl/"));
	res("path_rename(\"f/\", g) [file]", __wasi_path_rename(W, "f/", W, "g"));
	res("path_rename(f, \"g/\") [g missing]", __wasi_path_rename(W, "f", W, "g/"));
	res("path_rename(f, \"d/\") [d a directory]", __wasi_path_rename(W, "f", W, "d/"));
	__wasi_fd_t fd;
	res("path_open(\"f/\")", open_at(W, 0, "f/", 0, R_RO, 0, &fd));
	res("path_create_directory(\"nd/\")", __wasi_path_create_directory(W, "nd/"));
	res("path_rename(\"nd/\", \"nd2/\") [directory]", __wasi_path_rename(W, "nd/", W, "nd2/"));
	res("path_remove_directory(\"nd2/\")", __wasi_path_remove_directory(W, "nd2/"));
	res("path_unlink_file(f2)", __wasi_path_unlink_file(W, "f2"));
}

// readdir lists dir (an open directory fd) and checks "." and "..".
static void readdir_(void) {
	printf("## fd_readdir\n");
	__wasi_filestat_t self;
	if (failed("fd_filestat_get($DIR)", __wasi_fd_filestat_get(W, &self))) return;
	static uint8_t buf[8192];
	__wasi_size_t n = 0;
	__wasi_errno_t e = __wasi_fd_readdir(W, buf, sizeof buf, 0, &n);
	if (failed("fd_readdir($DIR)", e)) return;
	char names[64][64];
	int types[64], cnt = 0;
	__wasi_inode_t dot = 0, dotdot = 0;
	int seen_dot = 0, seen_dotdot = 0;
	for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= n && cnt < 64;) {
		__wasi_dirent_t d;
		memcpy(&d, buf + off, sizeof d);
		off += sizeof d;
		if (off + d.d_namlen > n || d.d_namlen >= 64) break;
		memcpy(names[cnt], buf + off, d.d_namlen);
		names[cnt][d.d_namlen] = 0;
		off += d.d_namlen;
		if (strcmp(names[cnt], ".") == 0) seen_dot = 1, dot = d.d_ino;
		if (strcmp(names[cnt], "..") == 0) seen_dotdot = 1, dotdot = d.d_ino;
		types[cnt++] = d.d_type;
	}
	for (int i = 0; i < cnt; i++)
		for (int j = i + 1; j < cnt; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char t[64];
				strcpy(t, names[i]), strcpy(names[i], names[j]), strcpy(names[j], t);
				int x = types[i];
				types[i] = types[j], types[j] = x;
			}
	printf("fd_readdir($DIR): ok %d entries\n", cnt);
	for (int i = 0; i < cnt; i++) printf("  %s %s\n", names[i], ftype(types[i]));
	printf("  . present=%d ino==fd_filestat_get($DIR).ino: %s\n", seen_dot, dot == self.ino ? "yes" : "no");
	printf("  .. present=%d ino!=0: %s ino==fd_filestat_get($DIR).ino [mount root]: %s\n", seen_dotdot,
	       dotdot != 0 ? "yes" : "no", dotdot == self.ino ? "yes" : "no");
	__wasi_filestat_t up;
	e = __wasi_path_filestat_get(W, 0, "..", &up);
	if (!failed("path_filestat_get($DIR, \"..\")", e))
		printf("path_filestat_get($DIR, \"..\"): ok %s ino==fd_filestat_get($DIR).ino: %s\n", ftype(up.filetype),
		       up.ino == self.ino ? "yes" : "no");
	e = __wasi_path_filestat_get(W, 0, "d/..", &up);
	if (!failed("path_filestat_get($DIR, \"d/..\")", e))
		printf("path_filestat_get($DIR, \"d/..\"): ok %s ino==fd_filestat_get($DIR).ino: %s\n", ftype(up.filetype),
		       up.ino == self.ino ? "yes" : "no");
}

static const char *dirarg;

static void errnos(void) {
	printf("## EROFS, EXDEV, ENOSPC\n");
	__wasi_fd_t root = preopen("/");
	__wasi_fd_t fd;
	res("path_create_directory(/, \"newdir\") [synthesized /]", __wasi_path_create_directory(root, "newdir"));
	res("path_open(/, \"newfile\", CREAT) [synthesized /]",
	    open_at(root, 0, "newfile", __WASI_OFLAGS_CREAT, R_RW, 0, &fd));
	res("path_create_directory(/, \"mnt/newdir\") [synthesized /mnt]", __wasi_path_create_directory(root, "mnt/newdir"));
	res("path_symlink(\"x\", /, \"mnt/sl\") [synthesized /mnt]", __wasi_path_symlink("x", root, "mnt/sl"));
	res("path_unlink_file(/, \"mnt/host\") [mount point]", __wasi_path_unlink_file(root, "mnt/host"));

	// Cross-mount rename and link: $DIR/xf to another mount.
	const char *other = strcmp(dirarg, "/tmp") == 0 ? "mnt/host" : "tmp";
	char to[64];
	snprintf(to, sizeof to, "%s/xf", other);
	mkfile(W, "xf", "cross");
	res("path_rename($DIR/xf, $OTHER/xf)", __wasi_path_rename(W, "xf", root, to));
	res("path_link($DIR/xf, $OTHER/xf)", __wasi_path_link(W, 0, "xf", root, to));
	char from[64];
	snprintf(from, sizeof from, "%s/xf", dirarg + 1);
	res("path_rename(/, \"$DIR/xf\", /, \"$OTHER/xf\")", __wasi_path_rename(root, from, root, to));

	static char chunk[64 << 10];
	memset(chunk, 'z', sizeof chunk);
	const char *full[] = {"tmp/big", "mnt/overlay/big", "pkg/big"};
	for (int i = 0; i < 3; i++) {
		char what[96];
		snprintf(what, sizeof what, "write 2 MiB to /%s [1 MiB limit]", full[i]);
		__wasi_errno_t e = open_at(root, 0, full[i], __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_RW, 0, &fd);
		if (failed(what, e)) continue;
		for (int k = 0; k < 32 && e == 0; k++) {
			int w = write_all(fd, chunk, sizeof chunk, &e);
			if (e == 0 && w < (int)sizeof chunk) {
				// A short write is allowed; the next one must fail.
				w = write_all(fd, chunk, sizeof chunk, &e);
			}
		}
		res(what, e);
		(void)__wasi_fd_close(fd);
		res("  path_unlink_file", __wasi_path_unlink_file(root, full[i]));
	}
}

static void renumber_preopen(void) {
	printf("## fd_renumber onto a preopen\n");
	__wasi_fd_t dev = preopen("/dev"), fd;
	if (open_at(W, 0, "r", 0, R_RO, 0, &fd)) {
		printf("open r: failed\n");
		return;
	}
	res("fd_renumber(A=r, /dev preopen)", __wasi_fd_renumber(fd, dev));
	__wasi_prestat_t ps;
	res("  fd_prestat_get(/dev preopen fd)", __wasi_fd_prestat_get(dev, &ps));
	show_filetype("  fd_fdstat_get(/dev preopen fd)", dev);
	show_filetype("  fd_fdstat_get(A)", fd);
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: wasiconf DIR\n");
		return 2;
	}
	dirarg = argv[1];
	printf("# wasiconf $DIR\n");
	preopens();
	stdio();
	devfiles();

	// Open $DIR relative to its own preopen ("." of the preopen named DIR).
	__wasi_fd_t pre = preopen(dirarg);
	__wasi_errno_t e = __wasi_path_open(pre, 0, ".", __WASI_OFLAGS_DIRECTORY, R_DIR,
					    (__wasi_rights_t)-1, 0, &W);
	if (failed("path_open($DIR, \".\", DIRECTORY)", e)) return 1;
	show_filetype("path_open($DIR, \".\", DIRECTORY): ok; fd_fdstat_get", W);

	rights();
	readlink_();
	times();
	links();
	slashes();
	readdir_();
	errnos();
	renumber_preopen();
	printf("# end\n");
	return 0;
}
