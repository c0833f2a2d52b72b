// preheap: the init scatters writes over a 16 MiB heap allocation, so its
// snapshot has many small non-zero runs (segment merging). main prints a
// digest of the heap and how often the init ran.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define HEAP (16 << 20)
#define WRITES 50000

static uint8_t *heap;
static int init_calls;

__attribute__((export_name("wizer.initialize"))) void init(void) {
	init_calls++;
	heap = calloc(HEAP, 1);
	uint32_t x = 12345;
	for (int i = 0; i < WRITES; i++) {
		x = x * 1103515245u + 12345u;
		heap[(x >> 4) % HEAP] = (uint8_t)(x >> 24) | 1;
	}
}

int main(void) {
	const char *by = "snapshot";
	if (init_calls == 0) {
		init();
		by = "main";
	}
	uint64_t digest = 1469598103934665603ull;
	size_t nonzero = 0;
	for (size_t i = 0; i < HEAP; i++) {
		if (heap[i]) {
			nonzero++;
			digest = (digest ^ (heap[i] + i)) * 1099511628211ull;
		}
	}
	// The heap must still work after the snapshot.
	char *more = malloc(1 << 20);
	more[0] = 1;
	printf("initialized by %s\ninit calls %d\nnonzero %zu digest %016llx\n", by, init_calls, nonzero,
	       (unsigned long long)digest);
	return 0;
}
