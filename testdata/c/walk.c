// walk lists a directory tree twice, with scandir() (the top directory,
// "." and ".." included) and with nftw() (every entry below, physical
// walk), and prints a sorted, deterministic listing: names, types, depth,
// sizes of regular files and symbolic link targets (no inode numbers or
// times; each d_ino is checked against lstat). Built natively and as
// wasm32-wasi, it must print the same on both for the same tree. Usage:
// walk DIR.
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dtype(unsigned char t) {
	switch (t) {
	case DT_REG: return "file";
	case DT_DIR: return "dir";
	case DT_LNK: return "symlink";
	case DT_UNKNOWN: return "unknown";
	}
	return "other";
}

static const char *ftwtype(int t) {
	switch (t) {
	case FTW_F: return "file";
	case FTW_D: return "dir";
	case FTW_DP: return "dir-post";
	case FTW_SL: return "symlink";
	case FTW_SLN: return "symlink-dangling";
	case FTW_DNR: return "dir-unreadable";
	case FTW_NS: return "stat-failed";
	}
	return "other";
}

static char **lines;
static size_t nlines, caplines;
static size_t rootlen;

static void add(const char *s) {
	if (nlines == caplines) {
		caplines = caplines ? 2 * caplines : 64;
		lines = realloc(lines, caplines * sizeof *lines);
		if (!lines) exit(3);
	}
	lines[nlines++] = strdup(s);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
	char line[4096];
	const char *rel = path + rootlen;
	while (*rel == '/') rel++;
	if (!*rel) rel = ".";
	int n = snprintf(line, sizeof line, "%s depth=%d %s", rel, ftw->level, ftwtype(type));
	if (type == FTW_F) {
		snprintf(line + n, sizeof line - n, " size=%lld", (long long)st->st_size);
	} else if (type == FTW_SL || type == FTW_SLN) {
		char target[1024];
		ssize_t k = readlink(path, target, sizeof target - 1);
		if (k >= 0) {
			target[k] = 0;
			snprintf(line + n, sizeof line - n, " -> %s", target);
		}
	}
	add(line);
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: walk DIR\n");
		return 2;
	}
	struct dirent **ents;
	int n = scandir(argv[1], &ents, NULL, alphasort);
	if (n < 0) {
		printf("scandir: %s\n", strerror(errno));
		return 1;
	}
	printf("scandir: %d entries\n", n);
	for (int i = 0; i < n; i++) {
		// d_ino must be the inode lstat reports (".." at the top: only
		// non-zero, since natively it is the parent and under WASI at a
		// mount root the root itself).
		const char *name = ents[i]->d_name;
		const char *ino = "ino=0";
		if (ents[i]->d_ino != 0) {
			ino = "ino!=0";
			if (strcmp(name, "..") != 0) {
				char p[4096];
				struct stat st;
				snprintf(p, sizeof p, "%s/%s", argv[1], name);
				ino = lstat(p, &st) != 0         ? "ino-lstat-failed"
				      : st.st_ino == ents[i]->d_ino ? "ino==lstat"
								    : "ino!=lstat";
			}
		}
		printf("  %s %s %s\n", name, dtype(ents[i]->d_type), ino);
		free(ents[i]);
	}
	free(ents);
	{
		// What a libc whose readdir stats entries with d_ino 0 does for
		// "..": it must work at a mount root too.
		char p[4096];
		struct stat st;
		snprintf(p, sizeof p, "%s/..", argv[1]);
		if (lstat(p, &st) != 0)
			printf("lstat(DIR/..): %s\n", strerror(errno));
		else
			printf("lstat(DIR/..): ok %s\n", S_ISDIR(st.st_mode) ? "dir" : "not a dir");
	}

	rootlen = strlen(argv[1]);
	if (nftw(argv[1], visit, 16, FTW_PHYS) != 0) {
		printf("nftw: %s\n", strerror(errno));
		return 1;
	}
	qsort(lines, nlines, sizeof *lines, cmp);
	printf("nftw: %zu entries\n", nlines);
	for (size_t i = 0; i < nlines; i++) printf("  %s\n", lines[i]);
	return 0;
}
