#!/usr/bin/env bash
# make demo: publish the example packages to the embedded default registry
# (a local OCI layout under WRUN_HOME, no server) and run them from it.
set -euo pipefail
cd "$(dirname "$0")/.."
wrun=$PWD/.build/wrun
stage=$PWD/.build/demo
# The embedded default registry lives under WRUN_HOME; the demo keeps its own
# (set WRUN_HOME to use another), so a rebuilt runtime never collides with a
# version published before.
export WRUN_HOME=${WRUN_HOME:-$PWD/.build/demo-home}
step() { printf '\n\033[1m$ %s\033[0m\n' "${*#$PWD/}"; "$@"; }

# example:hello is a plain wasm package, built from testdata/c/hello.c.
rm -rf "$stage" && mkdir -p "$stage"
cp -r examples/hello "$stage/hello"
cp .build/testdata/c/hello.wasm "$stage/hello/component.wasm"

step "$wrun" publish "$stage/hello"
step "$wrun" example:hello@1.0.0 -- demo

# The Python app runs on the CPython runtime package and a library package.
step "$wrun" publish "$WRUN_PYTHON_RUNTIME"
step "$wrun" publish examples/greetlib
cp -r examples/hello-py "$stage/hello-py"
rm -f "$stage/hello-py/wrun.lock"
step "$wrun" publish "$stage/hello-py"
step "$wrun" ls
step "$wrun" example:hello-py@1.0.0 -- demo
step "$wrun" test "$stage/hello-py"

echo
echo "demo done: the packages are in the embedded registry under $WRUN_HOME; try:"
echo "  WRUN_HOME=$WRUN_HOME $wrun example:hello -- you"
