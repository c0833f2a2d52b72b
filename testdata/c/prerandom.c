// prerandom: the init seeds a hash from random_get and reads the clock, the
// values a snapshot bakes into every instance (a warning).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t seed;
static long long started;
static int init_calls;

__attribute__((export_name("wizer.initialize"))) void init(void) {
	init_calls++;
	arc4random_buf(&seed, sizeof seed);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	started = ts.tv_sec;
}

int main(void) {
	if (init_calls == 0) {
		init();
	}
	printf("init calls %d\nseed %016llx\n", init_calls, (unsigned long long)seed);
	return 0;
}
