// rwloop: N rounds of one small fd_write and one fd_read on a file, the
// per-call cost of a WASI layer. Usage: rwloop FILE N. Prints the bytes read.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: rwloop FILE N\n");
		return 2;
	}
	long n = atol(argv[2]);
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	char buf[16] = "0123456789abcdef";
	long long total = 0;
	for (long i = 0; i < n; i++) {
		if (pwrite(fd, buf, sizeof buf, 0) != sizeof buf || lseek(fd, 0, SEEK_SET) != 0) {
			perror("write");
			return 1;
		}
		ssize_t r = read(fd, buf, sizeof buf);
		if (r != sizeof buf) {
			perror("read");
			return 1;
		}
		total += r;
	}
	printf("%lld\n", total);
	return 0;
}
