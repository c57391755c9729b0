#!/bin/sh
# Build the libFuzzer target in its own tree and run it for a bounded
# time over a seed corpus made from conf/ and tests/.
#   tests/fuzz/run.sh [SECONDS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
build=${FUZZ_BUILD:-$top/build-fuzz}
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
	    "$top/configure" -q --enable-fuzzing
fi
make -s -j2 tests/fuzz/fuzz_load
corpus="$build/corpus"
mkdir -p "$corpus"
find "$top/conf" "$top/tests" -name '*.yaml' -o -name '*.yml' |
	while read -r f; do cp "$f" "$corpus/"; done
mkdir -p "$build/artifacts"
./tests/fuzz/fuzz_load -max_total_time="$secs" -max_len=65536 \
	-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$build/artifacts/" "$corpus" 2>&1 | tail -20
