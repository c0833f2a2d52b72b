#!/usr/bin/env bash
# build.sh builds the wrun package python:cpython: CPython 3.11 for
# wasm32-wasi (WASI preview 1), compiled from Debian's own source package
# (upstream orig tarballs only) with Debian's own toolchain.
#
# Usage: runtimes/python/build.sh [--force] [--print-dir] [--print-preinit-dir]
#
#   --force              rebuild even when the cache already holds this recipe
#   --print-dir          print the output directory this recipe maps to and exit
#   --print-preinit-dir  print the python:cpython-preinit variant's directory
#                        (cpython-<hash>-preinit/, beside the main one) and exit
#
# The package directory is cached under
#   ${WRUN_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wrun-build}/cpython-<hash>/
# where <hash> is a SHA-256 over this recipe (this script, any files under
# runtimes/python/patches/ and runtimes/python/config/, and the pinned
# versions; README.md and measure.sh are not part of it). A warm cache rebuilds nothing. The last line on stdout is the
# package directory; progress goes to stderr, tool output to the log file
# beside the package directory (cpython-<hash>.log).
#
# See README.md beside this file for the recipe in words and the limits of
# the build.
#
# After the main package, preinit/build.sh links preinit/main.c against this
# build's static libpython into the python:cpython-preinit variant, a sibling
# directory with its own completion stamp (see preinit/build.sh); its files
# are not part of <hash>, so editing them relinks in seconds. The build tree
# (work-cpython-<hash>/) is kept for that, without its destdir.
set -euo pipefail

# The whole script is one compound command, so bash parses all of it before
# running any of it: editing this file during a build cannot change the
# running build.
{

# --- Pinned inputs (changing any of these changes the cache key) ----------

# Debian source package versions. The newest bookworm-security revision's
# .dsc may be missing from the mirror, so the version is pinned to one whose
# .dsc is served; only the upstream orig tarball is used anyway, and it is
# the same file in every 3.11.2 Debian revision.
readonly PY_DEB_VERSION='3.11.2-6+deb12u8'
readonly PY_VERSION='3.11.2'
readonly PY_ORIG='python3.11_3.11.2.orig.tar.gz'
readonly PY_ORIG_SHA256='2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849'
readonly PY_SRCDIR='Python-3.11.2'

readonly ZLIB_DEB_VERSION='1:1.2.13.dfsg-1'
readonly ZLIB_ORIG='zlib_1.2.13.dfsg.orig.tar.bz2'
readonly ZLIB_ORIG_SHA256='71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1'
readonly ZLIB_SRCDIR='zlib-1.2.13.dfsg'

# Debian packages the build needs (the toolchain and the build Python).
readonly TOOLCHAIN_PACKAGES='clang lld llvm wasi-libc libclang-rt-14-dev-wasm32 python3.11 pkg-config make bzip2'

# The build Python must be Debian's python3.11 (same minor version as the
# target: it freezes modules and compiles the .pyc files).
readonly BUILD_PYTHON='/usr/bin/python3.11'

# Compile the stdlib's .pyc files at build time (unchecked-hash pycs in
# __pycache__), so that a read-only stdlib mount never compiles at start-up.
readonly PRECOMPILE_PYC=1

readonly DEB_SRC_FILE='/etc/apt/sources.list.d/wrun-deb-src.sources'

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
		sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
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
jobs="${WRUN_BUILD_JOBS:-2}"

# recipe_hash prints the cache key: SHA-256 over the pinned versions and
# the recipe files (path and content): build.sh, patches/*, config/*.
recipe_hash() {
	{
		printf 'python=%s %s %s\nzlib=%s %s %s\nprecompile=%s\n' \
			"$PY_DEB_VERSION" "$PY_ORIG" "$PY_ORIG_SHA256" \
			"$ZLIB_DEB_VERSION" "$ZLIB_ORIG" "$ZLIB_ORIG_SHA256" "$PRECOMPILE_PYC"
		(cd "$recipe_dir" && find . -type f \( -path ./build.sh -o -path './patches/*' -o -path './config/*' \) -print |
			LC_ALL=C sort |
			while IFS= read -r f; do
				printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
			done)
	} | sha256sum | cut -c1-16
}

hash="$(recipe_hash)"
out="$cache_root/cpython-$hash"
marker="$out.complete"
log="$out.log"
work="$cache_root/work-cpython-$hash"

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
	bash "$recipe_dir/preinit/build.sh" "$out" "$work" "$PY_SRCDIR" "$out-preinit" ||
		{ echo "build.sh: the python:cpython-preinit variant failed (python:cpython itself is fine: $out)" >&2; exit 1; }
}

if ((!force)) && [[ -f "$marker" && -f "$out/wrun.toml" ]]; then
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
if ((!force)) && [[ -f "$marker" && -f "$out/wrun.toml" ]]; then
	echo "build.sh: python:cpython is cached (recipe $hash)" >&2
	exec 9>&-
	preinit_variant
	echo "$out"
	exit 0
fi

start_time=$(date +%s)
: >"$log"
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

# --- 1. Toolchain ----------------------------------------------------------

as_root() {
	if ((EUID == 0)); then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root to run: $* (run it yourself, then re-run build.sh)"
	fi
}

ensure_toolchain() {
	local missing=() p
	for p in $TOOLCHAIN_PACKAGES; do
		if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]]; then
			missing+=("$p")
		fi
	done
	if ((${#missing[@]})); then
		step "installing Debian packages: ${missing[*]}"
		run as_root apt-get update
		run as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
	fi
	[[ -x "$BUILD_PYTHON" ]] || die "$BUILD_PYTHON is missing: apt-get install python3.11"
	local v
	v="$("$BUILD_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
	[[ "$v" == 3.11 ]] || die "$BUILD_PYTHON is Python $v, want 3.11: apt-get install python3.11"
	local t
	for t in clang wasm-ld llvm-ar llvm-ranlib llvm-strip pkg-config make flock; do
		command -v "$t" >/dev/null || die "$t is not on PATH: apt-get install $TOOLCHAIN_PACKAGES"
	done
	[[ -f /usr/lib/wasm32-wasi/libc.a ]] || die "wasi-libc is missing (/usr/lib/wasm32-wasi/libc.a): apt-get install wasi-libc"
}

# --- 2. Sources ------------------------------------------------------------

# has_deb_src reports whether some apt source lists deb-src for suite $1.
has_deb_src() {
	local suite="$1" f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f "$f" ]] || continue
		case "$f" in
		*.list)
			grep -Eq "^[[:space:]]*deb-src[[:space:]].*[[:space:]]$suite([[:space:]]|\$)" "$f" && return 0
			;;
		*.sources)
			# A deb822 stanza listing both deb-src and the suite.
			awk -v suite="$suite" '
				BEGIN { RS = ""; found = 0 }
				/(^|\n)[Tt]ypes:[^\n]*deb-src/ && $0 ~ ("(^|\n)[Ss]uites:[^\n]*[ \t]" suite "([ \t]|\n|$)") { found = 1 }
				END { exit found ? 0 : 1 }' "$f" && return 0
			;;
		esac
	done
	return 1
}

ensure_deb_src() {
	local suite lacking=0
	for suite in bookworm bookworm-updates bookworm-security; do
		has_deb_src "$suite" || lacking=1
	done
	if ((lacking)) && [[ ! -f "$DEB_SRC_FILE" ]]; then
		step "adding Debian source lines in $DEB_SRC_FILE"
		as_root tee "$DEB_SRC_FILE" >/dev/null <<-'EOF'
			Types: deb-src
			URIs: http://deb.debian.org/debian
			Suites: bookworm bookworm-updates
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

			Types: deb-src
			URIs: http://deb.debian.org/debian-security
			Suites: bookworm-security
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		run as_root apt-get update
	elif ! apt-cache showsrc python3.11 2>/dev/null | grep -qx "Version: $PY_DEB_VERSION"; then
		run as_root apt-get update
	fi
}

# verified reports whether file $1 exists with SHA-256 $2.
verified() { [[ -f "$1" ]] && [[ "$(sha256sum <"$1" | cut -d' ' -f1)" == "$2" ]]; }

fetch_sources() {
	local dl="$cache_root/downloads"
	mkdir -p "$dl"
	if verified "$dl/$PY_ORIG" "$PY_ORIG_SHA256" && verified "$dl/$ZLIB_ORIG" "$ZLIB_ORIG_SHA256"; then
		step "sources: cached in $dl"
	else
		ensure_deb_src
		step "sources: apt-get source --download-only python3.11=$PY_DEB_VERSION zlib=$ZLIB_DEB_VERSION"
		(cd "$dl" && run apt-get source --download-only \
			"python3.11=$PY_DEB_VERSION" "zlib=$ZLIB_DEB_VERSION")
	fi
	verified "$dl/$PY_ORIG" "$PY_ORIG_SHA256" ||
		die "$dl/$PY_ORIG does not have SHA-256 $PY_ORIG_SHA256; delete it and re-run"
	verified "$dl/$ZLIB_ORIG" "$ZLIB_ORIG_SHA256" ||
		die "$dl/$ZLIB_ORIG does not have SHA-256 $ZLIB_ORIG_SHA256; delete it and re-run"
	PY_TARBALL="$dl/$PY_ORIG"
	ZLIB_TARBALL="$dl/$ZLIB_ORIG"
}

# --- 3. Build --------------------------------------------------------------

ensure_toolchain
fetch_sources

# Fixed paths (we hold the lock), so a rebuild of the same recipe embeds the
# same paths.
tmp_out="$out.tmp"
rm -rf "$work" "$tmp_out" "$marker"
[[ -e "$out" ]] && rm -rf "$out"
mkdir -p "$work" "$tmp_out"

sysroot="$work/sysroot"
step "sysroot: $sysroot (copy of /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi)"
mkdir -p "$sysroot/include" "$sysroot/lib"
cp -a /usr/include/wasm32-wasi "$sysroot/include/"
cp -a /usr/lib/wasm32-wasi "$sysroot/lib/"

wasm_cc="clang --target=wasm32-wasi --sysroot=$sysroot"

step "zlib: static into the sysroot"
run tar -C "$work" -xjf "$ZLIB_TARBALL"
(
	cd "$work/$ZLIB_SRCDIR"
	run env CHOST=wasm32 CC="$wasm_cc" AR=llvm-ar RANLIB=llvm-ranlib CFLAGS=-O2 \
		./configure --static --prefix="$sysroot" \
		--libdir="$sysroot/lib/wasm32-wasi" --includedir="$sysroot/include/wasm32-wasi"
	run make -j"$jobs" libz.a
	run make install
)

step "cpython $PY_VERSION: configure"
run tar -C "$work" -xzf "$PY_TARBALL"
src="$work/$PY_SRCDIR"
destdir="$work/destdir"
build_triple="$("$src/config.guess")"
configure_args=(
	--host=wasm32-unknown-wasi
	--build="$build_triple"
	--with-build-python="$BUILD_PYTHON"
	# time.sleep() uses clock_nanosleep(TIMER_ABSTIME) when it exists, and
	# wazero (like several WASI hosts) rejects absolute clock subscriptions
	# in poll_oneoff with ENOTSUP. Without it Python uses nanosleep(), a
	# relative sleep that every WASI host supports.
	ac_cv_func_clock_nanosleep=no
	ac_cv_lib_rt_clock_nanosleep=no
)
# PKG_CONFIG_LIBDIR keeps pkg-config to the sysroot's zlib.pc: an empty
# PKG_CONFIG_PATH alone still lets it find the host's .pc files.
configure_env=(
	CONFIG_SITE=Tools/wasm/config.site-wasm32-wasi
	CC="$wasm_cc"
	LDSHARED=wasm-ld
	AR=llvm-ar
	RANLIB=llvm-ranlib
	PKG_CONFIG_PATH=
	PKG_CONFIG_LIBDIR="$sysroot/lib/wasm32-wasi/pkgconfig"
)
(cd "$src" && run env "${configure_env[@]}" ./configure "${configure_args[@]}")
grep -q '^MODULE_ZLIB_STATE=yes' "$src/Makefile" ||
	die "configure did not enable zlib (see $log): zlib is needed for zipimport"

step "cpython $PY_VERSION: make -j$jobs"
(cd "$src" && run make -j"$jobs")
step "cpython $PY_VERSION: make install ENSUREPIP=no"
(cd "$src" && run make install ENSUREPIP=no DESTDIR="$destdir")

# --- 4. Package ------------------------------------------------------------

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

step "manifest and BUILDINFO"
# words prints its arguments as one shell line, quoting KEY=VALUE words
# whose value has spaces.
words() {
	local w quoted=()
	for w in "$@"; do
		if [[ "$w" == *[[:space:]]* ]]; then quoted+=("${w%%=*}=\"${w#*=}\""); else quoted+=("$w"); fi
	done
	echo "${quoted[*]}"
}
configure_line="$(words "${configure_env[@]}") ./configure $(words "${configure_args[@]}")"
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
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
EOF

cat >"$tmp_out/BUILDINFO" <<EOF
python:cpython $PY_VERSION for wasm32-wasi (WASI preview 1)
recipe: runtimes/python/build.sh (recipe hash $hash)

sources (Debian source packages, upstream orig tarballs only, no Debian patches):
  python3.11 $PY_DEB_VERSION  $PY_ORIG  sha256 $PY_ORIG_SHA256
  zlib $ZLIB_DEB_VERSION  $ZLIB_ORIG  sha256 $ZLIB_ORIG_SHA256

toolchain (Debian packages):
  clang $(pkgver clang)
  lld $(pkgver lld)
  llvm $(pkgver llvm)
  wasi-libc $(pkgver wasi-libc)
  libclang-rt-14-dev-wasm32 $(pkgver libclang-rt-14-dev-wasm32)
  python3.11 (build python) $(pkgver python3.11)

sysroot: private copy of /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi
zlib: CHOST=wasm32 CC="clang --target=wasm32-wasi --sysroot=<sysroot>" ./configure --static
cpython configure:
  ${configure_line//$sysroot/<sysroot>}
cpython build: make -j$jobs; make install ENSUREPIP=no DESTDIR=<destdir>
module.wasm: llvm-strip --strip-debug ($size_unstripped -> $size_stripped bytes)
stdlib: lib/python3.11 without test suites, idlelib, tkinter, turtledemo,
  ensurepip, config-3.11-*, opt-1/opt-2 pycs; $( ((PRECOMPILE_PYC)) && echo "pycs compiled with $BUILD_PYTHON -m compileall --invalidation-mode unchecked-hash" || echo "no pycs"); $stdlib_bytes bytes in $stdlib_files files
EOF

# --- 5. Publish into the cache atomically -------------------------------

mv -T "$tmp_out" "$out"
elapsed=$(($(date +%s) - start_time))
printf 'recipe %s\nbuilt %s\nseconds %s\n' "$hash" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$elapsed" >"$marker.tmp"
mv -T "$marker.tmp" "$marker"
# The build tree stays (without the installed copy) for preinit/build.sh.
rm -rf "$destdir"
step "done in ${elapsed}s: $out"
exec 9>&-
preinit_variant
echo "$out"
exit 0
}
