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
//   - in $PWD when the init's environment sets it (wrun gives the init the
//     app's [run] env and cwd), imports json, re, dataclasses, pathlib, zlib,
//     decimal, datetime, collections, typing and then every module named in
//     WRUN_PYTHON_PRELOAD (comma- or space-separated, in order), with the
//     init's PYTHONPATH on sys.path, writing no bytecode and with no
//     PYTHONPYCACHEPREFIX (the init's mounts are thrown away and the run's
//     bytecode cache is not mounted: in-tree __pycache__ only); a named
//     module that fails to import fails the init: a traceback, then one
//     line naming the module; afterwards sys.path loses the PYTHONPATH
//     entries again (the run puts its own back) and the working directory
//     is "/" again;
//   - compiles the small Python function main calls to refresh the state
//     that belongs to the run, not to the snapshot;
//   - forgets the C environment (wasi-libc reads it again at _start).
//
// main (exported as _start by wasi-libc) runs the init first when the module
// was not pre-initialized, then: refreshes os.environ from the real
// environment, sys.path[0] and PYTHONPATH, the importers' caches, the
// bytecode settings, the line buffering of a terminal stdout, and the state
// of random and tempfile if the init imported them (reseeded from the run's
// entropy, as their import would); sets sys.argv; and runs
//   -c CODE [ARG...]     the code, sys.argv = ['-c', ARG...]
//   -m MODULE [ARG...]   runpy._run_module_as_main, like python -m
//   SCRIPT [ARG...]      the file ('-' reads the program from stdin)
// with CPython's exit codes: 0, SystemExit's code, 1 after an uncaught
// exception's traceback, 2 for a usage error or a script that cannot be
// opened, 120 when flushing stdout or stderr at exit fails.
//
// Exit does not run Py_FinalizeEx: tearing down the whole interpreter (the
// modules of the snapshot included) costs more than the rest of a short run
// (8 of 11 ms in process for print('hi')). It does what a program can
// observe of finalization: atexit callbacks; the globals of __main__ and of
// every module imported during the run set to None (so that objects they
// hold are released, __del__ runs and unclosed files are flushed, as
// finalization does); a garbage collection of the objects made during the
// run (the init froze the snapshot's, gc.freeze); and stdout and stderr
// flushed. Then the process exits, as with os._exit after those steps. Options -u, -B, -s, -E, -I, -q are
// accepted (-u and -B take effect); any other option is a usage error, and
// so is no program at all (there is no interactive mode).
#include <Python.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/libc-environ.h>

extern char **environ;

// From CPython's internal pycore_pylifecycle.h (exported by libpython): if
// the pending exception is SystemExit, clear it, print its message if it has
// one and set the exit code; return 1. Otherwise return 0.
PyAPI_FUNC(int) _Py_HandleSystemExit(int *exitcode_p);

// Set by the init; in a snapshot they are baked in.
static int initialized;
static PyObject *refresh;   // the functions compiled by the init
static PyObject *finish;

static const char *const preload[] = {
	"json", "re", "dataclasses", "pathlib", "zlib", "decimal", "datetime", "collections", "typing",
};

// refresh_src is compiled at init. main calls _wrun_refresh(environ, path0,
// unbuffered, dont_write_bytecode, main_file) where environ is a dict of
// bytes and main_file the script's absolute path or None; and _wrun_finish()
// at exit.
static const char refresh_src[] =
	"def _wrun_refresh(environ, path0, unbuffered, dont_write_bytecode, main_file):\n"
	"    import importlib, os, posix, sys\n"
	"    # os.environ's data is posix.environ on POSIX: refill it in place.\n"
	"    posix.environ.clear()\n"
	"    posix.environ.update(environ)\n"
	"    paths = [] if path0 is None else [path0]\n"
	"    sys.path[0:0] = paths + _wrun_pythonpath()\n"
	"    sys.pycache_prefix = os.environ.get('PYTHONPYCACHEPREFIX') or None\n"
	"    sys.dont_write_bytecode = bool(dont_write_bytecode or os.environ.get('PYTHONDONTWRITEBYTECODE'))\n"
	"    importlib.invalidate_caches()\n"
	"    # State an import seeded from urandom, made at init: new for each run.\n"
	"    r = sys.modules.get('random')\n"
	"    if r is not None and hasattr(r, '_inst'):\n"
	"        r._inst.seed()\n"
	"    t = sys.modules.get('tempfile')\n"
	"    if t is not None and hasattr(t, '_name_sequence'):\n"
	"        t._name_sequence = None\n"
	"    if unbuffered or os.environ.get('PYTHONUNBUFFERED'):\n"
	"        sys.stdout.reconfigure(write_through=True)\n"
	"        sys.stderr.reconfigure(write_through=True)\n"
	"    elif os.isatty(1):\n"
	"        sys.stdout.reconfigure(line_buffering=True)\n"
	"    if main_file is not None:\n"
	"        import __main__, importlib.machinery\n"
	"        __main__.__file__ = main_file\n"
	"        __main__.__cached__ = None\n"
	"        __main__.__loader__ = importlib.machinery.SourceFileLoader('__main__', main_file)\n"
	"\n"
	"def _wrun_pythonpath():\n"
	"    # PYTHONPATH's entries as Py_Initialize puts them on sys.path:\n"
	"    # absolute (against the working directory; an empty entry is the\n"
	"    # working directory), each once.\n"
	"    import os\n"
	"    out = []\n"
	"    pp = os.environ.get('PYTHONPATH')\n"
	"    for p in pp.split(os.pathsep) if pp else ():\n"
	"        p = os.path.abspath(p)\n"
	"        if p not in out:\n"
	"            out.append(p)\n"
	"    return out\n"
	"\n"
	"def _wrun_preload(std, extra):\n"
	"    # The init's imports: std (the runtime's), then the app's (named by\n"
	"    # WRUN_PYTHON_PRELOAD). Returns None, or a one-line message after\n"
	"    # printing the traceback of the import that failed.\n"
	"    import importlib, os, sys, traceback\n"
	"    sys.dont_write_bytecode = True\n"
	"    sys.pycache_prefix = None\n"
	"    for name in std:\n"
	"        importlib.import_module(name)\n"
	"    for name in extra.replace(',', ' ').split():\n"
	"        try:\n"
	"            importlib.import_module(name)\n"
	"        except BaseException as e:\n"
	"            traceback.print_exc()\n"
	"            sys.stderr.flush()\n"
	"            return ('cannot import %s, named in WRUN_PYTHON_PRELOAD, at initialization: %s: %s; '\n"
	"                    'remove it from WRUN_PYTHON_PRELOAD or make it importable without what only a run has '\n"
	"                    '(its arguments, --env variables, --mount directories)' % (name, type(e).__name__, e))\n"
	"    # The run puts its own PYTHONPATH back (_wrun_refresh).\n"
	"    pp = _wrun_pythonpath()\n"
	"    while sys.path and sys.path[0] in pp:\n"
	"        del sys.path[0]\n"
	"    sys.dont_write_bytecode = False\n"
	"    return None\n"
	"\n"
	"def _wrun_finish(_kept=frozenset()):\n"
	"    # Finalization as a program sees it; returns 120 if a flush fails.\n"
	"    import atexit, gc, sys\n"
	"    atexit._run_exitfuncs()\n"
	"    for name, m in list(sys.modules.items()):\n"
	"        if name in _kept and name != '__main__':\n"
	"            continue\n"
	"        d = getattr(m, '__dict__', None)\n"
	"        if type(d) is dict:\n"
	"            for k in list(d):\n"
	"                if k != '__builtins__':\n"
	"                    d[k] = None\n"
	"    gc.collect()\n"
	"    status = 0\n"
	"    for f in (sys.stdout, sys.stderr):\n"
	"        try:\n"
	"            if f is not None:\n"
	"                f.flush()\n"
	"        except Exception:\n"
	"            status = 120\n"
	"    return status\n";

// fail prints the pending Python exception, if any, and a message, then
// exits 1.
static void fail(const char *what) {
	if (PyErr_Occurred()) {
		PyErr_Print();
	}
	fprintf(stderr, "python:cpython-preinit: %s\n", what);
	exit(1);
}

static void chdir_pwd(void);

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

	// The app's [run] cwd, for modules that look at it when imported.
	chdir_pwd();

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
	finish = PyDict_GetItemString(globals, "_wrun_finish");
	if (!finish) {
		fail("no finish function");
	}
	Py_INCREF(finish);

	PyObject *std = PyTuple_New(sizeof preload / sizeof preload[0]);
	for (size_t i = 0; std && i < sizeof preload / sizeof preload[0]; i++) {
		PyTuple_SET_ITEM(std, i, PyUnicode_FromString(preload[i]));
	}
	const char *extra = getenv("WRUN_PYTHON_PRELOAD");
	PyObject *load = PyDict_GetItemString(globals, "_wrun_preload");
	r = std && load ? PyObject_CallFunction(load, "Os", std, extra ? extra : "") : NULL;
	Py_XDECREF(std);
	if (!r) {
		fail("cannot import the modules of the snapshot");
	}
	if (r != Py_None) {
		const char *msg = PyUnicode_AsUTF8(r);
		fprintf(stderr, "python:cpython-preinit: %s\n", msg ? msg : "cannot import a module named in WRUN_PYTHON_PRELOAD");
		exit(1);
	}
	Py_DECREF(r);
	if (chdir("/") != 0) {
		fail("cannot return to / after the init's imports");
	}

	// The modules of the snapshot are left alone at exit, and its objects
	// are out of the collector's way.
	r = PyRun_String("import atexit, gc, sys\n"
			 "_wrun_finish.__defaults__ = (frozenset(sys.modules),)\n"
			 "gc.collect()\n"
			 "gc.freeze()\n",
		Py_file_input, globals, globals);
	if (!r) {
		fail("cannot freeze the snapshot's objects");
	}
	Py_DECREF(r);
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

// chdir_pwd changes to $PWD when it is an absolute path naming a directory:
// WASI preview 1 has no working directory, and wrun conveys one as PWD (the
// plain python:cpython does the same in Programs/python.c, see
// patches/0002-start-in-pwd.patch).
static void chdir_pwd(void) {
	const char *pwd = getenv("PWD");
	struct stat st;
	if (pwd && pwd[0] == '/' && stat(pwd, &st) == 0 && S_ISDIR(st.st_mode)) {
		(void)chdir(pwd);
	}
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

// flush_stdout flushes sys.stdout, keeping the pending exception, so that
// output comes before the traceback as with python.
static void flush_stdout(void) {
	PyObject *type, *value, *tb;
	PyErr_Fetch(&type, &value, &tb);
	PyObject *f = PySys_GetObject("stdout");
	if (f && f != Py_None) {
		PyObject *r = PyObject_CallMethod(f, "flush", NULL);
		if (r) {
			Py_DECREF(r);
		} else {
			PyErr_Clear();
		}
	}
	PyErr_Restore(type, value, tb);
}

// exit_python does, of Py_FinalizeEx, what a program can see (see the top
// of the file); it returns 120 if flushing stdout or stderr failed.
static int exit_python(void) {
	PyObject *r = PyObject_CallNoArgs(finish);
	if (!r) {
		PyErr_Print();
		return 120;
	}
	long st = PyLong_AsLong(r);
	Py_DECREF(r);
	return (int)st;
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
	// The init ran before the run's working directory was known: start in
	// it now, before sys.path[0] and the script's path are computed.
	chdir_pwd();

	char *path0 = NULL, *main_file = NULL;
	if (script && strcmp(script, "-") != 0) {
		main_file = abspath(script);
	}
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
	PyObject *mf = !p0 ? NULL : main_file ? PyUnicode_DecodeFSDefault(main_file) : Py_NewRef(Py_None);
	PyObject *r = mf ? PyObject_CallFunction(refresh, "OOiiO", env, p0, unbuffered, dont_write_bytecode, mf) : NULL;
	Py_XDECREF(env);
	Py_XDECREF(p0);
	Py_XDECREF(mf);
	if (!r) {
		fail("cannot refresh the interpreter for this run");
	}
	Py_DECREF(r);

	const char *first = code ? "-c" : module ? "-m" : script;
	if (set_argv(first, argc - i, argv + i) < 0) {
		fail("cannot set sys.argv");
	}

	PyCompilerFlags cf = _PyCompilerFlags_INIT;
	PyObject *main_dict = PyModule_GetDict(PyImport_AddModule("__main__"));
	PyObject *res;
	if (code) {
		cf.cf_flags |= PyCF_IGNORE_COOKIE;
		res = PyRun_StringFlags(code, Py_file_input, main_dict, main_dict, &cf);
	} else if (module) {
		PyObject *runpy = PyImport_ImportModule("runpy");
		res = runpy ? PyObject_CallMethod(runpy, "_run_module_as_main", "si", module, 1) : NULL;
		Py_XDECREF(runpy);
	} else if (!main_file) {
		res = PyRun_FileExFlags(stdin, "<stdin>", Py_file_input, main_dict, main_dict, 0, &cf);
	} else {
		FILE *fp = fopen(script, "rb");
		if (!fp) {
			int e = errno;
			fprintf(stderr, "%s: can't open file '%s': [Errno %d] %s\n", prog, main_file, e, strerror(e));
			free(main_file);
			exit_python();
			return 2;
		}
		res = PyRun_FileExFlags(fp, main_file, Py_file_input, main_dict, main_dict, 1, &cf);
	}
	free(main_file);
	int sts = 0;
	if (res) {
		Py_DECREF(res);
	} else if (flush_stdout(), !_Py_HandleSystemExit(&sts)) {
		PyErr_Print();
		sts = 1;
	}
	if (exit_python() != 0) {
		sts = 120;
	}
	return sts;
}
