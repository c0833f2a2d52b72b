// preflood: the init writes 4 MiB into /data/flood (an overlay over a
// read-only asset in the tests) and exits 3 when a write is refused; main
// prints "ok". A run's overlay cap must bound what an init writes too.
#include <stdio.h>
#include <stdlib.h>

static char buf[64 * 1024];

__attribute__((export_name("wizer.initialize"))) void init(void) {
	FILE *f = fopen("/data/flood", "w");
	if (!f) {
		perror("open /data/flood");
		exit(2);
	}
	for (int i = 0; i < 64; i++) {
		if (fwrite(buf, 1, sizeof buf, f) != sizeof buf || fflush(f) != 0) {
			perror("write /data/flood");
			exit(3);
		}
	}
	fclose(f);
}

int main(void) {
	puts("ok");
	return 0;
}
