// attack_exhaust tries to take more of the host than a filesystem limit
// allows, and prints what happened. Usage:
//
//	attack_exhaust fill DIR LIMIT         write one file until a write fails
//	attack_exhaust unlinked DIR LIMIT     files written until a write fails,
//	                                      then unlinked but kept open
//	attack_exhaust truncneg DIR LIMIT     write, unlink, ftruncate to 0 while
//	                                      open, ten times; then fill
//	attack_exhaust names DIR LIMIT LEN    empty files with LEN-byte names
//	attack_exhaust links DIR LIMIT LEN    symbolic links with LEN-byte targets
//	attack_exhaust openmax DIR MAX        open one file again and again,
//	                                      keeping every descriptor
//
// LIMIT is the size cap in bytes of the filesystem at DIR. Each mode stops
// at the first failure and prints "held" when what it got stays within the
// limit (exit 0) or "EXCEEDED" when it got more (exit 1). openmax prints
// how many descriptors it opened and the errno of the first failure, and
// exits 1 when MAX opens all succeeded.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char chunk[64 << 10];
static char path[8192];

static const char *at(const char *dir, const char *fmt, long i) {
	int n = snprintf(path, sizeof path, "%s/", dir);
	snprintf(path + n, sizeof path - n, fmt, i);
	return path;
}

// fill writes fd until a write fails or more than max bytes went in.
static long fill(int fd, long max) {
	long total = 0;
	while (total <= max) {
		ssize_t n = write(fd, chunk, sizeof chunk);
		if (n <= 0) {
			printf("write failed after %ld bytes: %s\n", total, strerror(errno));
			break;
		}
		total += n;
	}
	return total;
}

static int verdict(long got, long limit, const char *what) {
	if (got > limit) {
		printf("EXCEEDED: %ld %s with a limit of %ld\n", got, what, limit);
		return 1;
	}
	printf("held: %ld %s with a limit of %ld\n", got, what, limit);
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: attack_exhaust MODE DIR LIMIT [LEN]\n");
		return 2;
	}
	const char *mode = argv[1], *dir = argv[2];
	long limit = atol(argv[3]);
	long len = argc > 4 ? atol(argv[4]) : 0;
	memset(chunk, 'x', sizeof chunk);

	if (strcmp(mode, "fill") == 0) {
		int fd = open(at(dir, "fill", 0), O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0) {
			printf("open: %s\n", strerror(errno));
			return 1;
		}
		return verdict(fill(fd, 4 * limit), limit, "bytes written");
	}
	if (strcmp(mode, "unlinked") == 0) {
		long total = 0;
		for (long i = 0; i < 64 && total <= 4 * limit; i++) {
			int fd = open(at(dir, "u%ld", i), O_CREAT | O_RDWR | O_TRUNC, 0644);
			if (fd < 0) {
				printf("open: %s\n", strerror(errno));
				break;
			}
			long n = fill(fd, limit);
			unlink(path); // the descriptor stays open: the bytes stay held
			total += n;
			if (n < limit / 2) break; // full: the limit held for this file
		}
		return verdict(total, limit, "bytes held in unlinked open files");
	}
	if (strcmp(mode, "truncneg") == 0) {
		for (long i = 0; i < 10; i++) {
			int fd = open(at(dir, "t%ld", i), O_CREAT | O_RDWR | O_TRUNC, 0644);
			if (fd < 0) {
				printf("open: %s\n", strerror(errno));
				return 1;
			}
			for (long w = 0; w < limit / 2; w += sizeof chunk) write(fd, chunk, sizeof chunk);
			unlink(path);
			if (ftruncate(fd, 0) != 0) printf("ftruncate: %s\n", strerror(errno));
			close(fd);
		}
		int fd = open(at(dir, "after", 0), O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0) {
			printf("open: %s\n", strerror(errno));
			return 1;
		}
		return verdict(fill(fd, 4 * limit), limit, "bytes written after ten unlink+ftruncate");
	}
	if (strcmp(mode, "names") == 0 || strcmp(mode, "links") == 0) {
		int links = mode[0] == 'l';
		char *s = malloc(len + 16);
		memset(s, 'n', len);
		s[len] = 0;
		long count = 0;
		for (;;) {
			// a unique name or target of exactly len bytes (len >= 8)
			snprintf(s + len - 8, 9, "%08lx", count);
			int r;
			if (links) {
				r = symlink(s, at(dir, "l%ld", count));
			} else {
				snprintf(path, sizeof path, "%s/%s", dir, s);
				r = open(path, O_CREAT | O_WRONLY, 0644);
				if (r >= 0) r = close(r);
			}
			if (r != 0) {
				printf("failed after %ld entries: %s\n", count, strerror(errno));
				break;
			}
			count++;
			if (count * (len + 64) > 4 * limit) break;
		}
		// Every entry costs at least its name (or target) and some 64 bytes
		// of bookkeeping on the host.
		return verdict(count * (len + 64), limit, links ? "bytes of links (targets + 64 each)" : "bytes of entries (names + 64 each)");
	}
	if (strcmp(mode, "openmax") == 0) {
		long max = limit;
		int fd = open(at(dir, "o", 0), O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			printf("create: %s\n", strerror(errno));
			return 1;
		}
		long n = 1;
		while (n < max) {
			if (open(path, O_RDONLY) < 0) {
				int e = errno;
				printf("opened %ld, then: %s (%s)\n", n, e == EMFILE ? "EMFILE" : e == EIO ? "EIO" : "other", strerror(e));
				// one freed descriptor can be opened again
				close(fd);
				fd = open(path, O_RDONLY);
				printf("after a close: %s\n", fd >= 0 ? "open ok" : strerror(errno));
				return fd >= 0 ? 0 : 1;
			}
			n++;
		}
		printf("EXCEEDED: opened %ld descriptors without a failure\n", n);
		return 1;
	}
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
