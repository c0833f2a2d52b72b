// growtouch: grows the heap to argv[1] MiB in 1 MiB malloc steps, touching
// every 4 KiB page, then prints the size of linear memory in bytes, for the
// memory-growth bench (host RSS / guest memory).
#include <stdio.h>
#include <stdlib.h>

// Kept reachable so the compiler cannot elide the allocations.
char *volatile blocks[4096];

int main(int argc, char **argv) {
	int want = argc > 1 ? atoi(argv[1]) : 16;
	if (want > 4000)
		want = 4000;
	for (int i = 0; i < want; i++) {
		blocks[i] = malloc(1 << 20);
		if (!blocks[i]) {
			printf("out of memory after %d MiB\n", i);
			return 2;
		}
		for (int j = 0; j < (1 << 20); j += 4096)
			blocks[i][j] = (char)(i + 1);
	}
	printf("memory %lu\n", (unsigned long)__builtin_wasm_memory_size(0) * 65536ul);
	return 0;
}
