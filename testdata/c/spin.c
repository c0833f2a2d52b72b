// spin: CPU-bound work for measuring the cost of cancellation checks: N
// rounds (argv[1], default 1000) of a sieve of primes below 100000 and a
// recursive Fibonacci, then one line with the totals. No host calls while
// it computes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char composite[100000];

__attribute__((noinline)) static int sieve(void) {
	memset(composite, 0, sizeof composite);
	int count = 0;
	for (int i = 2; i < (int)sizeof composite; i++) {
		if (composite[i])
			continue;
		count++;
		for (int j = 2 * i; j < (int)sizeof composite; j += i)
			composite[j] = 1;
	}
	return count;
}

__attribute__((noinline)) static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
	int rounds = argc > 1 ? atoi(argv[1]) : 1000;
	unsigned long long primes = 0, fibs = 0;
	for (int r = 0; r < rounds; r++) {
		primes += sieve();
		fibs += fib(20);
	}
	printf("rounds=%d primes=%llu fib=%llu\n", rounds, primes, fibs);
	return 0;
}
