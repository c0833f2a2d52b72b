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
# /usr/local/lib and $scratch mounted at /work.
py() {
	local lib="$1"
	shift
	"$wazero" run -cachedir="$cachedir" -mount="$lib:/usr/local/lib:ro" -mount="$scratch/work:/work" \
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
names = sorted(set(sys.builtin_module_names) | {m.name for m in pkgutil.iter_modules()})
failed = []
for name in names:
    if name in ("antigravity", "this", "__hello__", "__phello__"):
        continue
    try:
        importlib.import_module(name)
    except BaseException as e:
        failed.append(f"{name}: {type(e).__name__}: {e}")
print("\n".join(failed))
print(f"{len(names) - len(failed)} of {len(names)} top-level modules import")
EOF
py "$pkg/lib" /work/imports.py 2>/dev/null || true

cp -a "$pkg/lib" "$scratch/nopyc"
find "$scratch/nopyc" -type d -name __pycache__ -prune -exec rm -rf {} +

# median_ms LIBDIR ARGS... prints the median wall time of $runs runs, after
# one warm-up run that fills the compilation cache.
median_ms() {
	local i t0 t1 times=()
	py "$@" >/dev/null
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s%N)
		py "$@" >/dev/null
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

nine="import json, re, dataclasses, pathlib, zlib, decimal, datetime, collections, typing"
echo "== warm wall time, median of $runs (ms)"
printf '%-28s %s\n' "print('hi'), pycs" "$(median_ms "$pkg/lib" -c "print('hi')")"
printf '%-28s %s\n' "print('hi'), no pycs" "$(median_ms "$scratch/nopyc" -c "print('hi')")"
printf '%-28s %s\n' "nine imports, pycs" "$(median_ms "$pkg/lib" -c "$nine")"
printf '%-28s %s\n' "nine imports, no pycs" "$(median_ms "$scratch/nopyc" -c "$nine")"
exit 0
}
