#!/usr/bin/env bash
# preinit/build.sh builds the python:cpython-preinit variant; build.sh
# calls it after the main package (do not run it by hand).
#
# Usage: preinit/build.sh MAIN_DIR WORK_DIR PY_SRCDIR OUT_DIR
#
#   MAIN_DIR   the finished python:cpython package (cpython-<hash>/)
#   WORK_DIR   the compile's build tree (cpython-compile-<chash>/)
#   PY_SRCDIR  the CPython source directory's name in WORK_DIR
#   OUT_DIR    the variant's directory (cpython-<hash>-preinit/)
#
# main.c is compiled with the build's own flags and linked exactly as the
# build links python.wasm (the Makefile's python rule with main.o in place of
# Programs/python.o: same libpython objects, LIBS, MODLIBS, SYSLIBS and
# LINKFORSHARED), by a makefile that includes the build's Makefile. The
# variant shares lib/ and zoneinfo/ with MAIN_DIR through hard links and differs in its
# wrun.toml (name python:cpython-preinit, wasm module-preinit.wasm,
# [preinit] init = "wizer.initialize"). OUT_DIR.complete holds a stamp over
# MAIN_DIR's completion marker and this directory's files; a matching stamp
# rebuilds nothing.
set -euo pipefail
{
[[ $# == 4 ]] || {
	echo "usage: preinit/build.sh MAIN_DIR WORK_DIR PY_SRCDIR OUT_DIR" >&2
	exit 2
}
main="$1"
work="$2"
src="$2/$3"
out="$4"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
marker="$out.complete"
log="$out.log"

stamp="$({
	cat "$main.complete"
	(cd "$here" && find . -type f -print | LC_ALL=C sort | while IFS= read -r f; do
		printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
	done)
} | sha256sum | cut -c1-16)"

current() { [[ -f "$marker" && -f "$out/wrun.toml" && "$(cat "$marker")" == "$stamp" ]]; }
if current; then
	echo "preinit/build.sh: python:cpython-preinit is cached (stamp $stamp)" >&2
	exit 0
fi
exec 8>"$(dirname "$out")/cpython-preinit.lock"
flock 8
if current; then
	echo "preinit/build.sh: python:cpython-preinit is cached (stamp $stamp)" >&2
	exit 0
fi

die() {
	printf 'preinit/build.sh: %s\n' "$*" | tee -a "$log" >&2
	exit 1
}
: >"$log"
[[ -f "$src/Makefile" && -f "$src/libpython3.11.a" ]] ||
	die "the build tree $src is gone (it holds the static libpython): run runtimes/python/build.sh --force"

printf '[%s] python:cpython-preinit: compile and link preinit/main.c\n' "$(date -u +%H:%M:%S)" >&2
obj="$work/preinit"
rm -rf "$obj"
mkdir -p "$obj"
cp "$here/main.c" "$obj/main.c"
# A tab-indented recipe: the heredoc keeps the tabs.
cat >"$obj/preinit.mk" <<'EOF'
include Makefile

$(PREINIT)/main.o: $(PREINIT)/main.c
	$(CC) -c $(PY_STDMODULE_CFLAGS) -Wall -Werror -o $@ $<

$(PREINIT)/module-preinit.wasm: $(PREINIT)/main.o $(LINK_PYTHON_DEPS)
	$(LINKCC) $(PY_CORE_LDFLAGS) $(LINKFORSHARED) -o $@ $(PREINIT)/main.o $(LINK_PYTHON_OBJS) $(LIBS) $(MODLIBS) $(SYSLIBS)
EOF
if ! (cd "$src" && make -f "$obj/preinit.mk" PREINIT="$obj" "$obj/module-preinit.wasm") >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "compile or link failed; full log: $log"
fi

tmp="$out.tmp"
rm -rf "$tmp" "$marker"
mkdir -p "$tmp"
llvm-strip --strip-debug -o "$tmp/module-preinit.wasm" "$obj/module-preinit.wasm" >>"$log" 2>&1 ||
	die "llvm-strip failed; full log: $log"
# Every directory of the main package (lib/, zoneinfo/) as hard links.
for d in "$main"/*/; do
	d="${d%/}"
	cp -al "$d" "$tmp/${d##*/}" 2>>"$log" || cp -a "$d" "$tmp/${d##*/}"
done
# The main manifest with the variant's name, wasm and [preinit].
sed -e 's/^name = "python:cpython"$/name = "python:cpython-preinit"/' \
	-e 's/^wasm = "module.wasm"$/wasm = "module-preinit.wasm"/' \
	-e 's/^description = "CPython \([^ ]*\) /description = "CPython \1, pre-initialized variant (interpreter started and json, re, dataclasses, pathlib, zlib, decimal, datetime, collections, typing imported by its wizer.initialize, then the modules an app names in its [run] env WRUN_PYTHON_PRELOAD; hash seed fixed to 0), /' \
	"$main/wrun.toml" >"$tmp/wrun.toml"
grep -q '^name = "python:cpython-preinit"$' "$tmp/wrun.toml" &&
	grep -q '^wasm = "module-preinit.wasm"$' "$tmp/wrun.toml" ||
	die "$main/wrun.toml does not have the expected name and wasm lines"
cat >>"$tmp/wrun.toml" <<'EOF'

[preinit]
init = "wizer.initialize"
EOF
{
	cat "$main/BUILDINFO"
	echo
	echo "python:cpython-preinit: runtimes/python/preinit/main.c (stamp $stamp) compiled with the build's"
	echo "  PY_STDMODULE_CFLAGS and linked with its python.wasm rule (libpython objects, LIBS, MODLIBS,"
	echo "  SYSLIBS, LINKFORSHARED); module-preinit.wasm: llvm-strip --strip-debug; exports wizer.initialize"
} >"$tmp/BUILDINFO"

rm -rf "$out"
mv -T "$tmp" "$out"
echo "$stamp" >"$marker.tmp"
mv -T "$marker.tmp" "$marker"
printf '[%s] python:cpython-preinit: %s\n' "$(date -u +%H:%M:%S)" "$out" >&2
exit 0
}
