#!/usr/bin/env bash
# make demo: run the demo guests with wrun, in a throwaway WRUN_HOME unless one is set.
set -euo pipefail
cd "$(dirname "$0")/.."
wrun=.build/wrun
guests=.build/testdata
export WRUN_HOME=${WRUN_HOME:-$(mktemp -d)}
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step $wrun run $guests/c/hello.wasm -- demo
step $wrun run $guests/go/hello.wasm -- demo
mkdir -p "$WRUN_HOME/demo-data"
step $wrun run --mount "$WRUN_HOME/demo-data:/data" $guests/c/files.wasm /data keep
step ls -R "$WRUN_HOME/demo-data"
echo
echo "demo done (WRUN_HOME=$WRUN_HOME)"
