// cgi_modes: a CGI/1.1 handler for wrun serve's tests. PATH_INFO picks
// what it does:
//   /echo         200 text/plain: the CGI meta-variables it got, then the body
//   /env          200 text/plain: its whole environment, one VAR=value a line
//   /crash        traps (unreachable)
//   /exit         writes a response, then exits with code 3
//   /loop         loops forever without calling the host
//   /slow         computes for QUERY_STRING milliseconds (default 300), then 200
//   /status       Status: 404 with a body of its own
//   /asset        X-Wrun-Asset: the guest path in QUERY_STRING
//   /local        Location: the local path in QUERY_STRING (local redirect)
//   /away         Location: http://example.com/elsewhere (client redirect)
//   /bigheader    a header block larger than 64 KiB
//   /noblank      header fields with no empty line after them, then text
//   /big          QUERY_STRING bytes of body
//   /manifest     the asset URL manifest the server mounts ($WRUN_ASSET_URLS)
//   /stderr       writes to stderr, then exits with code 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

static const char *env(const char *name) {
	const char *v = getenv(name);
	return v ? v : "(unset)";
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *vars[] = {
    "GATEWAY_INTERFACE", "SERVER_PROTOCOL", "SERVER_NAME", "SERVER_PORT", "REQUEST_METHOD",
    "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "REMOTE_ADDR", "CONTENT_TYPE",
    "CONTENT_LENGTH", "HTTP_HOST", "HTTP_X_TEST", "HTTP_PROXY", "HTTP_COOKIE", 0,
};

int main(void) {
	const char *mode = env("PATH_INFO");
	const char *q = getenv("QUERY_STRING");
	if (!q)
		q = "";
	if (!strcmp(mode, "/echo")) {
		printf("Content-Type: text/plain\r\nX-Handler: cgi_modes\r\n\r\n");
		for (int i = 0; vars[i]; i++)
			printf("%s=%s\n", vars[i], env(vars[i]));
		printf("body=");
		int c;
		while ((c = getchar()) != EOF)
			putchar(c);
		printf("\n");
		return 0;
	}
	if (!strcmp(mode, "/env")) {
		printf("Content-Type: text/plain\n\n");
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	}
	if (!strcmp(mode, "/crash"))
		__builtin_trap();
	if (!strcmp(mode, "/exit")) {
		printf("Content-Type: text/plain\n\npartial\n");
		return 3;
	}
	if (!strcmp(mode, "/loop")) {
		volatile unsigned long n = 0;
		for (;;)
			n++;
	}
	if (!strcmp(mode, "/slow")) {
		long long ms = *q ? atoll(q) : 300, end = now_ms() + ms;
		volatile unsigned long n = 0;
		while (now_ms() < end)
			n++;
		printf("Content-Type: text/plain\n\nslept %lld ms\n", ms);
		return 0;
	}
	if (!strcmp(mode, "/status")) {
		printf("Status: 404 Not Here\nContent-Type: text/plain\n\nno such thing\n");
		return 0;
	}
	if (!strcmp(mode, "/asset")) {
		printf("X-Wrun-Asset: %s\nCache-Control: no-cache\n\n", q);
		return 0;
	}
	if (!strcmp(mode, "/local")) {
		printf("Location: %s\n\n", q);
		return 0;
	}
	if (!strcmp(mode, "/away")) {
		printf("Location: http://example.com/elsewhere\n\n");
		return 0;
	}
	if (!strcmp(mode, "/bigheader")) {
		printf("Content-Type: text/plain\n");
		for (int i = 0; i < 2000; i++)
			printf("X-Filler-%d: %050d\n", i, i);
		printf("\nbody\n");
		return 0;
	}
	if (!strcmp(mode, "/noblank")) {
		printf("Content-Type: text/plain\nthis is not a header line\n");
		return 0;
	}
	if (!strcmp(mode, "/big")) {
		long long n = atoll(q);
		printf("Content-Type: application/octet-stream\n\n");
		for (long long i = 0; i < n; i++)
			putchar('x');
		return 0;
	}
	if (!strcmp(mode, "/manifest")) {
		printf("Content-Type: application/json\n\n");
		FILE *f = fopen(env("WRUN_ASSET_URLS"), "r");
		if (!f) {
			printf("null\n");
			return 0;
		}
		int c;
		while ((c = fgetc(f)) != EOF)
			putchar(c);
		fclose(f);
		return 0;
	}
	if (!strcmp(mode, "/stderr")) {
		fprintf(stderr, "something went wrong\n");
		return 1;
	}
	printf("Status: 404 Not Found\nContent-Type: text/plain\n\nunknown mode %s\n", mode);
	return 0;
}
