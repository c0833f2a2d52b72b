// cat: prints each file named by its arguments; a name ending in "/" lists
// that directory instead (sorted by the guest, entries starting with "."
// left out). "-w FILE TEXT" writes TEXT to FILE first. Exits 1 at the first
// failure, naming it.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		const char *name = argv[i];
		if (strcmp(name, "-w") == 0 && i + 2 < argc) {
			FILE *f = fopen(argv[i + 1], "w");
			if (!f || fputs(argv[i + 2], f) < 0 || fclose(f) != 0) {
				printf("write %s: %s\n", argv[i + 1], strerror(errno));
				return 1;
			}
			i += 2;
			continue;
		}
		size_t n = strlen(name);
		if (n > 0 && name[n - 1] == '/') {
			DIR *d = opendir(name);
			if (!d) {
				printf("list %s: %s\n", name, strerror(errno));
				return 1;
			}
			char *names[1024];
			int k = 0;
			struct dirent *e;
			while ((e = readdir(d)) && k < 1024)
				if (e->d_name[0] != '.')
					names[k++] = strdup(e->d_name);
			closedir(d);
			qsort(names, k, sizeof names[0], cmp);
			for (int j = 0; j < k; j++)
				printf("%s%s\n", name, names[j]);
			continue;
		}
		FILE *f = fopen(name, "r");
		if (!f) {
			printf("open %s: %s\n", name, strerror(errno));
			return 1;
		}
		char buf[4096];
		size_t r;
		while ((r = fread(buf, 1, sizeof buf, f)) > 0)
			fwrite(buf, 1, r, stdout);
		fclose(f);
	}
	return 0;
}
