#!/bin/sh
# Build the libFuzzer target in its own tree, time it on inputs of the
# shapes that once made parsing quadratic, then fuzz it for a bounded
# time over a seed corpus made from conf/ and tests/ and small versions
# of those shapes.
#   tests/fuzz/run.sh [SECONDS]
#
# Fails (exit 1) when a shape takes over FUZZ_SHAPE_CPU seconds of CPU
# or fails; when the fuzzer does: a crash, a leak, a sanitizer report,
# an input slower than FUZZ_TIMEOUT seconds, or over the memory limit;
# and when any artifact was written, which also catches an input slower
# than FUZZ_SLOW seconds (libFuzzer's slow-unit-* files).  The artifacts
# directory is emptied first, so only this run's count.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
build=${FUZZ_BUILD:-$top/build-fuzz}
timeout=${FUZZ_TIMEOUT:-10}	# seconds per input: fails the run
slow=${FUZZ_SLOW:-5}		# seconds per input: an artifact, fails
shape_cpu=${FUZZ_SHAPE_CPU:-3}	# CPU seconds per slow shape (about 1)
shape_wall=${FUZZ_SHAPE_WALL:-60}	# a hang, on a busy machine
max_len=1048576			# up to FUZZ_MAX_INPUT in fuzz_load.c
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

# The shapes that once made parsing quadratic: deep nesting in a field
# the parser drops (a Pod's spec.affinity), anchors and aliases (in a
# Pod's labels, which validation looks up one by one), and a Service
# with many keys before its kind.  "big" holds versions of a few
# hundred KB, which took seconds to minutes before the fix and are run
# once each, timed; the corpus gets small ones for the fuzzer to grow.
big="$build/slow-shapes"
rm -rf "$big"
mkdir -p "$big"
python3 - "$big" "$corpus" <<'PY'
import os, sys
pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
def shapes(n):
    yield "deep", pod + "spec:\n  affinity: " + "[" * n + "]" * n + "\n"
    yield "anchors", (pod + "  labels:\n" +
        "".join("    a%d: &x%d v%d\n" % (i, i, i) for i in range(n // 2)) +
        "".join("    b%d: *x%d\n" % (i, i) for i in range(n // 2)))
    yield "late-kind", ("apiVersion: v1\n" +
        "".join("k%d: 1\n" % i for i in range(n // 2)) +
        "kind: Service\nmetadata: {name: s}\n")
for d, n in ((sys.argv[1], 60000), (sys.argv[2], 200)):
    for name, text in shapes(n):
        with open(os.path.join(d, "slow-%s.yaml" % name), "w") as f:
            f.write(text)
PY

rm -rf "$build/artifacts"
mkdir -p "$build/artifacts"
fail=0

# 1. Each big shape once, timed in CPU seconds (other load on the
# machine does not count): over $shape_cpu s fails, as does any error
# or running for $shape_wall s.
python3 - ./tests/fuzz/fuzz_load "$shape_cpu" "$shape_wall" \
    "$build/artifacts/" "$big"/*.yaml <<'PY' ||
import resource, subprocess, sys, time
fuzz, cpu_max, wall_max = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
prefix = "-artifact_prefix=" + sys.argv[4]
bad = 0
for f in sys.argv[5:]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        p = subprocess.run([fuzz, "-rss_limit_mb=2048", prefix, f],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=wall_max)
        rc = p.returncode
        err = p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        rc, err = "killed after %g s" % wall_max, ""
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    ok = rc == 0 and cpu <= cpu_max
    print("%s %s: %.2f s CPU (limit %g), %.2f s wall, exit %s" % (
        "ok" if ok else "FAIL", f.rsplit("/", 1)[-1], cpu, cpu_max,
        time.monotonic() - t0, rc))
    if not ok:
        bad = 1
        sys.stdout.write("".join(err.splitlines(True)[-20:]))
sys.exit(bad)
PY
	{ echo "fuzz: FAIL: a slow shape failed or took too long"; fail=1; }

# 2. Fuzz for $secs s.
log="$build/fuzz.log"
rc=0
./tests/fuzz/fuzz_load -max_total_time="$secs" -max_len="$max_len" \
	-rss_limit_mb=2048 -timeout="$timeout" -report_slow_units="$slow" \
	-print_final_stats=1 -artifact_prefix="$build/artifacts/" \
	"$corpus" >"$log" 2>&1 || rc=$?
tail -20 "$log"
if [ "$rc" -ne 0 ]; then
	echo "fuzz: FAIL: the fuzzer exited $rc (see $log)"
	grep -E "ERROR|ALARM|Slowest unit|SUMMARY|==[0-9]+==" "$log" |
	    head -20 || true
	fail=1
fi
# 3. The PROXY protocol parser (a peer's bytes, as hostile as YAML):
# a quarter of the time, from an empty corpus (headers are short).
pp_secs=$(( secs / 4 > 5 ? secs / 4 : 5 ))
make -s -j2 tests/fuzz/fuzz_proxyproto
mkdir -p "$build/corpus-pp"
./tests/fuzz/fuzz_proxyproto -max_total_time="$pp_secs" -max_len=600 \
	-timeout="$timeout" -print_final_stats=1 \
	-artifact_prefix="$build/artifacts/" "$build/corpus-pp" \
	>"$build/fuzz-pp.log" 2>&1 || {
	echo "fuzz: FAIL: the PROXY protocol fuzzer failed" \
	    "(see $build/fuzz-pp.log)"
	tail -20 "$build/fuzz-pp.log"
	fail=1
}
if [ -n "$(ls -A "$build/artifacts")" ]; then
	echo "fuzz: FAIL: inputs that crashed, leaked, ran out of memory" \
	    "or took over ${slow} s:"
	ls -l "$build/artifacts"
	fail=1
fi
[ "$fail" -eq 0 ] && echo "fuzz: ok, ${secs} s (+${pp_secs} s PROXY protocol), no artifacts"
exit "$fail"
