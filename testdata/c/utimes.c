// utimes asks for a file's times to be set to "now" the ways a C program
// can, and prints the file's modification time (seconds) after each:
//
//	utimes PATH
//
// prints one line per call, "NAME MTIME" or "NAME error: MESSAGE":
//
//	utimensat      utimensat(AT_FDCWD, PATH, NULL, 0)
//	futimens       futimens(fd, NULL)
//	utimes         utimes(PATH, NULL)
//	utimensat-now  utimensat with {0, UTIME_NOW} for both times
//	utimensat-clock utimensat with the time clock_gettime(CLOCK_REALTIME) reads
//
// Before each call the file's times are set to 1000000000 (2001), so a call
// that does nothing shows as well as one that sets 1970. With Debian's
// wasi-libc (a 2022-05 snapshot) the three NULL calls print 0: it reads the
// NULL pointer as the times array (address 0 holds zeros) and sends explicit
// zero times to path_filestat_set_times / fd_filestat_set_times; and
// UTIME_NOW in the modification time fails with EINVAL inside libc. Only the
// explicit clock time reaches the WASI host as "now".
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int reset(const char *p) {
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	return utimensat(AT_FDCWD, p, old, 0);
}

static void show(const char *what, const char *p, int rc) {
	struct stat st;
	if (rc != 0) {
		printf("%s error: %s\n", what, strerror(errno));
	} else if (stat(p, &st) != 0) {
		printf("%s error: stat: %s\n", what, strerror(errno));
	} else {
		printf("%s %lld\n", what, (long long)st.st_mtim.tv_sec);
	}
	reset(p);
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: utimes PATH\n");
		return 2;
	}
	const char *p = argv[1];
	int fd = open(p, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	if (reset(p) != 0) {
		perror("reset");
		return 1;
	}
	show("utimensat", p, utimensat(AT_FDCWD, p, NULL, 0));
	show("futimens", p, futimens(fd, NULL));
	show("utimes", p, utimes(p, NULL));
	struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	show("utimensat-now", p, utimensat(AT_FDCWD, p, now, 0));
	struct timespec clock[2];
	clock_gettime(CLOCK_REALTIME, &clock[0]);
	clock[1] = clock[0];
	show("utimensat-clock", p, utimensat(AT_FDCWD, p, clock, 0));
	close(fd);
	return 0;
}
