// wasi_core: calls WASI preview 1 functions directly on the preopen fd 3
// (prepared by wasi/wasi_test.go: a file "f" holding "hello", a directory
// "d", links "ln" -> "f", "dang" -> "nope", "long" -> "abcdef") and prints
// one line per check with the errno or value it got.
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>
#pragma clang diagnostic ignored "-Wunused-result"

#define ALL ((__wasi_rights_t)0x3fffffff)

static void line(const char *what, int v) { printf("%s %d\n", what, v); }

static __wasi_fd_t open_(const char *p, __wasi_rights_t base, __wasi_fdflags_t fl, int *err) {
	__wasi_fd_t fd = 0;
	*err = __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, p, 0, base, ALL, fl, &fd);
	return fd;
}

// emfile opens "f" until an open fails and prints that errno.
static int emfile(void) {
	int err = 0, n = 0;
	for (; n < 1000; n++) {
		open_("f", ALL, 0, &err);
		if (err) break;
	}
	printf("emfile after some %d errno %d\n", n > 0, err);
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "emfile") == 0) return emfile();
	int err;
	__wasi_fdstat_t st;
	char buf[256];
	__wasi_size_t n;

	// Rights
	__wasi_fd_t ro = open_("f", ALL & ~(__WASI_RIGHTS_FD_WRITE), 0, &err);
	line("open ro", err);
	(void)__wasi_fd_fdstat_get(ro, &st);
	line("ro has read", (st.fs_rights_base & __WASI_RIGHTS_FD_READ) != 0);
	line("ro has write", (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0);
	line("ro has set_size", (st.fs_rights_base & __WASI_RIGHTS_FD_FILESTAT_SET_SIZE) != 0);
	__wasi_ciovec_t civ = {(const uint8_t *)"x", 1};
	line("ro write", __wasi_fd_write(ro, &civ, 1, &n));
	line("ro set_size", __wasi_fd_filestat_set_size(ro, 0));
	(void)__wasi_fd_close(ro);

	__wasi_fd_t rw = open_("f", ALL, 0, &err);
	line("open rw", err);
	(void)__wasi_fd_fdstat_get(rw, &st);
	line("rw has set_size", (st.fs_rights_base & __WASI_RIGHTS_FD_FILESTAT_SET_SIZE) != 0);
	line("drop set_size", __wasi_fd_fdstat_set_rights(rw, st.fs_rights_base & ~__WASI_RIGHTS_FD_FILESTAT_SET_SIZE, st.fs_rights_inheriting));
	line("set_size dropped", __wasi_fd_filestat_set_size(rw, 0));
	line("add back", __wasi_fd_fdstat_set_rights(rw, st.fs_rights_base, st.fs_rights_inheriting));
	(void)__wasi_fd_close(rw);

	// Flags
	__wasi_fd_t fl = open_("f", ALL, __WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_DSYNC | __WASI_FDFLAGS_NONBLOCK, &err);
	line("open flags", err);
	(void)__wasi_fd_fdstat_get(fl, &st);
	line("flags", st.fs_flags);
	line("set_flags 0", __wasi_fd_fdstat_set_flags(fl, 0));
	line("set_flags dsync", __wasi_fd_fdstat_set_flags(fl, __WASI_FDFLAGS_DSYNC));
	(void)__wasi_fd_fdstat_get(fl, &st);
	line("flags", st.fs_flags);
	(void)__wasi_fd_close(fl);

	// Stdio types (stdin a regular file, stdout a buffer, stderr /dev/null)
	for (int i = 0; i < 3; i++) {
		(void)__wasi_fd_fdstat_get(i, &st);
		printf("stdio %d type %d seek %d\n", i, st.fs_filetype, (st.fs_rights_base & __WASI_RIGHTS_FD_SEEK) != 0);
	}

	// Prestat
	line("dir_name short", __wasi_fd_prestat_dir_name(3, (uint8_t *)buf, 1));
	memset(buf, 0, sizeof buf);
	err = __wasi_fd_prestat_dir_name(3, (uint8_t *)buf, 2);
	printf("dir_name %d %s\n", err, buf);

	// Sockets and poll
	line("sock_shutdown file", __wasi_sock_shutdown(3, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR));
	line("sock_shutdown bad", __wasi_sock_shutdown(99, __WASI_SDFLAGS_RD));
	__wasi_subscription_t subs[2] = {0};
	subs[0].userdata = 7;
	subs[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
	subs[0].u.u.fd_write.file_descriptor = 1;
	subs[1].userdata = 8;
	subs[1].u.tag = __WASI_EVENTTYPE_FD_READ;
	subs[1].u.u.fd_read.file_descriptor = 0;
	__wasi_event_t evs[2];
	err = __wasi_poll_oneoff(subs, evs, 2, &n);
	printf("poll %d n %d: %llu/%d/%d %llu/%d/%d\n", err, (int)n, (unsigned long long)evs[0].userdata, evs[0].error, evs[0].type,
	       (unsigned long long)evs[1].userdata, evs[1].error, evs[1].type);

	__wasi_subscription_t clk = {0};
	clk.userdata = 9;
	clk.u.tag = __WASI_EVENTTYPE_CLOCK;
	clk.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	clk.u.u.clock.timeout = 1000000;
	err = __wasi_poll_oneoff(&clk, evs, 1, &n);
	printf("poll clock %d n %d: %llu/%d/%d\n", err, (int)n, (unsigned long long)evs[0].userdata, evs[0].error, evs[0].type);
	line("poll none", __wasi_poll_oneoff(&clk, evs, 0, &n));

	// Paths
	memset(buf, 0, sizeof buf);
	err = __wasi_path_readlink(3, "long", (uint8_t *)buf, 3, &n);
	printf("readlink short %d %d %s\n", err, (int)n, buf);
	__wasi_filestat_t fs;
	(void)__wasi_path_filestat_get(3, 0, "ln", &fs);
	line("lstat ln type", fs.filetype);
	(void)__wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "ln", &fs);
	line("stat ln type", fs.filetype);
	line("link follow dangling", __wasi_path_link(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "dang", 3, "x1"));
	line("link dir", __wasi_path_link(3, 0, "d", 3, "x2"));
	line("link follow ln", __wasi_path_link(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "ln", 3, "ln2"));
	(void)__wasi_path_filestat_get(3, 0, "ln2", &fs);
	line("lstat ln2 type", fs.filetype);
	line("unlink f/", __wasi_path_unlink_file(3, "f/"));
	line("symlink to missing/", __wasi_path_symlink("f", 3, "newt/"));
	line("link to missing/", __wasi_path_link(3, 0, "f", 3, "newl/"));
	line("rename f/", __wasi_path_rename(3, "f/", 3, "g"));
	line("rename to missing/", __wasi_path_rename(3, "f", 3, "nb/"));
	line("rename onto d/", __wasi_path_rename(3, "f", 3, "d/"));
	line("open ../x", open_("../x", ALL, 0, &err) * 0 + err);
	line("open /etc", open_("/etc", ALL, 0, &err) * 0 + err);
	line("open d/../../x", open_("d/../../x", ALL, 0, &err) * 0 + err);

	// Readdir: "." and ".." carry real inodes; ".." of a preopen is itself.
	__wasi_filestat_t self;
	(void)__wasi_fd_filestat_get(3, &self);
	static uint8_t dbuf[4096];
	err = __wasi_fd_readdir(3, dbuf, sizeof dbuf, 0, &n);
	int dot = 0, dotdot = 0;
	for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= n;) {
		__wasi_dirent_t d;
		memcpy(&d, dbuf + off, sizeof d);
		const char *name = (const char *)dbuf + off + sizeof d;
		if (d.d_namlen == 1 && name[0] == '.')
			dot = d.d_ino == self.ino && d.d_ino != 0;
		if (d.d_namlen == 2 && name[0] == '.' && name[1] == '.')
			dotdot = d.d_ino == self.ino;
		off += sizeof d + d.d_namlen;
	}
	printf("readdir %d dot %d dotdot %d\n", err, dot, dotdot);

	// Bounds
	line("fdstat bad ptr", __wasi_fd_fdstat_get(3, (__wasi_fdstat_t *)0xfffffff0));
	line("readlink bad buf", __wasi_path_readlink(3, "long", (uint8_t *)0xfffffff0, 100, &n));

	// Renumber: onto stdin, onto a closed fd, onto the preopen.
	__wasi_fd_t a = open_("f", ALL, 0, &err);
	line("renumber onto 0", __wasi_fd_renumber(a, 0));
	line("old fd", __wasi_fd_fdstat_get(a, &st));
	__wasi_iovec_t iv = {(uint8_t *)buf, 5};
	memset(buf, 0, sizeof buf);
	err = __wasi_fd_read(0, &iv, 1, &n);
	printf("read 0: %d %s\n", err, buf);
	line("renumber onto closed", __wasi_fd_renumber(0, a));
	line("renumber onto invalid", __wasi_fd_renumber(0, 1000));
	__wasi_fd_t d = 0;
	(void)__wasi_path_open(3, 0, "d", __WASI_OFLAGS_DIRECTORY, ALL, ALL, 0, &d);
	line("renumber onto preopen", __wasi_fd_renumber(d, 3));
	__wasi_prestat_t ps;
	line("prestat moved", __wasi_fd_prestat_get(3, &ps));
	line("create in moved", __wasi_path_create_directory(3, "sub"));
	return 0;
}
