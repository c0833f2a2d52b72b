// echo: prints its arguments, the environment variables named by ECHO_ENV
// (or all of them when ECHO_ENV is unset), then copies stdin to stdout.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
	for (int i = 0; i < argc; i++)
		printf("arg[%d]=%s\n", i, argv[i]);
	int n = 0;
	for (char **e = environ; *e; e++)
		n++;
	printf("envc=%d\n", n);
	for (char **e = environ; *e; e++)
		printf("env %s\n", *e);
	char buf[4096];
	size_t r;
	while ((r = fread(buf, 1, sizeof buf, stdin)) > 0)
		fwrite(buf, 1, r, stdout);
	return 0;
}
