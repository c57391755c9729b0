#!/bin/bash
# Reload churn with traffic, on one CPU: svcproxy with 2 workers pinned
# to CPU 0 (taskset) while short connections go to two Services, and
# the configuration flips 200 times between a version with the second
# Service and one without it (renamed into place, SIGHUP 1 ms after
# each flip), ending without it.  A burst like this queues a listener's
# addition and its removal before a worker wakes; the worker must end
# up holding exactly what the last configuration wants.  Then:
#   - no svcproxy socket listens on the removed address (ss -ltnp);
#   - svcproxy_listeners equals the addresses svcproxy listens on;
#   - no reload failed with "Address already in use";
#   - the first Service lost no connection;
#   - a reload adding the Service back applies and serves it.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
. "$top_srcdir/tests/integration/churn_lib.sh"

if [ "${VALGRIND:-0}" = 1 ]; then
	echo "reload_churn.sh: not under valgrind (it serializes the race away)"
	exit 77
fi
command -v taskset >/dev/null && command -v ss >/dev/null ||
    { echo "reload_churn.sh: needs taskset and ss"; exit 77; }
NFLIP=${NFLIP:-200}
# ASan: freed memory in quarantine is not what this test is about.
if nm "$SVCPROXY" 2>/dev/null | grep -q __asan_init; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi

churn_setup 127.65		# Services 127.65.A.1 (kept) and .2 (flipped)
churn_gen both 127.65.0.0/16 "" two
churn_gen single 127.65.0.0/16
mkdir -p "$TMP/conf"
use() {		# NAME: swap the served file atomically (rename)
	cp "$TMP/$1.yaml" "$TMP/conf/.next"
	mv "$TMP/conf/.next" "$TMP/conf/services.yaml"
}
use both

LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
PREFIX="taskset -c 0" sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf" \
    --workers 2
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
PID=$SP_PID
ADM="127.0.0.1:$(admin_port "$LOG")"
echo "# svcproxy pid $PID (CPU 0), admin $ADM, Services $ONE:$SP $TWO:$SP"
expect "Service one serves" hi "$(python3 "$TCPTOOL" echo "$ONE:$SP" hi)"
expect "Service two serves" hi "$(python3 "$TCPTOOL" echo "$TWO:$SP" hi)"

# listening ADDR: svcproxy's listening sockets on ADDR (ss, by pid).
listening() {
	ss -Hltnp "src $1" | grep -c "pid=$PID," || true
}
# ss_addrs: the distinct addresses svcproxy listens on, admin excluded.
ss_addrs() {
	ss -Hltnp | awk -v p="pid=$PID," -v a="$ADM" \
	    'index($0, p) && $4 != a { print $4 }' | sort -u | wc -l
}

# ---- the churn, with traffic to both Services ----
STOP="$TMP/stop"
python3 "$LOADGEN" short "$ONE:$SP" --threads 2 --stop "$STOP" \
    --out "$TMP/one.out" --ready "$TMP/one.ready" &
L1=$!
python3 "$LOADGEN" short "$TWO:$SP" --threads 2 --stop "$STOP" \
    --out "$TMP/two.out" --ready "$TMP/two.ready" &
L2=$!
PIDS="$PIDS $L1 $L2"
wait_for 20 test -s "$TMP/one.ready" -a -s "$TMP/two.ready" ||
    fail "load did not start"
flows() {
	[ "$(port_total "$ADM" one "$SP")" -ge 20 ] &&
	    [ "$(port_total "$ADM" two "$SP")" -ge 20 ]
} 2>/dev/null
wait_for 20 flows || fail "traffic to both Services did not start"
t0=$(date +%s.%N)
churn_flip "$PID" "$NFLIP" "$TMP"
settled=0
last=$(churn_settle "$ADM" 200) && settled=1
touch "$STOP"
wait $L1 || true
wait $L2 || true
echo "# $NFLIP flips in $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))") s: $last reloads" \
    "(ok $(metric "$ADM" 'svcproxy_reloads_total{result="ok"}')," \
    "failed $(metric "$ADM" 'svcproxy_reloads_total{result="failed"}'))"
echo "# Service one: $(head -1 "$TMP/one.out"); Service two: $(head -1 "$TMP/two.out")"
echo "# SIGHUPs during a reload (bursts): $(grep -c 'reload requested during a reload' "$LOG" || true)"
[ $settled = 1 ] && pass "reloads settled" || fail "reloads still running"
# One more SIGHUP must find "single" running: a no-op.
churn_unchanged "$ADM" "$PID" 20 &&
    pass "the configuration without Service two runs" ||
    fail "the last configuration did not take effect"

# ---- what the workers hold ----
expect "no svcproxy socket listens on the removed address" 0 \
    "$(listening "$TWO:$SP")"
expect "svcproxy_listeners matches ss" "$(ss_addrs)" \
    "$(metric "$ADM" svcproxy_listeners)"
expect "2 sockets on the kept address" 2 "$(listening "$ONE:$SP")"
expect "the removed address refuses" refused \
    "$(python3 "$TCPTOOL" --timeout 3 echo "$TWO:$SP" hi)"
expect "no reload failed with Address already in use" 0 \
    "$(grep -c 'Address already in use' "$LOG" || true)"
grep -m3 'Address already in use' "$LOG" | sed 's/^/#   /'
expect "Service one: no connection failed during the churn" 0 \
    "$(awk 'NR == 1 { print $4 }' "$TMP/one.out")"
tail -n +2 "$TMP/one.out" | head -5 | sed 's/^/#   /'
[ "$(awk 'NR == 1 { print $2 }' "$TMP/two.out")" -gt 0 ] &&
    pass "Service two had traffic during the churn" ||
    fail "no connection reached Service two"

# ---- the Service comes back ----
ok0=$(metric "$ADM" 'svcproxy_reloads_total{result="ok"}')
r0=$(reloads_total "$ADM")
use both
kill -HUP "$PID"
wait_for 20 reloads_above "$ADM" "$r0" || fail "no reload after SIGHUP"
expect "a reload adding Service two back applies" $((ok0 + 1)) \
    "$(metric "$ADM" 'svcproxy_reloads_total{result="ok"}')"
expect "Service two served again" hi \
    "$(python3 "$TCPTOOL" --timeout 5 echo "$TWO:$SP" hi)"
expect "2 sockets on the re-added address" 2 "$(listening "$TWO:$SP")"
expect "no line logged as error" 0 "$(grep -c ' error: ' "$LOG" || true)"

kill -TERM "$PID"
wait_for 20 gone "$PID" &&
    pass "svcproxy exits on SIGTERM" || fail "svcproxy still running"
expect_exit "svcproxy exit status (sanitizers: no error, no leak)" "$PID" \
    "$LOG"
finish
