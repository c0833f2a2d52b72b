// files: file operations under the directory argv[1] (default /data): write,
// append, read back, list, rename, stat, delete. Prints a transcript; exits 1
// at the first failure with the errno text.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;

static void fail(const char *what) {
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

static char *at(const char *name) {
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

int main(int argc, char **argv) {
	dir = argc > 1 ? argv[1] : "/data";
	FILE *f = fopen(at("note.txt"), "w");
	if (!f) fail("create note.txt");
	fputs("first line\n", f);
	fclose(f);
	f = fopen(at("note.txt"), "a");
	if (!f) fail("append note.txt");
	fputs("second line\n", f);
	fclose(f);
	char buf[256] = {0};
	f = fopen(at("note.txt"), "r");
	if (!f) fail("open note.txt");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	printf("read %zu bytes: %s", n, buf);
	if (mkdir(at("sub"), 0755) != 0) fail("mkdir sub");
	if (rename(at("note.txt"), at("sub/moved.txt")) != 0) fail("rename");
	struct stat st;
	if (stat(at("sub/moved.txt"), &st) != 0) fail("stat moved");
	printf("moved size %lld\n", (long long)st.st_size);
	if (stat(at("note.txt"), &st) == 0 || errno != ENOENT) fail("old name still there");
	printf("old name: %s\n", strerror(errno));
	DIR *d = opendir(at("sub"));
	if (!d) fail("opendir");
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') printf("entry %s\n", e->d_name);
	closedir(d);
	if (argc > 2 && strcmp(argv[2], "keep") == 0) return 0;
	if (unlink(at("sub/moved.txt")) != 0) fail("unlink");
	if (rmdir(at("sub")) != 0) fail("rmdir");
	printf("cleaned up\n");
	return 0;
}
