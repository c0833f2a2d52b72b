#!/usr/bin/env bash
# Computes the content digest of every directory under digest/ with
# coreutils alone (printf, sha256sum, sort, wc), independently of wrun's Go
# code, and writes digest/VECTORS: "<dir> sha256:<hex>" per line.
#
#   digest = SHA-256(index), index = entry+ sorted bytewise by path,
#   entry  = SHA-256(content) || u16le(len(path)) || path
#
# Run from testdata/bundle: bash vectors.sh
set -euo pipefail
cd "$(dirname "$0")/digest"
export LC_ALL=C

hex2bin() { # hex digits on stdin -> raw bytes
	local h; h=$(cat); local out=""
	for ((i = 0; i < ${#h}; i += 2)); do out+="\\x${h:i:2}"; done
	printf "$out"
}

for dir in */; do
	dir=${dir%/}
	index=$(mktemp)
	# NUL-separated, bytewise-sorted relative paths.
	(cd "$dir" && find . -type f -printf '%P\0' | sort -z) | while IFS= read -r -d '' p; do
		sha256sum < "$dir/$p" | cut -c1-64 | hex2bin >> "$index"
		n=$(printf '%s' "$p" | wc -c)
		printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))" >> "$index"
		printf '%s' "$p" >> "$index"
	done
	echo "$dir sha256:$(sha256sum < "$index" | cut -c1-64)"
	rm -f "$index"
done > VECTORS
cat VECTORS
