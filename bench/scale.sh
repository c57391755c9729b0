#!/bin/bash
# scale.sh: how long `svcproxy check` and `svcproxy resolve -o json` take,
# and how much memory they peak at, on a large generated configuration
# (bench/gen_config.py: 5000 Services, 50000 Pods, 1000 NetworkPolicies
# by default) in three forms: a directory of files, one multi-document
# file, and one `kind: List` file as `kubectl get -A -o yaml` writes it.
# Median of 5 runs each, measured with GNU time -v (wall, user + sys
# CPU, peak RSS); one `SVCPROXY_TIMINGS=1 svcproxy check` per form gives
# the phases.  Interleaved with them, bench/yaml_floor (libyaml parsing
# the same bytes into events, cut into the same pieces on the same
# threads, and nothing else) gives the floor check cannot go under,
# and `SVCPROXY_PARSE_SERIAL=1 svcproxy check` of the directory against
# yaml_floor -t 1 the same on one thread; each is reported as a
# check / floor ratio, round by round.  The figures and the exact
# commands go to the "Config scale" section of bench/RESULTS.md.
#
#   bench/scale.sh [--runs N] [--no-results] [gen_config.py options...]
#   SVCPROXY=/path/to/svcproxy bench/scale.sh --services 1000 --pods 10000
#
# Without $SVCPROXY it builds one with the default -O2 in $BUILD (default
# /tmp/svcproxy-bench-build; never in the source tree); yaml_floor is
# built there in any case, unless $YAML_FLOOR names one.  The
# configuration goes to bench/out/scale (gitignored).  Not run by
# `make check`.

set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
RUNS=5
WRITE=1
GENARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--runs)		RUNS=$2; shift 2 ;;
	--no-results)	WRITE=0; shift ;;
	-h|--help)	sed -n '2,20p' "$0"; exit 0 ;;
	*)		GENARGS+=("$1"); shift ;;
	esac
done

die() { echo "scale.sh: $*" >&2; exit 1; }

# GNU time, for peak RSS.
if ! /usr/bin/time -v true >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "scale.sh: installing GNU time (package time)" >&2
		apt-get install -y -q time >/dev/null ||
		    die "apt-get install time failed"
	else
		die "needs GNU time at /usr/bin/time (apt-get install time)"
	fi
fi

# build TARGET: make it in $BUILD, configured on first use.
build() {
	BUILD=${BUILD:-${TMPDIR:-/tmp}/svcproxy-bench-build}
	mkdir -p "$BUILD" || die "mkdir $BUILD"
	if [ ! -f "$BUILD/Makefile" ]; then
		[ -x "$top/configure" ] ||
		    die "no $top/configure: run autoreconf -fi in $top first"
		(cd "$BUILD" && "$top/configure" -q) ||
		    die "configure failed in $BUILD"
	fi
	make -s -C "$BUILD" -j"$(nproc)" "$1" >"$BUILD/bench-make.log" \
	    2>&1 || { tail -20 "$BUILD/bench-make.log" >&2; die "build failed"; }
}
if [ -z "${SVCPROXY:-}" ]; then
	build src/svcproxy
	SVCPROXY=$BUILD/src/svcproxy
fi
[ -x "$SVCPROXY" ] || die "no svcproxy at $SVCPROXY"
if [ -z "${YAML_FLOOR:-}" ]; then
	build bench/yaml_floor
	YAML_FLOOR=$BUILD/bench/yaml_floor
fi
[ -x "$YAML_FLOOR" ] || die "no yaml_floor at $YAML_FLOOR"
OUT=$here/out
CONF=$OUT/scale
MULTI=$OUT/scale-multi.yaml
LIST=$OUT/scale-list.yaml
mkdir -p "$OUT" || die "mkdir $OUT"
gen=$(python3 "$here/gen_config.py" -o "$CONF" "${GENARGS[@]}") ||
    die "gen_config.py failed"
python3 "$here/gen_config.py" -o "$MULTI" --form multi "${GENARGS[@]}" \
    >/dev/null || die "gen_config.py --form multi failed"
python3 "$here/gen_config.py" -o "$LIST" --form list "${GENARGS[@]}" \
    >/dev/null || die "gen_config.py --form list failed"
echo "$gen"
conf_mb=$(du -sm "$CONF" | cut -f1)
multi_mb=$(du -sm "$MULTI" | cut -f1)
list_mb=$(du -sm "$LIST" | cut -f1)
nfiles=$(ls "$CONF" | wc -l)

# run_once NAME CMD...: one timed run; appends "wall_s rss_kb rc cpu_s"
# to $OUT/scale-NAME.txt, keeps the last output in $OUT/scale-NAME.out/.err.
run_once() {
	local name=$1; shift
	/usr/bin/time -v -o "$OUT/scale-$name.time" "$@" \
	    >"$OUT/scale-$name.out" 2>"$OUT/scale-$name.err"
	local rc=$?
	# "Command exited with non-zero status N" may precede the fields.
	awk -v rc="$rc" '
	    /Elapsed \(wall clock\) time/ {
		n = split($NF, p, ":"); s = 0
		for (i = 1; i <= n; i++) s = s * 60 + p[i]
		wall = s
	    }
	    /User time \(seconds\)/ { cpu += $NF }
	    /System time \(seconds\)/ { cpu += $NF }
	    /Maximum resident set size/ { rss = $NF }
	    END { printf "%.3f %d %d %.3f\n", wall, rss, rc, cpu }' \
	    "$OUT/scale-$name.time" >>"$OUT/scale-$name.txt"
}

# stats NAME: "median_wall min_wall max_wall median_rss min_rss max_rss
# rc median_cpu min_cpu" of the runs (RSS in MiB).
stats() {
	python3 - "$OUT/scale-$1.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
w = [float(r[0]) for r in rows]
m = [int(r[1]) / 1024 for r in rows]
rc = max(int(r[2]) for r in rows)
c = [float(r[3]) for r in rows]
print("%.2f %.2f %.2f %.0f %.0f %.0f %d %.2f %.2f" % (statistics.median(w),
      min(w), max(w), statistics.median(m), min(m), max(m), rc,
      statistics.median(c), min(c)))
PY
}

rm -f "$OUT"/scale-*.txt
for i in $(seq 1 "$RUNS"); do
	# Interleaved, so a slow moment of the machine hits every form.
	run_once check "$SVCPROXY" check -c "$CONF"
	run_once multi "$SVCPROXY" check -c "$MULTI"
	run_once list "$SVCPROXY" check -c "$LIST"
	run_once resolve "$SVCPROXY" resolve -c "$CONF" -o json
	# The floor of each form, and check and floor on one thread.
	run_once floor-check "$YAML_FLOOR" "$CONF"
	run_once floor-multi "$YAML_FLOOR" "$MULTI"
	run_once floor-list "$YAML_FLOOR" "$LIST"
	run_once serial env SVCPROXY_PARSE_SERIAL=1 "$SVCPROXY" check -c "$CONF"
	run_once floor-serial "$YAML_FLOOR" -t 1 "$CONF"
	echo "scale.sh: run $i/$RUNS: dir $(tail -1 "$OUT/scale-check.txt")," \
	    "multi $(tail -1 "$OUT/scale-multi.txt")," \
	    "list $(tail -1 "$OUT/scale-list.txt")," \
	    "resolve $(tail -1 "$OUT/scale-resolve.txt") (wall s, RSS kB," \
	    "rc, CPU s)"
	echo "scale.sh: run $i/$RUNS: floor dir" \
	    "$(tail -1 "$OUT/scale-floor-check.txt"), multi" \
	    "$(tail -1 "$OUT/scale-floor-multi.txt"), list" \
	    "$(tail -1 "$OUT/scale-floor-list.txt"); serial: check" \
	    "$(tail -1 "$OUT/scale-serial.txt"), floor" \
	    "$(tail -1 "$OUT/scale-floor-serial.txt")"
done
read -r cw cwmin cwmax cm cmmin cmmax crc cc ccmin <<<"$(stats check)"
read -r mw mwmin mwmax mm mmmin mmmax mrc mc mcmin <<<"$(stats multi)"
read -r lw lwmin lwmax lm lmmin lmmax lrc lc lcmin <<<"$(stats list)"
read -r rw rwmin rwmax rm rmmin rmmax rrc rcc rcmin <<<"$(stats resolve)"

# ratio A B: "wall_median wall_min wall_max cpu_median cpu_min cpu_max"
# of A / B, run by run (each pair ran back to back in one round).
ratio() {
	python3 - "$OUT/scale-$1.txt" "$OUT/scale-$2.txt" <<'PY'
import statistics, sys
a, b = ([l.split() for l in open(p) if l.strip()] for p in sys.argv[1:3])
w = [float(x[0]) / float(y[0]) for x, y in zip(a, b)]
c = [float(x[3]) / float(y[3]) for x, y in zip(a, b)]
print("%.2f %.2f %.2f %.2f %.2f %.2f" % (statistics.median(w), min(w),
      max(w), statistics.median(c), min(c), max(c)))
PY
}
# floor_row LABEL NAME CHECKNAME: one row of the floor table.
floor_row() {
	local w wmin wmax m mmin mmax rc c cmin rw rwmin rwmax rc2 rcmin rcmax
	read -r w wmin wmax m mmin mmax rc c cmin <<<"$(stats "$2")"
	read -r rw rwmin rwmax rc2 rcmin rcmax <<<"$(ratio "$3" "$2")"
	echo "| $1 | $w s ($wmin-$wmax) | $c s ($cmin) | $rw ($rwmin-$rwmax)" \
	    "| $rc2 ($rcmin-$rcmax) | $rc |"
}
floor_rows=$(
	floor_row "directory" floor-check check
	floor_row "multi-document file" floor-multi multi
	floor_row "\`kind: List\` file" floor-list list
	floor_row "directory, one thread" floor-serial serial
)
read -r sw swmin swmax sm smmin smmax src sc scmin <<<"$(stats serial)"
floor_events=$(grep -o '^yaml_floor: [0-9]* events' \
    "$OUT/scale-floor-serial.out" | sed 's/yaml_floor: //')
# One more check of each form, for its phases.
timings() {
	SVCPROXY_TIMINGS=1 "$SVCPROXY" check -c "$1" 2>&1 >/dev/null |
	    sed -n 's/^svcproxy: timings //p'
}
t_dir=$(timings "$CONF")
t_multi=$(timings "$MULTI")
t_list=$(timings "$LIST")
json_bytes=$(wc -c <"$OUT/scale-resolve.out")
# The summary line ("configuration ... is ok: ..."), not the last
# diagnostic.
check_line=$(cat "$OUT/scale-check.out" "$OUT/scale-check.err" |
    grep 'svcproxy: configuration' | tail -1 | sed "s|$top/||" | cut -c1-300)
[ -n "$check_line" ] || check_line=$(tail -1 "$OUT/scale-check.err")
ndiag=$(grep -c '^warning:' "$OUT/scale-check.err")
# The single files must load to the same counts as the directory.
same_forms=yes
for f in multi list; do
	grep -qF "is ok: ${check_line#*is ok: }" "$OUT/scale-$f.out" ||
	    same_forms=no
done
resolve_note=""
if [ "$rrc" -ne 0 ]; then
	resolve_note="exit status $rrc: $(head -1 "$OUT/scale-resolve.err" |
	    cut -c1-200)"
fi

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
version=$("$SVCPROXY" version 2>&1 | head -1)
rel() { echo "${1#"$top"/}"; }
body=$(cat <<EOF
Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs ($cpu), Linux
$(uname -r); $version, built with the default \`-g -O2\`.

Configuration: \`python3 bench/gen_config.py -o bench/out/scale${GENARGS[*]:+ ${GENARGS[*]}}\`:
$(echo "$gen" | sed 's/^gen_config: [^:]*: //'), in $nfiles files
($conf_mb MB on disk); the same objects with \`--form multi\` as one
file of \`---\`-separated documents (bench/out/scale-multi.yaml,
$multi_mb MB) and with \`--form list\` as one \`kind: List\` document, as
\`kubectl get -A -o yaml\` writes it (bench/out/scale-list.yaml,
$list_mb MB).

Each command was run $RUNS times, alternating, under \`/usr/bin/time -v\`
(wall clock, user + system CPU of every thread, "Maximum resident set
size"):

| command | wall median (min-max) | CPU median (min) | peak RSS median (min-max) | exit |
|---|---|---|---|---|
| \`svcproxy check -c bench/out/scale\` | ${cw} s (${cwmin}-${cwmax}) | ${cc} s (${ccmin}) | ${cm} MiB (${cmmin}-${cmmax}) | $crc |
| \`svcproxy check -c bench/out/scale-multi.yaml\` | ${mw} s (${mwmin}-${mwmax}) | ${mc} s (${mcmin}) | ${mm} MiB (${mmmin}-${mmmax}) | $mrc |
| \`svcproxy check -c bench/out/scale-list.yaml\` | ${lw} s (${lwmin}-${lwmax}) | ${lc} s (${lcmin}) | ${lm} MiB (${lmmin}-${lmmax}) | $lrc |
| \`svcproxy resolve -c bench/out/scale -o json >/dev/null\` | ${rw} s (${rwmin}-${rwmax}) | ${rcc} s (${rcmin}) | ${rm} MiB (${rmmin}-${rmmax}) | $rrc |

The libyaml floor (\`bench/yaml_floor PATH\`, built by
\`make bench/yaml_floor\`): libyaml parses the same files into events
($floor_events for the directory) and deletes each at once, cut into
the pieces svcproxy cuts (\`src/ysplit.c\`) on the threads it uses;
nothing is built.  It ran in the same rounds, after the commands
above; "one thread" is \`yaml_floor -t 1\` against
\`SVCPROXY_PARSE_SERIAL=1 svcproxy check -c bench/out/scale\` (${sw} s
wall (${swmin}-${swmax}), ${sc} s CPU (${scmin}), exit $src).  Ratios
are check / floor, round by round, median (min-max):

| libyaml floor of | wall median (min-max) | CPU median (min) | check / floor, wall | check / floor, CPU | exit |
|---|---|---|---|---|---|
$floor_rows

\`check\` said: \`$check_line\` ($ndiag warning lines printed
before it, most of them the expected "in the loopback range" ones); the
single files loaded to the same counts: $same_forms.

Phases (\`SVCPROXY_TIMINGS=1 svcproxy check\`, one more run of each
form; wall/CPU seconds, the CPU of every thread):

- directory: $t_dir
- multi-document file: $t_multi
- \`kind: List\` file: $t_list
${resolve_note:+
\`resolve\` failed: $resolve_note
}
\`resolve -o json\` printed $json_bytes bytes.  Reproduce with
\`bench/scale.sh\` (\`SVCPROXY=path\` and \`YAML_FLOOR=path\` to skip
the builds, \`--runs N\`, \`--no-results\` to leave RESULTS.md alone,
other options go to gen_config.py).
EOF
)
echo "$body"
if [ "$WRITE" = 1 ]; then
	echo "$body" | python3 "$here/results.py" "$here/RESULTS.md" \
	    "Config scale" || die "could not write RESULTS.md"
	echo "scale.sh: wrote the Config scale section of $(rel "$here/RESULTS.md")"
fi
[ "$crc" -eq 0 ] && [ "$mrc" -eq 0 ] && [ "$lrc" -eq 0 ] || exit 1
