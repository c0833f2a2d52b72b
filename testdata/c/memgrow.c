// memgrow: allocates (and touches) argv[1] MiB in 1 MiB steps. Exits 0 when
// all of it was allocated, 2 when malloc failed first (memory.grow refused).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Kept reachable so the compiler cannot elide the allocations.
char *volatile blocks[4096];

int main(int argc, char **argv) {
	int want = argc > 1 ? atoi(argv[1]) : 16;
	if (want > 4096)
		want = 4096;
	for (int i = 0; i < want; i++) {
		blocks[i] = malloc(1 << 20);
		if (!blocks[i]) {
			printf("out of memory after %d MiB\n", i);
			return 2;
		}
		memset(blocks[i], i, 1 << 20);
	}
	printf("allocated %d MiB\n", want);
	return 0;
}
