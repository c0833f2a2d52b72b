// prefile: the init reads /data/config.txt into memory; main prints it. With
// PREFILE_LEAK=1 in the environment the init leaves the file open (a refusal).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char config[4096];
static int init_calls;

__attribute__((export_name("wizer.initialize"))) void init(void) {
	init_calls++;
	FILE *f = fopen("/data/config.txt", "r");
	if (!f) {
		perror("open /data/config.txt");
		exit(2);
	}
	size_t n = fread(config, 1, sizeof config - 1, f);
	config[n] = 0;
	const char *leak = getenv("PREFILE_LEAK");
	if (!leak || strcmp(leak, "1") != 0) {
		fclose(f);
	}
}

int main(void) {
	const char *by = "snapshot";
	if (init_calls == 0) {
		init();
		by = "main";
	}
	printf("initialized by %s\ninit calls %d\nconfig: %s", by, init_calls, config);
	return 0;
}
