// pretable: a 65,536-entry table computed by the exported init function
// wizer.initialize. main computes it too when nothing did (a plain run), then
// prints who initialized it, how often the init ran, and a digest of the table.
// After pre-initialization main must print "initialized by snapshot" and
// "init calls 1": the table comes from the data segments, not from a new run.
#include <stdint.h>
#include <stdio.h>

#define ENTRIES 65536
#define ROUNDS 400

static uint32_t table[ENTRIES];
static int init_calls;

__attribute__((export_name("wizer.initialize"))) void init(void) {
	init_calls++;
	for (uint32_t i = 0; i < ENTRIES; i++) {
		uint32_t x = i * 2654435761u + 1;
		for (int r = 0; r < ROUNDS; r++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		table[i] = x;
	}
}

int main(void) {
	const char *by = "snapshot";
	if (init_calls == 0) {
		init();
		by = "main";
	}
	uint64_t digest = 1469598103934665603ull;
	for (uint32_t i = 0; i < ENTRIES; i++) {
		digest = (digest ^ table[i]) * 1099511628211ull;
	}
	printf("initialized by %s\ninit calls %d\ntable[0]=%u table[65535]=%u\ndigest %016llx\n", by, init_calls,
	       table[0], table[ENTRIES - 1], (unsigned long long)digest);
	return 0;
}
