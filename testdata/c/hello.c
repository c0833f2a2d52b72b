// hello: the demo and benchmark guest. Prints a greeting naming its first argument.
#include <stdio.h>

int main(int argc, char **argv) {
	printf("hello, %s, from C on wasm32-wasi\n", argc > 1 ? argv[1] : "world");
	return 0;
}
