// appendfile: for a single-file mount. Usage: appendfile FILE TEXT: prints
// FILE's content and size, appends TEXT to it (fopen "a"), prints its
// content again, then tries to create a file beside it under FILE (as if
// FILE were a directory) and prints the errno name. Exits 1 at the first
// failure of a step that should work, naming it.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int show(const char *p) {
	FILE *f = fopen(p, "r");
	if (!f) {
		printf("read %s: %s\n", p, strerror(errno));
		return 1;
	}
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	struct stat st;
	if (stat(p, &st) != 0) {
		printf("stat %s: %s\n", p, strerror(errno));
		return 1;
	}
	printf("%s (%lld bytes, %s): %s", p, (long long)st.st_size, S_ISREG(st.st_mode) ? "file" : "not a file", buf);
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		printf("usage: appendfile FILE TEXT\n");
		return 2;
	}
	if (show(argv[1]))
		return 1;
	FILE *f = fopen(argv[1], "a");
	if (!f) {
		printf("append %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (fputs(argv[2], f) < 0 || fclose(f) != 0) {
		printf("append %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (show(argv[1]))
		return 1;
	char under[1024];
	snprintf(under, sizeof under, "%s/x", argv[1]);
	FILE *g = fopen(under, "w");
	printf("create %s: %s\n", under, g ? "ok" : (errno == ENOTDIR ? "ENOTDIR" : strerror(errno)));
	return 0;
}
