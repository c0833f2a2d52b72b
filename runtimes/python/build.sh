#!/usr/bin/env bash
# build.sh builds the wrun package python:cpython: CPython 3.11 for
# wasm32-wasi (WASI preview 1), compiled from Debian's own source package
# (upstream orig tarballs only, plus runtimes/python/patches/) with Debian's
# own toolchain, with Debian's time-zone database (tzdata) beside it.
#
# Usage: runtimes/python/build.sh [--force] [--print-dir] [--print-preinit-dir]
#
#   --force              recompile and reassemble even when the cache holds this recipe
#   --print-dir          print the output directory this recipe maps to and exit
#   --print-preinit-dir  print the python:cpython-preinit variant's directory
#                        (cpython-<hash>-preinit/, beside the main one) and exit
#
# Two cached stages under
#   ${WRUN_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wrun-build}/:
#   cpython-compile-<chash>/  the expensive compile (compile.sh): <chash> is a
#                             SHA-256 over compile.sh (which pins the source
#                             versions) and patches/*;
#   cpython-<hash>/           the package, assembled from the compile's destdir
#                             in seconds: <hash> covers <chash>, this script,
#                             config/*, pylib/* and the tzdata package's version.
# So a tzdata upgrade or an edit of pylib/ reassembles the package without
# recompiling CPython. README.md and measure.sh are in neither key. A warm
# cache rebuilds nothing. The last line on stdout is the package directory;
# progress goes to stderr, tool output to the log files beside the
# directories (cpython-<hash>.log, cpython-compile-<chash>.log).
#
# See README.md beside this file for the recipe in words and the limits of
# the build.
#
# After the main package, preinit/build.sh links preinit/main.c against the
# compile's static libpython into the python:cpython-preinit variant, a
# sibling directory with its own completion stamp (see preinit/build.sh); its
# files are not part of <hash>, so editing them relinks in seconds.
set -euo pipefail

# The whole script is one compound command, so bash parses all of it before
# running any of it: editing this file during a build cannot change the
# running build.
{

# The build Python: Debian's python3.11 (same minor version as the target;
# it compiles the .pyc files). compile.sh checks it.
BUILD_PYTHON='/usr/bin/python3.11' # compile.env sets the same

# Compile the stdlib's .pyc files at build time (unchecked-hash pycs in
# __pycache__), so that a read-only stdlib mount never compiles at start-up.
readonly PRECOMPILE_PYC=1

# The time-zone database shipped as the package's zoneinfo/ (Debian's tzdata).
readonly TZDATA_DIR='/usr/share/zoneinfo'

# --- Arguments -------------------------------------------------------------

force=0
print_dir=0
print_preinit_dir=0
for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	--print-dir) print_dir=1 ;;
	--print-preinit-dir) print_preinit_dir=1 ;;
	-h | --help)
		sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build.sh: unknown argument ${arg@Q} (want --force, --print-dir or --print-preinit-dir)" >&2
		exit 2
		;;
	esac
done

recipe_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${WRUN_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wrun-build}"

# file_hashes prints "SHA-256 path" for every file under the given paths of
# the recipe directory (missing paths are skipped), sorted by path.
file_hashes() {
	local p
	for p in "$@"; do
		[[ -e "$recipe_dir/$p" ]] && (cd "$recipe_dir" && find "$p" -type f -print)
	done | LC_ALL=C sort | while IFS= read -r f; do
		printf '%s %s\n' "$(sha256sum <"$recipe_dir/$f" | cut -d' ' -f1)" "$f"
	done
}
tzdata_version() { dpkg-query -W -f='${Version}' tzdata 2>/dev/null || echo none; }

chash="$(file_hashes compile.sh patches | sha256sum | cut -c1-16)"
hash="$({
	printf 'compile=%s\nprecompile=%s\ntzdata=%s\n' "$chash" "$PRECOMPILE_PYC" "$(tzdata_version)"
	file_hashes build.sh config pylib
} | sha256sum | cut -c1-16)"
out="$cache_root/cpython-$hash"
marker="$out.complete"
log="$out.log"
work="$cache_root/cpython-compile-$chash"
cmarker="$work.complete"
clog="$work.log"

if ((print_dir)); then
	echo "$out"
	exit 0
fi
if ((print_preinit_dir)); then
	echo "$out-preinit"
	exit 0
fi

# preinit_variant builds (or finds current) the python:cpython-preinit
# variant from the finished main package and the kept build tree.
preinit_variant() {
	local srcdir
	srcdir="$(. "$work/compile.env" && echo "$PY_SRCDIR")"
	bash "$recipe_dir/preinit/build.sh" "$out" "$work" "$srcdir" "$out-preinit" ||
		{ echo "build.sh: the python:cpython-preinit variant failed (python:cpython itself is fine: $out)" >&2; exit 1; }
}

if ((!force)) && [[ -f "$marker" && -f "$out/wrun.toml" && -f "$cmarker" ]]; then
	echo "build.sh: python:cpython is cached (recipe $hash)" >&2
	preinit_variant
	echo "$out"
	exit 0
fi

mkdir -p "$cache_root"

# One build per cache root at a time; a second caller waits, then finds the
# cache warm.
exec 9>"$cache_root/cpython.lock"
if ! flock -n 9; then
	echo "build.sh: another build holds $cache_root/cpython.lock; waiting" >&2
	flock 9
fi
if ((!force)) && [[ -f "$marker" && -f "$out/wrun.toml" && -f "$cmarker" ]]; then
	echo "build.sh: python:cpython is cached (recipe $hash)" >&2
	exec 9>&-
	preinit_variant
	echo "$out"
	exit 0
fi

start_time=$(date +%s)
step() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$log" >&2; }
die() {
	printf 'build.sh: %s\n' "$*" | tee -a "$log" >&2
	exit 1
}
# run runs a command with its output in the log only; on failure it shows
# the log's tail and names the log.
run() {
	echo "+ $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		echo "build.sh: command failed: $*" >&2
		tail -n 40 "$log" >&2
		die "full log: $log"
	fi
}

# --- 1. Compile (cached by <chash>) ---------------------------------------

if ((force)) || [[ ! -f "$cmarker" || ! -f "$work/compile.env" || ! -d "$work/destdir" ]]; then
	: >"$clog"
	printf '[%s] compile: %s (log %s)\n' "$(date -u +%H:%M:%S)" "$work" "$clog" >&2
	rm -f "$cmarker"
	bash "$recipe_dir/compile.sh" "$work" "$clog" || { echo "build.sh: compile failed; log: $clog" >&2; exit 1; }
else
	echo "build.sh: compile is cached ($work)" >&2
fi
# shellcheck source=/dev/null
. "$work/compile.env"

# --- 2. Package (cached by <hash>) ----------------------------------------

: >"$log"
tmp_out="$out.tmp"
rm -rf "$tmp_out" "$marker"
[[ -e "$out" ]] && rm -rf "$out"
mkdir -p "$tmp_out"
src="$work/$PY_SRCDIR"
destdir="$work/destdir"
[[ -d "$TZDATA_DIR/Europe" ]] || die "no time-zone database in $TZDATA_DIR: apt-get install tzdata"
[[ -x "$BUILD_PYTHON" ]] || die "$BUILD_PYTHON is missing: apt-get install python3.11"

prefix="$destdir/usr/local"
wasm_in="$prefix/bin/python$(echo "$PY_VERSION" | cut -d. -f1,2).wasm"
[[ -f "$wasm_in" ]] || wasm_in="$src/python.wasm"
[[ -f "$wasm_in" ]] || die "no python wasm after make install (looked in $prefix/bin and $src)"
size_unstripped=$(stat -c %s "$wasm_in")
run llvm-strip --strip-debug -o "$tmp_out/module.wasm" "$wasm_in"
size_stripped=$(stat -c %s "$tmp_out/module.wasm")
step "module.wasm: $size_unstripped bytes before strip, $size_stripped after"

step "stdlib: prune and compile"
stdlib_src="$prefix/lib/python3.11"
mkdir -p "$tmp_out/lib"
cp -a "$stdlib_src" "$tmp_out/lib/"
lib="$tmp_out/lib/python3.11"
# The runtime's own pure-Python files (pylib/: the pytest plugin and its
# dist-info), in the stdlib directory itself: libraries mount over
# site-packages.
if [[ -d "$recipe_dir/pylib" ]]; then
	cp -r "$recipe_dir/pylib/." "$lib/"
fi
# Test suites, GUI and pip bootstrap parts, and the static library and
# Makefile (config-3.11-*) that only a C extension build would need.
rm -rf "$lib"/test "$lib"/idlelib "$lib"/tkinter "$lib"/turtledemo "$lib"/ensurepip \
	"$lib"/config-3.11-*
find "$lib" -depth -type d \( -name tests -o -name test -o -name idle_test \) -exec rm -rf {} +
# The build's own paths (sysroot, source tree) in the sysconfig data mean
# nothing in the guest; a fixed stand-in keeps lib/ the same whatever the
# cache directory.
sed -i "s#$work#/wrun-build#g" "$lib"/_sysconfigdata_*.py
find "$lib" -name '*.pyc' -delete
find "$lib" -depth -type d -name __pycache__ -empty -delete
if ((PRECOMPILE_PYC)); then
	# unchecked-hash: the pyc is used without looking at the source's mtime,
	# which a package does not keep; -d records the guest path for tracebacks.
	run "$BUILD_PYTHON" -E -Wi -m compileall -q -j0 -f \
		--invalidation-mode unchecked-hash \
		-d /usr/local/lib/python3.11 \
		-x 'lib2to3/tests/data|bad_coding|badsyntax' \
		"$lib"
fi
stdlib_bytes=$(du -sb "$lib" | cut -f1)
stdlib_files=$(find "$lib" -type f | wc -l)
step "stdlib: $stdlib_bytes bytes in $stdlib_files files"

step "tzdata $(tzdata_version): zoneinfo/"
# Zone files (TZif) and the tables, symlinked aliases copied as files (the
# package keeps no symlinks), without the posix/ and right/ trees (posix/ is
# links to the top level, right/ the leap-second variants Python never
# reads) and without localtime (a link to the host's /etc/localtime).
run "$BUILD_PYTHON" -E - "$TZDATA_DIR" "$tmp_out/zoneinfo" <<'PY'
import os, sys
src, dst = os.path.realpath(sys.argv[1]), sys.argv[2]
tables = {"zone.tab", "zone1970.tab", "iso3166.tab", "tzdata.zi", "leapseconds", "leap-seconds.list"}
for root, dirs, files in os.walk(src):
    rel = os.path.relpath(root, src)
    if rel == ".":
        dirs[:] = [d for d in dirs if d not in ("posix", "right")]
    dirs.sort()
    for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(root, d))]):
        real = os.path.realpath(os.path.join(root, name))
        if not real.startswith(src + os.sep) or not os.path.isfile(real):
            continue
        with open(real, "rb") as f:
            data = f.read()
        if data[:4] != b"TZif" and name not in tables:
            continue
        out = os.path.join(dst, rel, name)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(data)
        os.chmod(out, 0o644)
PY
[[ -f "$tmp_out/zoneinfo/Europe/Paris" ]] || die "no zoneinfo/Europe/Paris after copying $TZDATA_DIR"
tz_bytes=$(du -sb "$tmp_out/zoneinfo" | cut -f1)
tz_files=$(find "$tmp_out/zoneinfo" -type f | wc -l)
step "zoneinfo: $tz_bytes bytes in $tz_files files"

step "manifest and BUILDINFO"
cat >"$tmp_out/wrun.toml" <<EOF
[package]
name = "python:cpython"
version = "$PY_VERSION"
kind = "module"
description = "CPython $PY_VERSION for wasm32-wasi (WASI preview 1), built from Debian's python3.11 $PY_DEB_VERSION source package (upstream $PY_ORIG, sha256 $PY_ORIG_SHA256; zlib $ZLIB_ORIG, sha256 $ZLIB_ORIG_SHA256) with Debian's clang and wasi-libc. No threads, subprocess, ssl, sqlite3 or ctypes; see BUILDINFO."
license = "PSF-2.0"
homepage = "https://www.python.org/"
source = "https://sources.debian.org/src/python3.11/$PY_DEB_VERSION/"

[run]
wasm = "module.wasm"
env = { PYTHONHOME = "/usr/local" }

[[assets]]
from = "lib"
to = "/usr/local/lib"

[[assets]]
from = "zoneinfo"
to = "/usr/share/zoneinfo"
EOF

cat >"$tmp_out/BUILDINFO" <<EOF
python:cpython $PY_VERSION for wasm32-wasi (WASI preview 1)
recipe: runtimes/python/build.sh (recipe hash $hash)

sources (Debian source packages, upstream orig tarballs only, no Debian patches):
  python3.11 $PY_DEB_VERSION  $PY_ORIG  sha256 $PY_ORIG_SHA256
  zlib $ZLIB_DEB_VERSION  $ZLIB_ORIG  sha256 $ZLIB_ORIG_SHA256

patches (runtimes/python/patches/, applied to the CPython source):
  ${PATCHES:-none}
compile: cpython-compile-$chash (compile.sh)

toolchain (Debian packages):
$TOOLCHAIN_VERSIONS

sysroot: private copy of /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi
zlib: CHOST=wasm32 CC="clang --target=wasm32-wasi --sysroot=<sysroot>" ./configure --static
cpython configure:
  $CONFIGURE_LINE
cpython build: make -j$JOBS; make install ENSUREPIP=no DESTDIR=<destdir>
module.wasm: llvm-strip --strip-debug ($size_unstripped -> $size_stripped bytes)
stdlib: lib/python3.11 without test suites, idlelib, tkinter, turtledemo,
  ensurepip, config-3.11-*, opt-1/opt-2 pycs; $( ((PRECOMPILE_PYC)) && echo "pycs compiled with $BUILD_PYTHON -m compileall --invalidation-mode unchecked-hash" || echo "no pycs"); $stdlib_bytes bytes in $stdlib_files files
  plus pylib/ (the runtime's pytest plugin _wrun_pytest and its dist-info)
zoneinfo: Debian tzdata $(tzdata_version) from $TZDATA_DIR (TZif files and tables, no posix/ or right/,
  aliases as copies); $tz_bytes bytes in $tz_files files; mounted at /usr/share/zoneinfo
EOF

# --- 3. Publish into the cache atomically -------------------------------

mv -T "$tmp_out" "$out"
elapsed=$(($(date +%s) - start_time))
printf 'recipe %s\ncompile %s\nbuilt %s\nseconds %s\n' "$hash" "$chash" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$elapsed" >"$marker.tmp"
mv -T "$marker.tmp" "$marker"
step "done in ${elapsed}s: $out"
exec 9>&-
preinit_variant
echo "$out"
exit 0
}
