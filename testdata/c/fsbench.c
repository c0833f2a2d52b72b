// fsbench reads files the way the vfs benchmark measures them.
// Usage: fsbench big FILE   reads FILE to the end in 64 KiB reads;
//        fsbench small DIR N stats, opens, reads and closes DIR/00000 …
//                            DIR/N-1.
// It prints the bytes read, so a short read shows up as a wrong total.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[64 * 1024];

static long long readall(const char *p) {
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		perror(p);
		exit(1);
	}
	long long total = 0;
	for (;;) {
		long n = read(fd, buf, sizeof buf);
		if (n < 0) {
			perror(p);
			exit(1);
		}
		if (n == 0) break;
		total += n;
	}
	close(fd);
	return total;
}

int main(int argc, char **argv) {
	if (argc >= 3 && strcmp(argv[1], "big") == 0) {
		printf("%lld\n", readall(argv[2]));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "small") == 0) {
		int n = atoi(argv[3]);
		long long total = 0;
		char p[512];
		for (int i = 0; i < n; i++) {
			struct stat st;
			snprintf(p, sizeof p, "%s/%05d", argv[2], i);
			if (stat(p, &st) < 0) {
				perror(p);
				return 1;
			}
			total += readall(p);
		}
		printf("%lld\n", total);
		return 0;
	}
	fprintf(stderr, "usage: fsbench big FILE | fsbench small DIR N\n");
	return 2;
}
