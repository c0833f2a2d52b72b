// fsops performs a scripted sequence of file operations under a directory
// and prints one line per operation, so the transcript on a wrun vfs layer
// can be compared with the transcript on a host directory through wazero's
// DirFS. Usage: fsops PHASE DIR, PHASE one of read, write, cow, rofs,
// escape (tries to leave DIR) and tree (lists everything below DIR).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
	switch (e) {
	case 0: return "ok";
	case EACCES: return "EACCES";
	case EBADF: return "EBADF";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case ENOENT: return "ENOENT";
	case ENOSYS: return "ENOSYS";
	case ENOTDIR: return "ENOTDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENOTSUP: return "ENOTSUP";
	case EPERM: return "EPERM";
	case EROFS: return "EROFS";
	case EXDEV: return "EXDEV";
	case ENOSPC: return "ENOSPC";
	case EBUSY: return "EBUSY";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

// res prints the result of an operation returning -1 on error.
static int res(const char *what, long r) {
	if (r < 0) {
		printf("%s: %s\n", what, ename(errno));
	} else {
		printf("%s: ok\n", what);
	}
	return (int)r;
}

static const char *ftype(mode_t m) {
	if (S_ISREG(m)) return "file";
	if (S_ISDIR(m)) return "dir";
	if (S_ISLNK(m)) return "symlink";
	return "other";
}

static void do_stat(const char *p, int follow) {
	struct stat st;
	int r = follow ? stat(p, &st) : lstat(p, &st);
	if (r < 0) {
		printf("%s %s: %s\n", follow ? "stat" : "lstat", p, ename(errno));
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		printf("%s %s: %s\n", follow ? "stat" : "lstat", p, ftype(st.st_mode));
	} else {
		printf("%s %s: %s size=%lld\n", follow ? "stat" : "lstat", p, ftype(st.st_mode), (long long)st.st_size);
	}
}

static void print_data(const char *what, const char *buf, long n) {
	if (n < 0) {
		printf("%s: %s\n", what, ename(errno));
		return;
	}
	printf("%s: n=%ld \"", what, n);
	for (long i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c >= 32 && c < 127 && c != '"' && c != '\\') putchar(c);
		else printf("\\x%02x", c);
	}
	printf("\"\n");
}

static void cat(const char *p) {
	char buf[256];
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		printf("cat %s: %s\n", p, ename(errno));
		return;
	}
	long n = read(fd, buf, sizeof buf);
	char what[300];
	snprintf(what, sizeof what, "cat %s", p);
	print_data(what, buf, n);
	close(fd);
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// list prints the sorted entries of a directory with their types, and
// whether each entry's d_ino equals the lstat inode.
static void list(const char *p) {
	DIR *d = opendir(p);
	if (!d) {
		printf("readdir %s: %s\n", p, ename(errno));
		return;
	}
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 256) {
		char line[600];
		const char *t = e->d_type == DT_DIR ? "dir" : e->d_type == DT_REG ? "file" : e->d_type == DT_LNK ? "symlink" : "other";
		const char *inomatch = "-";
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			char full[512];
			struct stat st;
			snprintf(full, sizeof full, "%s/%s", p, e->d_name);
			inomatch = lstat(full, &st) == 0 && st.st_ino == e->d_ino ? "ino=lstat" : "ino!=lstat";
		}
		snprintf(line, sizeof line, "%s(%s,%s)", e->d_name, t, inomatch);
		names[n++] = strdup(line);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmpstr);
	printf("readdir %s:", p);
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

// cookies checks that telldir/seekdir positions are stable.
static void cookies(const char *p) {
	DIR *d = opendir(p);
	if (!d) {
		printf("cookies %s: %s\n", p, ename(errno));
		return;
	}
	readdir(d);
	readdir(d);
	long pos = telldir(d);
	char first[3][256];
	int n = 0;
	struct dirent *e;
	while (n < 3 && (e = readdir(d)) != NULL) strcpy(first[n++], e->d_name);
	seekdir(d, pos);
	int same = 1, m = 0;
	while (m < n && (e = readdir(d)) != NULL) {
		if (strcmp(first[m], e->d_name) != 0) same = 0;
		m++;
	}
	rewinddir(d);
	int total = 0;
	while (readdir(d) != NULL) total++;
	closedir(d);
	printf("cookies %s: replayed=%d same=%d total-after-rewind=%d\n", p, n, same && m == n, total);
}

static long inode(const char *p) {
	struct stat st;
	if (lstat(p, &st) < 0) return -1;
	return (long)st.st_ino;
}

static void phase_read(void) {
	char buf[64];
	do_stat("hello.txt", 1);
	do_stat("dir", 1);
	do_stat("dir/sub/c.txt", 1);
	do_stat("missing", 1);
	do_stat("dir/missing/x", 1);
	do_stat("hello.txt/x", 1);
	do_stat("link", 0);
	do_stat("link", 1);
	do_stat("dlink/a.txt", 1);
	do_stat("dangling", 0);
	do_stat("dangling", 1);

	struct stat st;
	if (stat("hello.txt", &st) == 0) printf("mtime hello.txt: %lld\n", (long long)st.st_mtim.tv_sec);
	printf("ino stable hello.txt: %d\n", inode("hello.txt") == inode("hello.txt") && inode("hello.txt") != -1);
	printf("ino distinct: %d\n", inode("hello.txt") != inode("dir/a.txt"));

	int fd = res("open hello.txt rdonly", open("hello.txt", O_RDONLY));
	print_data("read 5", buf, read(fd, buf, 5));
	print_data("read rest", buf, read(fd, buf, sizeof buf));
	print_data("read eof", buf, read(fd, buf, sizeof buf));
	print_data("pread 7+5", buf, pread(fd, buf, 5, 7));
	print_data("pread past end", buf, pread(fd, buf, 5, 100));
	printf("lseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	printf("lseek cur-3: %lld\n", (long long)lseek(fd, -3, SEEK_CUR));
	print_data("read after seek", buf, read(fd, buf, sizeof buf));
	res("lseek -1 set", lseek(fd, -1, SEEK_SET));
	if (fstat(fd, &st) == 0) printf("fstat: %s size=%lld ino=stat:%d\n", ftype(st.st_mode), (long long)st.st_size, (long)st.st_ino == inode("hello.txt"));
	res("write rdonly fd", write(fd, "x", 1));
	res("close", close(fd));

	res("open missing", open("missing", O_RDONLY));
	res("open hello.txt/", open("hello.txt/", O_RDONLY));
	res("open hello.txt O_DIRECTORY", open("hello.txt", O_RDONLY | O_DIRECTORY));
	res("open dir O_WRONLY", open("dir", O_WRONLY));
	fd = res("open dir O_DIRECTORY", open("dir", O_RDONLY | O_DIRECTORY));
	res("read dir fd", read(fd, buf, sizeof buf));
	close(fd);
	res("open link O_NOFOLLOW", open("link", O_RDONLY | O_NOFOLLOW));
	cat("link");
	cat("dlink/b.txt");
	cat("dir/sub/c.txt");

	char target[64];
	long n = readlink("link", target, sizeof target);
	print_data("readlink link", target, n);
	n = readlink("dlink", target, sizeof target);
	print_data("readlink dlink", target, n);
	res("readlink hello.txt", readlink("hello.txt", target, sizeof target));
	res("readlink missing", readlink("missing", target, sizeof target));

	list(".");
	list("dir");
	list("empty");
	list("dlink");
	list("hello.txt");
	list("missing");
	cookies("dir");
	cookies(".");
}

static void phase_write(void) {
	char buf[256];
	struct stat st;
	res("mkdir w", mkdir("w", 0755));
	res("mkdir w again", mkdir("w", 0755));
	res("mkdir w/x/y", mkdir("w/x/y", 0755));
	int fd = res("creat w/f", open("w/f", O_CREAT | O_WRONLY, 0644));
	print_data("write", "0123456789", write(fd, "0123456789", 10));
	res("read wronly fd", read(fd, buf, 4));
	close(fd);
	res("creat excl w/f", open("w/f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	res("open w/f/", open("w/f/", O_RDONLY));
	res("open w/nope", open("w/nope", O_RDONLY));
	fd = res("open w/f rdwr", open("w/f", O_RDWR));
	print_data("pwrite AB@2", "AB", pwrite(fd, "AB", 2, 2));
	print_data("pread 4@0", buf, pread(fd, buf, 4, 0));
	printf("lseek cur: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	print_data("write zz", "zz", write(fd, "zz", 2));
	print_data("read rest", buf, read(fd, buf, sizeof buf));
	printf("lseek 20 set: %lld\n", (long long)lseek(fd, 20, SEEK_SET));
	print_data("write E", "E", write(fd, "E", 1));
	print_data("pread 16@6", buf, pread(fd, buf, 16, 6));
	if (fstat(fd, &st) == 0) printf("fstat size: %lld\n", (long long)st.st_size);
	res("ftruncate 8", ftruncate(fd, 8));
	if (fstat(fd, &st) == 0) printf("fstat size: %lld\n", (long long)st.st_size);
	res("ftruncate 12", ftruncate(fd, 12));
	print_data("pread all", buf, pread(fd, buf, sizeof buf, 0));
	res("ftruncate -1", ftruncate(fd, -1));
	close(fd);
	fd = open("w/f", O_RDONLY);
	res("ftruncate rdonly", ftruncate(fd, 0));
	close(fd);
	fd = res("open w/f append", open("w/f", O_WRONLY | O_APPEND));
	print_data("append !!", "!!", write(fd, "!!", 2));
	close(fd);
	cat("w/f");
	fd = res("open w/f trunc", open("w/f", O_WRONLY | O_TRUNC));
	print_data("write xyz", "xyz", write(fd, "xyz", 3));
	close(fd);
	cat("w/f");
	res("truncate w/f 2", truncate("w/f", 2));
	cat("w/f");
	res("truncate w/nope", truncate("w/nope", 2));

	struct timespec ts[2] = {{1000, 5}, {2000, 7}};
	res("utimensat w/f", utimensat(AT_FDCWD, "w/f", ts, 0));
	if (stat("w/f", &st) == 0) printf("times: atime=%lld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	fd = open("w/f", O_RDWR);
	struct timespec ts2[2] = {{0, UTIME_OMIT}, {3000, 0}};
	res("futimens omit atime", futimens(fd, ts2));
	close(fd);
	if (stat("w/f", &st) == 0) printf("times: atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
	res("utimensat w/nope", utimensat(AT_FDCWD, "w/nope", ts, 0));

	res("symlink f w/l", symlink("f", "w/l"));
	res("symlink again", symlink("f", "w/l"));
	res("symlink absolute", symlink("/etc/passwd", "w/abs"));
	res("symlink dangling", symlink("nope", "w/dang"));
	do_stat("w/l", 0);
	do_stat("w/l", 1);
	do_stat("w/dang", 0);
	do_stat("w/dang", 1);
	char target[64];
	print_data("readlink w/l", target, readlink("w/l", target, sizeof target));
	cat("w/l");
	fd = res("creat through dangling", open("w/dang", O_CREAT | O_WRONLY, 0644));
	close(fd);
	do_stat("w/nope", 1);
	res("unlink w/nope", unlink("w/nope"));

	res("link w/f w/h", link("w/f", "w/h"));
	if (stat("w/h", &st) == 0) printf("nlink w/h: %lld same-ino=%d\n", (long long)st.st_nlink, inode("w/h") == inode("w/f"));
	res("link onto existing", link("w/f", "w/h"));

	res("mkdir w/d", mkdir("w/d", 0755));
	close(open("w/d/inner", O_CREAT | O_WRONLY, 0644));
	res("rmdir w/d nonempty", rmdir("w/d"));
	res("unlink w/d", unlink("w/d"));
	res("rmdir w/f", rmdir("w/f"));
	res("rmdir w/nope", rmdir("w/nope"));
	res("unlink w/missing", unlink("w/missing"));

	long ino = inode("w/f");
	res("rename w/f w/g", rename("w/f", "w/g"));
	do_stat("w/f", 1);
	printf("ino kept after rename: %d\n", inode("w/g") == ino);
	res("rename w/d w/d2", rename("w/d", "w/d2"));
	res("rename w/g onto dir", rename("w/g", "w/d2"));
	res("rename dir onto file", rename("w/d2", "w/g"));
	res("mkdir w/e", mkdir("w/e", 0755));
	res("rename w/e onto nonempty", rename("w/e", "w/d2"));
	res("rename nonempty onto empty", rename("w/d2", "w/e"));
	res("rename w/e into itself", rename("w/e", "w/e/sub"));
	res("rename w/missing", rename("w/missing", "w/z"));
	res("rename w/g onto w/h", rename("w/g", "w/h"));
	do_stat("w/g", 1);
	cat("w/h");
	list("w");
	list("w/e");
	res("unlink w/h", unlink("w/h"));
	res("unlink w/l", unlink("w/l"));
	res("unlink w/dang", unlink("w/dang"));
	res("unlink w/nope", unlink("w/nope"));
	res("unlink w/e/inner", unlink("w/e/inner"));
	res("rmdir w/e", rmdir("w/e"));
	list("w");
	res("rmdir w", rmdir("w"));
	do_stat("w", 1);
}

// phase_cow changes the fixture files: on an overlay these live in the
// lower layer.
static void phase_cow(void) {
	int fd = res("open hello.txt append", open("hello.txt", O_WRONLY | O_APPEND));
	print_data("append", "more\n", write(fd, "more\n", 5));
	close(fd);
	cat("hello.txt");
	do_stat("hello.txt", 1);
	res("unlink dir/a.txt", unlink("dir/a.txt"));
	do_stat("dir/a.txt", 1);
	list("dir");
	res("rename dir/b.txt b2.txt", rename("dir/b.txt", "b2.txt"));
	cat("b2.txt");
	cat("dir/b.txt");
	res("rmdir dir/sub", rmdir("dir/sub"));
	res("unlink dir/sub/c.txt", unlink("dir/sub/c.txt"));
	res("rmdir dir/sub", rmdir("dir/sub"));
	list("dir");
	res("rmdir empty", rmdir("empty"));
	do_stat("empty", 1);
	res("mkdir empty", mkdir("empty", 0755));
	list("empty");
	fd = res("creat dir/a.txt", open("dir/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
	print_data("write", "new", write(fd, "new", 3));
	close(fd);
	cat("dir/a.txt");
	res("rename dir renamed", rename("dir", "renamed"));
	list("renamed");
	cat("renamed/a.txt");
	res("unlink link", unlink("link"));
	cat("link");
	cat("dlink/a.txt");
	fd = res("open hello.txt trunc", open("hello.txt", O_WRONLY | O_TRUNC));
	close(fd);
	do_stat("hello.txt", 1);
	list(".");
}

static void phase_rofs(void) {
	struct timespec ts[2] = {{1000, 0}, {2000, 0}};
	res("open hello.txt rdonly", open("hello.txt", O_RDONLY));
	res("open hello.txt wronly", open("hello.txt", O_WRONLY));
	res("open hello.txt rdwr", open("hello.txt", O_RDWR));
	res("creat new", open("new", O_CREAT | O_WRONLY, 0644));
	res("creat excl existing", open("hello.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
	res("open dir wronly", open("dir", O_WRONLY));
	res("mkdir new", mkdir("newdir", 0755));
	res("mkdir existing", mkdir("dir", 0755));
	res("unlink hello.txt", unlink("hello.txt"));
	res("rmdir empty", rmdir("empty"));
	res("rename hello.txt", rename("hello.txt", "renamed"));
	res("symlink", symlink("hello.txt", "newlink"));
	res("link", link("hello.txt", "newhard"));
	res("truncate", truncate("hello.txt", 0));
	res("utimensat", utimensat(AT_FDCWD, "hello.txt", ts, 0));
	cat("hello.txt");
}

// try opens p and reports whether it reached a host file outside the
// mount: /etc/passwd starts with "root:".
static void try(const char *what, const char *p) {
	char buf[64];
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		printf("%s: refused %s\n", what, ename(errno));
		return;
	}
	long n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		printf("%s: refused on read %s\n", what, ename(errno));
		return;
	}
	buf[n] = 0;
	printf("%s: %s\n", what, strstr(buf, "root:") ? "LEAKED host file" : "opened a file inside the mount");
}

static void list_try(const char *what, const char *p) {
	DIR *d = opendir(p);
	if (!d) {
		printf("%s: refused %s\n", what, ename(errno));
		return;
	}
	int leaked = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, "passwd") == 0 || strcmp(e->d_name, "hostname") == 0) leaked = 1;
	}
	closedir(d);
	printf("%s: %s\n", what, leaked ? "LEAKED host directory" : "listed a directory inside the mount");
}

// phase_escape tries to leave the mount.
static void phase_escape(void) {
	res("symlink rel escape", symlink("../../../../../../../../etc/passwd", "rel"));
	try("open rel escape", "rel");
	res("symlink to /etc", symlink("/etc", "etc"));
	try("open etc/passwd", "etc/passwd");
	res("symlink dir escape", symlink("../../../../../../../..", "up"));
	try("open up/etc/passwd", "up/etc/passwd");
	list_try("readdir up/etc", "up/etc");
	try("open ../../etc/passwd", "../../../../etc/passwd");
	try("open /m/../etc/passwd", "/m/../etc/passwd");
	try("open host-made link", "hostlink");
	try("open host-made dir link", "hostdir/passwd");
}

// walk prints every path below p, depth first in name order, with its type
// (and size for regular files), as a guest exploring its filesystem sees it.
static void walk(const char *p) {
	DIR *d = opendir(p);
	if (!d) {
		printf("%s: %s\n", p, ename(errno));
		return;
	}
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 256) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmpstr);
	for (int i = 0; i < n; i++) {
		char full[1024];
		struct stat st;
		snprintf(full, sizeof full, "%s/%s", strcmp(p, "/") == 0 ? "" : p, names[i]);
		if (lstat(full, &st) < 0) {
			printf("%s: %s\n", full, ename(errno));
		} else if (S_ISDIR(st.st_mode)) {
			printf("%s/\n", full);
			walk(full);
		} else {
			printf("%s %s size=%lld\n", full, ftype(st.st_mode), (long long)st.st_size);
		}
		free(names[i]);
	}
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: fsops read|write|cow|rofs|escape|tree DIR\n");
		return 2;
	}
	if (strcmp(argv[1], "tree") == 0) {
		walk(argv[2]);
		return 0;
	}
	if (chdir(argv[2]) < 0) {
		printf("chdir %s: %s\n", argv[2], ename(errno));
		return 1;
	}
	if (strcmp(argv[1], "read") == 0) phase_read();
	else if (strcmp(argv[1], "write") == 0) phase_write();
	else if (strcmp(argv[1], "cow") == 0) phase_cow();
	else if (strcmp(argv[1], "rofs") == 0) phase_rofs();
	else if (strcmp(argv[1], "escape") == 0) phase_escape();
	else {
		fprintf(stderr, "fsops: unknown phase %s\n", argv[1]);
		return 2;
	}
	return 0;
}
