// main.c is the python:cpython-preinit interpreter: CPython 3.11 linked
// statically with a `wizer.initialize` export that starts the interpreter
// and imports the common modules, so that a pre-initialized snapshot of it
// (wrun preinit, or wrun's [preinit] on first run) starts with all of that
// done; and a `main` that runs a program like `python` does.
//
// The init (export "wizer.initialize"):
//   - Py_InitializeFromConfig with home /usr/local, a fixed hash seed (0,
//     as PYTHONHASHSEED=0: a random seed would be baked into every
//     instance), no user site directory, no argv parsing;
//   - imports json, re, dataclasses, pathlib, zlib, decimal, datetime,
//     collections, typing and every module named in WRUN_PYTHON_PRELOAD
//     (comma-separated); nothing that seeds from urandom at import (random);
//   - compiles the small Python function main calls to refresh the state
//     that belongs to the run, not to the snapshot;
//   - forgets the C environment (wasi-libc reads it again at _start).
//
// main (exported as _start by wasi-libc) runs the init first when the module
// was not pre-initialized, then: refreshes os.environ from the real
// environment, sys.path[0] and PYTHONPATH, the importers' caches and the
// line buffering of a terminal stdout; sets sys.argv; and runs
//   -c CODE [ARG...]     the code, sys.argv = ['-c', ARG...]
//   -m MODULE [ARG...]   runpy._run_module_as_main, like python -m
//   SCRIPT [ARG...]      the file ('-' reads the program from stdin)
// with CPython's exit codes: 0, SystemExit's code, 1 after an uncaught
// exception's traceback, 2 for a usage error or a script that cannot be
// opened, 120 when finalization fails. Options -u, -B, -s, -E, -I, -q are
// accepted (-u and -B take effect); any other option is a usage error, and
// so is no program at all (there is no interactive mode).
#include <Python.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/libc-environ.h>

extern char **environ;

// Set by the init; in a snapshot they are baked in.
static int initialized;
static PyObject *refresh; // the function compiled by the init

static const char *const preload[] = {
	"json", "re", "dataclasses", "pathlib", "zlib", "decimal", "datetime", "collections", "typing",
};

// refresh_src is compiled at init. Called by main with (environ, path0,
// unbuffered, dont_write_bytecode) where environ is a dict of bytes.
static const char refresh_src[] =
	"def _wrun_refresh(environ, path0, unbuffered, dont_write_bytecode):\n"
	"    import importlib, os, posix, sys\n"
	"    # os.environ's data is posix.environ on POSIX: refill it in place.\n"
	"    posix.environ.clear()\n"
	"    posix.environ.update(environ)\n"
	"    paths = [] if path0 is None else [path0]\n"
	"    pp = os.environ.get('PYTHONPATH')\n"
	"    if pp:\n"
	"        paths += [p for p in pp.split(os.pathsep) if p]\n"
	"    sys.path[0:0] = paths\n"
	"    if dont_write_bytecode or os.environ.get('PYTHONDONTWRITEBYTECODE'):\n"
	"        sys.dont_write_bytecode = True\n"
	"    importlib.invalidate_caches()\n"
	"    if unbuffered or os.environ.get('PYTHONUNBUFFERED'):\n"
	"        sys.stdout.reconfigure(write_through=True)\n"
	"        sys.stderr.reconfigure(write_through=True)\n"
	"    elif os.isatty(1):\n"
	"        sys.stdout.reconfigure(line_buffering=True)\n";

// fail prints the pending Python exception, if any, and a message, then
// exits 1.
static void fail(const char *what) {
	if (PyErr_Occurred()) {
		PyErr_Print();
	}
	fprintf(stderr, "python:cpython-preinit: %s\n", what);
	exit(1);
}

static void import_or_fail(const char *name) {
	PyObject *m = PyImport_ImportModule(name);
	if (!m) {
		PyErr_Print();
		fprintf(stderr, "python:cpython-preinit: cannot import %s at initialization\n", name);
		exit(1);
	}
	Py_DECREF(m);
}

static void init_interpreter(void) {
	PyConfig config;
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0;
	config.use_hash_seed = 1;
	config.hash_seed = 0;
	config.user_site_directory = 0;
	PyStatus status = PyConfig_SetString(&config, &config.home, L"/usr/local");
	if (!PyStatus_Exception(status)) {
		status = PyConfig_SetString(&config, &config.program_name, L"python3.11");
	}
	if (!PyStatus_Exception(status)) {
		status = Py_InitializeFromConfig(&config);
	}
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status)) {
		Py_ExitStatusException(status);
	}

	for (size_t i = 0; i < sizeof preload / sizeof preload[0]; i++) {
		import_or_fail(preload[i]);
	}
	const char *extra = getenv("WRUN_PYTHON_PRELOAD");
	if (extra && *extra) {
		char *list = strdup(extra);
		for (char *save = NULL, *name = strtok_r(list, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
			import_or_fail(name);
		}
		free(list);
	}

	PyObject *globals = PyDict_New();
	if (!globals || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0) {
		fail("cannot make the refresh function's globals");
	}
	PyObject *r = PyRun_String(refresh_src, Py_file_input, globals, globals);
	if (!r) {
		fail("cannot compile the refresh function");
	}
	Py_DECREF(r);
	refresh = PyDict_GetItemString(globals, "_wrun_refresh");
	if (!refresh) {
		fail("no refresh function");
	}
	Py_INCREF(refresh);
	Py_DECREF(globals);

	// Whatever the init's environment was, the run reads its own.
	__wasilibc_deinitialize_environ();
	initialized = 1;
}

__attribute__((export_name("wizer.initialize"))) void wizer_initialize(void) {
	init_interpreter();
}

// environ_bytes returns the C environment as a dict of bytes to bytes.
static PyObject *environ_bytes(void) {
	PyObject *d = PyDict_New();
	if (!d) {
		return NULL;
	}
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || eq == *e) {
			continue;
		}
		PyObject *k = PyBytes_FromStringAndSize(*e, eq - *e);
		PyObject *v = PyBytes_FromString(eq + 1);
		if (!k || !v || PyDict_SetItem(d, k, v) < 0) {
			Py_XDECREF(k);
			Py_XDECREF(v);
			Py_DECREF(d);
			return NULL;
		}
		Py_DECREF(k);
		Py_DECREF(v);
	}
	return d;
}

// abspath returns path made absolute against the working directory (no
// symlink resolution, like CPython's _Py_abspath), malloc'ed.
static char *abspath(const char *path) {
	if (path[0] == '/') {
		return strdup(path);
	}
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd)) {
		return strdup(path);
	}
	size_t n = strlen(cwd) + 1 + strlen(path) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
	return out;
}

static int set_argv(const char *first, int argc, char **argv) {
	PyObject *list = PyList_New(0);
	if (!list) {
		return -1;
	}
	for (int i = -1; i < argc; i++) {
		PyObject *s = PyUnicode_DecodeFSDefault(i < 0 ? first : argv[i]);
		if (!s || PyList_Append(list, s) < 0) {
			Py_XDECREF(s);
			Py_DECREF(list);
			return -1;
		}
		Py_DECREF(s);
	}
	int rc = PySys_SetObject("argv", list);
	Py_DECREF(list);
	return rc;
}

static int usage(const char *prog, const char *msg) {
	fprintf(stderr, "%s: %s\nusage: %s [-uBsEIq] (-c CODE | -m MODULE | SCRIPT | -) [ARG...]\n", prog, msg, prog);
	return 2;
}

int main(int argc, char **argv) {
	const char *prog = argc > 0 && argv[0][0] ? argv[0] : "python3.11";
	int unbuffered = 0, dont_write_bytecode = 0;
	const char *code = NULL, *module = NULL, *script = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *opt = argv[i];
		if (strncmp(opt, "-c", 2) == 0 || strncmp(opt, "-m", 2) == 0) {
			const char *val = opt[2] ? opt + 2 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val) {
				char msg[64];
				snprintf(msg, sizeof msg, "argument expected for the %.2s option", opt);
				return usage(prog, msg);
			}
			if (opt[1] == 'c') {
				code = val;
			} else {
				module = val;
			}
			i++;
			break;
		}
		if (strcmp(opt, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(opt, "-V") == 0 || strcmp(opt, "--version") == 0) {
			printf("Python %s\n", PY_VERSION);
			return 0;
		}
		for (const char *f = opt + 1; *f; f++) {
			switch (*f) {
			case 'u':
				unbuffered = 1;
				break;
			case 'B':
				dont_write_bytecode = 1;
				break;
			case 's':
			case 'E':
			case 'I':
			case 'q':
				break;
			default: {
				char msg[96];
				snprintf(msg, sizeof msg, "unknown option -%c (python:cpython-preinit takes -u -B -s -E -I -q -c -m)", *f);
				return usage(prog, msg);
			}
			}
		}
	}
	if (!code && !module) {
		if (i >= argc) {
			return usage(prog, "no program given (python:cpython-preinit has no interactive mode)");
		}
		script = argv[i++];
	}

	if (initialized) {
		// A snapshot: read this run's environment, not the init's.
		__wasilibc_ensure_environ();
	} else {
		init_interpreter();
		__wasilibc_ensure_environ();
	}

	char *path0 = NULL;
	if (code) {
		path0 = strdup("");
	} else if (module) {
		char cwd[4096];
		path0 = strdup(getcwd(cwd, sizeof cwd) ? cwd : "");
	} else if (strcmp(script, "-") != 0) {
		char *abs = abspath(script);
		char *slash = strrchr(abs, '/');
		path0 = strndup(abs, slash == abs ? 1 : (size_t)(slash - abs));
		free(abs);
	} else {
		path0 = strdup("");
	}

	PyObject *env = environ_bytes();
	PyObject *p0 = env ? PyUnicode_DecodeFSDefault(path0) : NULL;
	free(path0);
	PyObject *r = p0 ? PyObject_CallFunction(refresh, "OOii", env, p0, unbuffered, dont_write_bytecode) : NULL;
	Py_XDECREF(env);
	Py_XDECREF(p0);
	if (!r) {
		fail("cannot refresh the interpreter for this run");
	}
	Py_DECREF(r);

	const char *first = code ? "-c" : module ? "-m" : script;
	if (set_argv(first, argc - i, argv + i) < 0) {
		fail("cannot set sys.argv");
	}

	int sts;
	PyCompilerFlags cf = _PyCompilerFlags_INIT;
	if (code) {
		sts = PyRun_SimpleStringFlags(code, &cf) != 0;
	} else if (module) {
		PyObject *runpy = PyImport_ImportModule("runpy");
		PyObject *res = runpy ? PyObject_CallMethod(runpy, "_run_module_as_main", "si", module, 1) : NULL;
		Py_XDECREF(runpy);
		if (res) {
			Py_DECREF(res);
			sts = 0;
		} else {
			PyErr_Print();
			sts = 1;
		}
	} else if (strcmp(script, "-") == 0) {
		sts = PyRun_AnyFileExFlags(stdin, "<stdin>", 0, &cf) != 0;
	} else {
		char *abs = abspath(script);
		FILE *fp = fopen(script, "rb");
		if (!fp) {
			int e = errno;
			fprintf(stderr, "%s: can't open file '%s': [Errno %d] %s\n", prog, abs, e, strerror(e));
			free(abs);
			Py_FinalizeEx();
			return 2;
		}
		sts = PyRun_AnyFileExFlags(fp, abs, 1, &cf) != 0;
		free(abs);
	}
	if (Py_FinalizeEx() < 0) {
		sts = 120;
	}
	return sts;
}
