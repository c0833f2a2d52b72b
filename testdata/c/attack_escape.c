// attack_escape tries to leave what a guest was granted through symbolic
// links, and prints what happened. Usage:
//
//	attack_escape nest DIR [overlay]
//	                           DIR is a read-write mount with a read-only
//	                           mount at DIR/ro holding keep.txt: link
//	                           DIR/x -> ro, then write and delete
//	                           DIR/x/keep.txt. With "overlay", DIR/ro is a
//	                           copy-on-write overlay, which takes the
//	                           writes: the caller checks the host.
//	attack_escape alias DIR    make DIR/l -> "short-target" from a buffer,
//	                           overwrite the buffer, read the link back.
//	attack_escape outlink DIR  make links under DIR whose targets lead
//	                           outside it (relative, absolute, through a
//	                           link to ".").
//
// It exits 0 when every attempt was refused (or the link kept its target)
// and 1 when one got through: "ESCAPED" lines say which.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[4][512];
static int k;

static const char *at(const char *dir, const char *name) {
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static int nest(const char *dir, int overlay) {
	int escaped = 0;
	if (symlink("ro", at(dir, "x")) != 0) {
		printf("symlink x -> ro: %s\n", strerror(errno));
	} else {
		printf("symlink x -> ro: ok\n");
	}
	int fd = open(at(dir, "x/keep.txt"), O_WRONLY | O_TRUNC);
	if (fd < 0) {
		printf("open x/keep.txt for writing: refused: %s\n", strerror(errno));
	} else {
		ssize_t n = write(fd, "pwned\n", 6);
		printf("open x/keep.txt for writing: %s (wrote %zd bytes)\n", overlay ? "ok, in the overlay" : "ESCAPED", n);
		close(fd);
		escaped = !overlay;
	}
	if (unlink(at(dir, "x/keep.txt")) == 0) {
		printf("unlink x/keep.txt: %s\n", overlay ? "ok, in the overlay" : "ESCAPED");
		escaped |= !overlay;
	} else {
		printf("unlink x/keep.txt: refused: %s\n", strerror(errno));
	}
	// The read-only mount itself still reads through the link.
	fd = open(at(dir, "x/keep.txt"), O_RDONLY);
	if (fd >= 0) {
		char got[64] = {0};
		ssize_t n = read(fd, got, sizeof got - 1);
		printf("read x/keep.txt: %zd bytes\n", n);
		close(fd);
	} else {
		printf("read x/keep.txt: %s\n", strerror(errno));
	}
	return escaped;
}

static int alias(const char *dir) {
	char target[32];
	strcpy(target, "short-target");
	if (symlink(target, at(dir, "l")) != 0) {
		printf("symlink: %s\n", strerror(errno));
		return 1;
	}
	memcpy(target, "/etc/passwd\0", 12); // reuse the buffer
	char got[64] = {0};
	ssize_t n = readlink(at(dir, "l"), got, sizeof got - 1);
	if (n < 0) {
		printf("readlink: %s\n", strerror(errno));
		return 1;
	}
	if (strcmp(got, "short-target") != 0) {
		printf("readlink: ESCAPED: the link now reads %zd bytes \"%s\"\n", n, got);
		return 1;
	}
	printf("readlink: kept short-target\n");
	return 0;
}

static int outlink(const char *dir) {
	static const char *cases[][2] = {
		{"up", "../outside"},
		{"deep", "sub/../../outside"},
		{"abs", "/etc/passwd"},
		{"dot", "."},             // a link to DIR itself: allowed
		{"viadot", "dot/../out"}, // through the link above, out of DIR
		{"inside", "sub/file"},   // dangling but inside: allowed
	};
	int escaped = 0;
	mkdir(at(dir, "sub"), 0755);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *name = cases[i][0], *target = cases[i][1];
		int allowed = strcmp(name, "dot") == 0 || strcmp(name, "inside") == 0;
		int r = symlink(target, at(dir, name));
		if (r == 0 && !allowed) {
			printf("symlink %s -> %s: ESCAPED\n", name, target);
			escaped = 1;
		} else if (r == 0) {
			printf("symlink %s -> %s: ok\n", name, target);
		} else if (allowed) {
			printf("symlink %s -> %s: UNEXPECTED %s\n", name, target, strerror(errno));
			escaped = 1;
		} else {
			printf("symlink %s -> %s: refused: %s\n", name, target, strerror(errno));
		}
	}
	// Renaming a link deeper stays inside; renaming sub/l (-> ../x) to the
	// top would lead out.
	if (symlink("../x", at(dir, "sub/l")) != 0) {
		printf("symlink sub/l -> ../x: UNEXPECTED %s\n", strerror(errno));
		escaped = 1;
	} else if (rename(at(dir, "sub/l"), at(dir, "l")) == 0) {
		printf("rename sub/l -> l: ESCAPED\n");
		escaped = 1;
	} else {
		printf("rename sub/l -> l: refused: %s\n", strerror(errno));
	}
	return escaped;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: attack_escape nest|alias|outlink DIR [overlay]\n");
		return 2;
	}
	const char *mode = argv[1], *dir = argv[2];
	if (strcmp(mode, "nest") == 0) return nest(dir, argc > 3 && strcmp(argv[3], "overlay") == 0);
	if (strcmp(mode, "alias") == 0) return alias(dir);
	if (strcmp(mode, "outlink") == 0) return outlink(dir);
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
