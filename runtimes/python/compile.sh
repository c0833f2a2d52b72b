#!/usr/bin/env bash
# compile.sh is the expensive half of the python:cpython recipe: toolchain,
# sources, sysroot, zlib, and CPython cross-compiled for wasm32-wasi with
# runtimes/python/patches/*.patch applied and installed into a destdir.
# build.sh runs it (holding the cache lock) when its output is missing; do
# not run it by hand.
#
# Usage: compile.sh WORK_DIR LOG
#
# WORK_DIR (cpython-compile-<chash>/, <chash> a SHA-256 over this script and
# patches/*) receives sysroot/, the zlib and CPython build trees, destdir/
# (make install) and compile.env: the pinned versions, the configure line and
# the toolchain's Debian versions, in shell syntax, for build.sh's manifest
# and BUILDINFO. WORK_DIR.complete is written last. build.sh assembles the
# package from destdir/; preinit/build.sh links against the build tree.
set -euo pipefail
{

# --- Pinned inputs (changing any of these changes the compile key) --------

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

readonly DEB_SRC_FILE='/etc/apt/sources.list.d/wrun-deb-src.sources'

[[ $# == 2 ]] || {
	echo "usage: compile.sh WORK_DIR LOG (build.sh runs it)" >&2
	exit 2
}
work="$1"
log="$2"
marker="$work.complete"
recipe_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="$(dirname "$work")"
jobs="${WRUN_BUILD_JOBS:-2}"
start_time=$(date +%s)

step() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$log" >&2; }
die() {
	printf 'compile.sh: %s\n' "$*" | tee -a "$log" >&2
	exit 1
}
# run runs a command with its output in the log only; on failure it shows
# the log's tail and names the log.
run() {
	echo "+ $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		echo "compile.sh: command failed: $*" >&2
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

# Fixed paths (the caller holds the lock), so a rebuild of the same recipe
# embeds the same paths.
rm -rf "$work" "$marker"
mkdir -p "$work"

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
for p in "$recipe_dir"/patches/*.patch; do
	[[ -f "$p" ]] || continue
	step "cpython $PY_VERSION: patch ${p##*/}"
	(cd "$src" && run patch -p1 --no-backup-if-mismatch -i "$p")
done
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


# --- 4. Record what build.sh needs ----------------------------------------

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
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
patches="$(cd "$recipe_dir" && ls patches/*.patch 2>/dev/null | tr '\n' ' ')"
{
	printf '%s=%q\n' \
		PY_DEB_VERSION "$PY_DEB_VERSION" PY_VERSION "$PY_VERSION" PY_ORIG "$PY_ORIG" \
		PY_ORIG_SHA256 "$PY_ORIG_SHA256" PY_SRCDIR "$PY_SRCDIR" \
		ZLIB_DEB_VERSION "$ZLIB_DEB_VERSION" ZLIB_ORIG "$ZLIB_ORIG" ZLIB_ORIG_SHA256 "$ZLIB_ORIG_SHA256" \
		BUILD_PYTHON "$BUILD_PYTHON" JOBS "$jobs" PATCHES "${patches% }" \
		CONFIGURE_LINE "${configure_line//$sysroot/<sysroot>}" \
		TOOLCHAIN_VERSIONS "$(for p in clang lld llvm wasi-libc libclang-rt-14-dev-wasm32; do printf '  %s %s\n' "$p" "$(pkgver "$p")"; done; printf '  python3.11 (build python) %s' "$(pkgver python3.11)")"
} >"$work/compile.env"
elapsed=$(($(date +%s) - start_time))
printf 'seconds %s\n' "$elapsed" >"$marker.tmp"
mv -T "$marker.tmp" "$marker"
step "compile done in ${elapsed}s: $work"
exit 0
}
