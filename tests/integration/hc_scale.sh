#!/bin/bash
# Health checking at scale (issue 12, "Scale"): 10,000 endpoints, one
# loopback address each in one small server (hcserver), checked by the
# health thread (hc_engine, through tests/integration/hc_scale) every
# second for 30 s.  No check may start more than one interval late (the
# engine's count), no endpoint may go more than two intervals between
# checks (hcserver's count), every endpoint is checked about once a
# second, and no check fails.  Prints the checks started, the gaps, and
# the health thread's CPU.  Skipped with fewer than 2 CPUs, an
# open-file hard limit under 12,000 (hcserver needs one descriptor per
# address), or when it failed while the machine was too busy to tell
# (the checker or hcserver waited for a CPU a fifth of the time).  HC_SCALE_N, HC_SCALE_SECONDS and HC_SCALE_KIND change it.
# tcp checks are counted by their SYNs (see start_server).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
SVCPROXY=${SVCPROXY:-$top_builddir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/port_lib.sh"

N=${HC_SCALE_N:-10000}
SECS=${HC_SCALE_SECONDS:-30}
KIND=${HC_SCALE_KIND:-tcp}
HCSERVER=$top_builddir/tests/integration/hcserver
HCSCALE=$top_builddir/tests/integration/hc_scale

cpus=$(nproc)
if [ "$cpus" -lt 2 ]; then
	echo "SKIP: $cpus CPU (the scale test needs 2: server and checker)"
	exit 77
fi
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((N + 2000)) ]; then
	echo "SKIP: open-file hard limit $hard < $((N + 2000))"
	exit 77
fi

# 127.90.0.1 .. (127.90.39.16 for 10,000); one port free on the first.
BASE=127.90.0.1
PORT=$(free_port 20000 29999 $BASE 127.90.39.16)
[ -n "$PORT" ] || { echo "not ok - no free port"; exit 1; }

# A tcp check is SYN, SYN-ACK, RST and never reaches accept(): hcserver
# counts its SYNs (-P, a packet socket: needs CAP_NET_RAW).  Without
# that capability, the scale is measured on http checks instead.
start_server() {
	rm -f "$TMP/ready"
	"$HCSERVER" -b $BASE -n "$N" -p "$PORT" -d "$TMP/dump" \
	    -r "$TMP/ready" "$@" 2>"$TMP/hcserver.err" &
	SRV=$!
	PIDS="$PIDS $SRV"
	for _ in $(seq 1 300); do
		[ -s "$TMP/ready" ] && break
		alive "$SRV" || break
		sleep 0.1
	done
}
if [ "$KIND" = tcp ]; then
	start_server -P
	if ! [ -s "$TMP/ready" ] && grep -q "packet socket" \
	    "$TMP/hcserver.err"; then
		echo "# no CAP_NET_RAW to count tcp checks' SYNs: http checks"
		KIND=http
		start_server
	fi
else
	start_server
fi
if ! [ -s "$TMP/ready" ]; then
	echo "not ok - hcserver did not start"
	cat "$TMP/hcserver.err"
	exit 1
fi
pass "hcserver listens on $N addresses from $BASE, port $PORT"

set +e
"$HCSCALE" -b $BASE -n "$N" -p "$PORT" -S "$SRV" -d "$TMP/dump" \
    -k "$KIND" -i 1000 -t "$SECS" -w 2 >"$TMP/out" 2>&1
rc=$?
set -e
sed 's/^/# /' "$TMP/out"
# Stop hcserver here, not in the cleanup, and look at how it ended: a
# crash at exit (under ASan, a leak aborts it) fails the test, skip or
# not, with its stderr, which the cleanup would remove.
kill -TERM "$SRV" 2>/dev/null || true
set +e
wait "$SRV"
src=$?
set -e
if [ "$src" = 0 ]; then
	pass "hcserver exits 0 on SIGTERM"
else
	fail "hcserver exit status $src on SIGTERM"
	sed 's/^/#   /' "$TMP/hcserver.err" | head -40
fi
if [ "$rc" = 77 ]; then
	grep "^SKIP" "$TMP/out"
	[ "$src" = 0 ] || exit 1
	exit 77
elif [ "$rc" = 0 ]; then
	pass "$N $KIND checks every 1 s for $SECS s: none late by more than" \
	    "one interval, none failed"
else
	fail "$N $KIND checks every 1 s for $SECS s (exit $rc)"
fi
finish
