// exit: exits with the code given as its first argument, after writing a
// line to stdout and one to stderr.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	int code = argc > 1 ? atoi(argv[1]) : 0;
	printf("exiting with %d\n", code);
	fprintf(stderr, "stderr line\n");
	return code;
}
