// clock: prints the wall clock, the monotonic clock and 8 random bytes, so a
// test can check the clocks and random source a run was given.
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
	struct timespec wall, mono;
	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	unsigned char r[8];
	if (getentropy(r, sizeof r) != 0)
		return 1;
	printf("wall=%lld.%09ld mono=%lld.%09ld random=", (long long)wall.tv_sec, wall.tv_nsec,
	       (long long)mono.tv_sec, mono.tv_nsec);
	for (int i = 0; i < 8; i++)
		printf("%02x", r[i]);
	printf("\n");
	return 0;
}
