#!/usr/bin/env bash
# measure.sh checks a built python:cpython package under the real wazero
# CLI and times it.
#
# Usage: runtimes/python/measure.sh [PACKAGE_DIR] [RUNS]
#
# PACKAGE_DIR defaults to the cached build of the current recipe
# (build.sh --print-dir). It runs a smoke test, reports which stdlib
# modules fail to import, then prints the median wall time of RUNS
# (default 10) warm runs of print('hi') and of nine common imports, with
# the package's precompiled .pyc files and with a copy of the stdlib that
# has none (read-only mount, so nothing is cached between runs).
# wazero comes from WAZERO, then PATH, then /root/go/bin/wazero.
set -euo pipefail
{
recipe_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="${1:-$("$recipe_dir/build.sh" --print-dir)}"
runs="${2:-10}"
wazero="${WAZERO:-$(command -v wazero || echo /root/go/bin/wazero)}"
[[ -x "$wazero" ]] || {
	echo "measure.sh: no wazero CLI; install it: GOBIN=/tmp/t go install github.com/tetratelabs/wazero/cmd/wazero@v1.12.0 and set WAZERO=/tmp/t/wazero" >&2
	exit 1
}
[[ -f "$pkg/module.wasm" && -d "$pkg/lib/python3.11" ]] || {
	echo "measure.sh: $pkg is not a built python:cpython package; run runtimes/python/build.sh" >&2
	exit 1
}

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cachedir="$scratch/wzc"

# py LIBDIR ARGS... runs python.wasm with LIBDIR mounted read-only at
# /usr/local/lib, the package's zoneinfo/ (if any) at /usr/share/zoneinfo and
# $scratch mounted at /work.
py() {
	local lib="$1" tz=()
	shift
	[[ -d "$pkg/zoneinfo" ]] && tz=(-mount="$pkg/zoneinfo:/usr/share/zoneinfo:ro")
	"$wazero" run -cachedir="$cachedir" -mount="$lib:/usr/local/lib:ro" "${tz[@]}" -mount="$scratch/work:/work" \
		-env=PYTHONHOME=/usr/local "$pkg/module.wasm" "$@"
}

mkdir -p "$scratch/work"
echo "== smoke test"
py "$pkg/lib" -c "print('hi')"
cat >"$scratch/work/smoke.py" <<'EOF'
import json, re, dataclasses, pathlib, zlib, decimal, datetime, sys

@dataclasses.dataclass
class Point:
    x: int
    y: int

data = json.dumps({"p": dataclasses.asdict(Point(1, 2)), "d": str(decimal.Decimal("1.10") * 3)})
assert json.loads(data) == {"p": {"x": 1, "y": 2}, "d": "3.30"}, data
assert re.fullmatch(r"(\w+)-(\d+)", "abc-42").groups() == ("abc", "42")
blob = zlib.compress(b"wrun" * 1000)
assert zlib.decompress(blob) == b"wrun" * 1000 and len(blob) < 100
p = pathlib.Path("/work/out.txt")
p.write_text("written from wasm\n")
assert p.read_text() == "written from wasm\n"
assert datetime.date(2024, 2, 28) + datetime.timedelta(days=1) == datetime.date(2024, 2, 29)
print("smoke ok", sys.version.split()[0], sys.platform, sys.argv[1:])
EOF
py "$pkg/lib" /work/smoke.py a b

echo "== stdlib modules that fail to import"
cat >"$scratch/work/imports.py" <<'EOF'
import pkgutil, sys, importlib
sys.path = [p for p in sys.path if p.startswith("/usr/local/lib")]
names = sorted(set(sys.builtin_module_names) | {m.name for m in pkgutil.iter_modules()})
failed = []
for name in names:
    if name in ("antigravity", "this", "__hello__", "__phello__", "idlelib", "turtledemo"):
        continue
    try:
        importlib.import_module(name)
    except BaseException as e:
        failed.append(f"{name}: {type(e).__name__}: {e}")
print("\n".join(failed))
print(f"{len(names) - len(failed)} of {len(names)} top-level modules import")
EOF
py "$pkg/lib" /work/imports.py 2>/dev/null || true

echo "== C modules this build does not have"
py "$pkg/lib" -c '
import importlib
for name in ("_ctypes", "_ssl", "_hashlib", "_sqlite3", "_bz2", "_lzma", "_curses", "readline",
             "_uuid", "_dbm", "_gdbm", "_tkinter", "_multiprocessing", "_posixsubprocess", "_posixshmem",
             "mmap", "fcntl", "grp", "pwd", "resource", "termios", "syslog"):
    try:
        importlib.import_module(name)
    except ImportError:
        print(name, end=" ")
print()
'

echo "== limits at run time (Python's own errors)"
py "$pkg/lib" -c '
import threading, subprocess, os, socket, signal, time
def probe(what, f):
    try:
        r = f()
        print(f"{what}: ok {r!r}"[:100])
    except BaseException as e:
        print(f"{what}: {type(e).__name__}: {e}"[:160])
probe("threading.Thread.start", lambda: threading.Thread(target=lambda: None).start())
probe("subprocess.run", lambda: subprocess.run(["true"]))
probe("os.fork", lambda: os.fork())
probe("os.system", lambda: os.system("true"))
probe("socket.socket", lambda: socket.socket())
probe("socket.getaddrinfo", lambda: socket.getaddrinfo("localhost", 80))
probe("signal.signal", lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
probe("os.getpid", lambda: os.getpid())
probe("time.sleep(0.01)", lambda: time.sleep(0.01))
probe("os.urandom(4)", lambda: len(os.urandom(4)))
probe("hashlib.sha256", lambda: __import__("hashlib").sha256(b"x").hexdigest()[:8])
probe("zoneinfo Europe/Paris", lambda: __import__("zoneinfo").ZoneInfo("Europe/Paris"))
probe("sys.setrecursionlimit(100000) deep recursion", lambda: (__import__("sys").setrecursionlimit(100000), (lambda f: f(f, 5000))(lambda f, n: n and f(f, n - 1))))
' 2>&1 || true

cp -a "$pkg/lib" "$scratch/nopyc"
find "$scratch/nopyc" -type d -name __pycache__ -prune -exec rm -rf {} +

# Timings: one warm-up run of each case (fills the compilation cache), then
# $runs rounds that run every case once in turn, so that load from other
# processes falls on all cases alike. Wall time and CPU time (user+sys of
# the wazero process), medians, in milliseconds.
nine="import json, re, dataclasses, pathlib, zlib, decimal, datetime, collections, typing"
echo "== warm runs, median of $runs (ms)"
/usr/bin/python3 - "$runs" "$wazero" "$cachedir" "$pkg/module.wasm" \
	"print('hi'), pycs" "$pkg/lib" "print('hi')" \
	"print('hi'), no pycs" "$scratch/nopyc" "print('hi')" \
	"nine imports, pycs" "$pkg/lib" "$nine" \
	"nine imports, no pycs" "$scratch/nopyc" "$nine" <<'PY'
import os, resource, statistics, subprocess, sys, time
runs, wazero, cachedir, wasm = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rest = sys.argv[5:]
cases = [rest[i:i + 3] for i in range(0, len(rest), 3)]
def run(lib, code):
    cmd = [wazero, "run", f"-cachedir={cachedir}", f"-mount={lib}:/usr/local/lib:ro",
           "-env=PYTHONHOME=/usr/local", wasm, "-c", code]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return (t1 - t0) * 1000, cpu * 1000
for _, lib, code in cases:
    run(lib, code)
wall = {c[0]: [] for c in cases}
cpu = {c[0]: [] for c in cases}
for _ in range(runs):
    for name, lib, code in cases:
        w, c = run(lib, code)
        wall[name].append(w)
        cpu[name].append(c)
print(f"{'case':24} {'wall':>8} {'cpu':>8}")
for name, _, _ in cases:
    print(f"{name:24} {statistics.median(wall[name]):8.0f} {statistics.median(cpu[name]):8.0f}")
print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)")
PY
exit 0
}
