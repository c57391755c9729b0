#!/bin/bash
# The second step of a reload that drops a listener: the main thread
# waits until every worker has served and closed it (acked), and only
# then publishes the new snapshot.  Worker threads are held still with
# ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT stops one thread, not the
# process), which makes the ack wait last as long as the test wants:
#
#   acks: with worker 1 held, a reload drops Service Q, whose clients
#   wait in the accept queue of worker 1's socket (SO_REUSEPORT: each
#   worker has its own).  Worker 0 closes its socket and acks; the
#   reload must not apply until worker 1 has too.  Once released,
#   worker 1 serves every queued client through Q's backend (the old
#   configuration), none reset, and the reload applies.
#
#   again: with both workers held, a reload dropping Service Z loads
#   and waits for the acks; a SIGHUP then (for a configuration adding
#   Service Y) is logged and, after the first reload commits, must run
#   another one: Y answers and /metrics names the last configuration.
#
# Every wait polls with a bound; svcproxy, the backends and the ptrace
# helper are stopped on exit, also when the test fails.  Skipped where
# ptrace is not allowed.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
trap ha_cleanup EXIT

if [ "${VALGRIND:-0}" = 1 ]; then
	echo "SKIP: valgrind runs the threads itself; ptrace cannot hold one"
	exit 77
fi

# freeze READY GO TID...: hold the threads TID (ptrace-stopped) until
# the file GO exists (at most 120 s), then let them go; READY is
# written once they are all stopped.  Exits 2 when ptrace is refused.
FREEZE="$TMP/freeze.py"
cat >"$FREEZE" <<'PYEOF'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000
ready, go, tids = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3:]]
for t in tids:
    if libc.ptrace(SEIZE, t, None, None) != 0 or \
       libc.ptrace(INTERRUPT, t, None, None) != 0:
        print("ptrace %d: %s" % (t, os.strerror(ctypes.get_errno())))
        sys.exit(2)
for t in tids:
    os.waitpid(t, WALL)
with open(ready + ".tmp", "w") as f:
    f.write("frozen\n")
os.rename(ready + ".tmp", ready)
end = time.monotonic() + 120
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.02)
for t in tids:
    libc.ptrace(DETACH, t, None, None)
PYEOF

A=$((RANDOM % 200 + 20))
NET="127.63.$A"			# Pods
cip() { echo "127.64.$A.$1"; }	# ClusterIPs
SP=$(free_port 20000 29999 "$(cip 1)" "$(cip 2)" "$(cip 3)" "$(cip 4)")
[ -n "$SP" ] || { echo "no free port"; exit 1; }

# idb NAME HOST: a backend that sends its name first, then echoes.
idb() {
	python3 "$TCPTOOL" serve --mode id --host "$2" --name "$1" \
	    --ready "$TMP/$1.port" >"$TMP/$1.log" 2>&1 &
	echo $! >"$TMP/$1.bpid"
	wait_for 20 test -s "$TMP/$1.port" || fail "backend $1 did not start"
	cat "$TMP/$1.port"
}
PX=$(idb x "$NET.1")
PQ=$(idb q "$NET.2")
PZ=$(idb z "$NET.3")
PY=$(idb y "$NET.4")

svc() {		# NAME CLUSTERIP IP PORT: a Service and its one Pod
	cat <<YEOF
---
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $1}
  clusterIP: "$2"
  ports: [{port: $SP, targetPort: p}]
---
apiVersion: v1
kind: Pod
metadata: {name: $1-0, labels: {app: $1}}
spec:
  containers: [{name: c, ports: [{name: p, containerPort: $4}]}]
status:
  phase: Running
  podIP: "$3"
  conditions: [{type: Ready, status: "True"}]
YEOF
}

# gen VARIANT: a {x q z}, b {x z}, c {x}, d {x y}
gen() {
	{
		cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.64.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  connectTimeout: 2s
  connectionLog: "off"
YEOF
		svc x "$(cip 1)" "$NET.1" "$PX"
		case $1 in a) svc q "$(cip 2)" "$NET.2" "$PQ" ;; esac
		case $1 in a|b) svc z "$(cip 3)" "$NET.3" "$PZ" ;; esac
		case $1 in d) svc y "$(cip 4)" "$NET.4" "$PY" ;; esac
	} >"$TMP/$1.yaml"
}
for v in a b c d; do gen $v; done
mkdir -p "$TMP/conf"
use() {
	cp "$TMP/$1.yaml" "$TMP/conf/.next"
	mv "$TMP/conf/.next" "$TMP/conf/services.yaml"
}
use a

LOG="$TMP/run.log"
sp_start "$LOG" "$TMP/pid" run -c "$TMP/conf" --workers 2
sp_wait_ready "$LOG" "$TMP/pid" 20 || exit 1
PID=$SP_PID
ADM="127.0.0.1:$(admin_port "$LOG")"
echo "# svcproxy pid $PID, admin $ADM, Service port $SP"

ok_count() { metric "$ADM" 'svcproxy_reloads_total{result="ok"}'; }
ok_is() { test "$(ok_count)" = "$1"; }
cfg_hash() {
	curl -s --max-time 5 "http://$ADM/metrics" |
	    sed -n 's/^svcproxy_config_info{hash="\([0-9a-f]*\)".*/\1/p'
}
# since N PATTERN: lines after line N of the log matching PATTERN.
since() { tail -n +$(($1 + 1)) "$LOG" | grep -c -- "$2" || true; }
since_ge() { test "$(since "$1" "$2")" -ge "$3"; }
log_lines() { wc -l <"$LOG"; }
# tid N: the thread id of worker N.
tid() {
	local t
	for t in /proc/"$PID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "svcproxy-w$1" ] &&
		    { basename "$t"; return 0; }
	done
	return 1
}
# hold NAME TID...: hold the threads until release NAME.
hold() {
	local name=$1
	shift
	rm -f "$TMP/$name.ready" "$TMP/$name.go"
	python3 "$FREEZE" "$TMP/$name.ready" "$TMP/$name.go" "$@" \
	    >"$TMP/$name.out" 2>&1 &
	HOLD=$!
	PIDS="$PIDS $HOLD"
	wait_for 20 test -s "$TMP/$name.ready" -o ! -d "/proc/$HOLD" || true
	if [ ! -s "$TMP/$name.ready" ]; then
		wait "$HOLD" && rc=0 || rc=$?
		if [ "$rc" = 2 ]; then
			echo "SKIP: $(cat "$TMP/$name.out")"
			exit 77
		fi
		fail "could not hold the workers: $(cat "$TMP/$name.out")"
		finish
		exit 1
	fi
}
release() { touch "$TMP/$1.go"; wait "$HOLD" || true; }

W0=$(tid 0) && W1=$(tid 1) || { fail "worker threads not found"; exit 1; }
expect_id() { expect "$1" "$2" "$(python3 "$TCPTOOL" --timeout 5 id "$3")"; }
expect_id "x answers" x "$(cip 1):$SP"
expect_id "q answers" q "$(cip 2):$SP"
expect_id "z answers" z "$(cip 3):$SP"
HASH_A=$(cfg_hash)
k=0

# ---- acks: every worker, not all but one ----
QADDR="$(cip 2):$SP"
# queued_max: the longest accept queue of QADDR's sockets.
queued_max() { ss -Hltn "src $QADDR" | awk '$2 > m { m = $2 } END { print m + 0 }'; }
nsock() { ss -Hltn "src $QADDR" | wc -l; }
expect "acks: one socket per worker on Q's address" 2 "$(nsock)"
hold acks "$W1"
# Clients from distinct source ports (and addresses): the reuseport
# hash spreads them, worker 0 serves its share at once, worker 1's wait.
NQ=24
QC=""
for i in $(seq 1 $NQ); do
	python3 "$TCPTOOL" --timeout 60 --source "127.65.$A.$i" id "$QADDR" \
	    >"$TMP/q$i.out" 2>&1 &
	QC="$QC $!"
	PIDS="$PIDS $!"
done
ndone() { local n=0 i; for i in $(seq 1 $NQ); do
	[ -s "$TMP/q$i.out" ] && n=$((n + 1)); done; echo $n; }
# Every client either answered (worker 0) or waits queued (worker 1).
settled() { test $(($(ndone) + $(queued_max))) -ge $NQ; }
wait_for 30 settled || fail "acks: $(ndone) answered, $(queued_max) queued of $NQ"
NHELD=$(queued_max)
echo "# acks: $(ndone) served by worker 0, $NHELD queued on worker 1's socket"
[ "$NHELD" -ge 1 ] && pass "acks: clients queued on the held worker's socket" ||
    fail "acks: no client hashed to worker 1's socket"
line=$(log_lines)
use b
k=$((k + 1))
kill -HUP "$PID"
wait_for 30 since_ge "$line" "reload: .* loaded in" 1 ||
    fail "acks: the reload did not load"
# Worker 0 retires its socket and acks; worker 1 is held.
wait_for 20 test "$(nsock)" = 1 ||
    fail "acks: $(nsock) sockets on Q's address, want worker 1's only"
# Give the main thread time to (wrongly) commit on worker 0's ack.
n=0
while [ $n -lt 20 ] && [ "$(cfg_hash)" = "$HASH_A" ]; do
	sleep 0.05
	n=$((n + 1))
done
expect "acks: not applied while worker 1 has not acked" "$HASH_A" "$(cfg_hash)"
expect "acks: no 'applied' line while worker 1 is held" 0 \
    "$(since "$line" "configuration .* applied")"
release acks
wait_for 30 ok_is "$k" || fail "acks: reload $k not applied"
for p in $QC; do wait "$p" || true; done
served=0
for i in $(seq 1 $NQ); do
	[ "$(cat "$TMP/q$i.out")" = q ] && served=$((served + 1)) ||
	    echo "# queued client $i: $(cat "$TMP/q$i.out")"
done
expect "acks: all $NQ clients served by Q's backend, none reset" "$NQ" "$served"
expect "acks: no socket left on Q's address" 0 "$(nsock)"
expect "acks: Q refuses now" refused \
    "$(python3 "$TCPTOOL" --timeout 3 id "$QADDR")"
HASH_B=$(cfg_hash)
[ "$HASH_B" != "$HASH_A" ] && pass "acks: the new configuration runs" ||
    fail "acks: the config hash did not change"

# ---- again: a SIGHUP during the ack wait reloads after the commit ----
hold again "$W0" "$W1"
line=$(log_lines)
use c
k=$((k + 1))
kill -HUP "$PID"
wait_for 30 since_ge "$line" "reload: .* loaded in" 1 ||
    fail "again: the first reload did not load"
expect "again: waiting for the acks, not applied" 0 \
    "$(since "$line" "configuration .* applied")"
use d
kill -HUP "$PID"
wait_for 20 since_ge "$line" "reload requested during a reload: again after it" 1 ||
    fail "again: the second SIGHUP was not taken for one during a reload"
release again
k=$((k + 1))
wait_for 30 ok_is "$k" || fail "again: $(ok_count) reloads applied, want $k"
wait_for 20 since_ge "$line" "configuration .* applied" 2 ||
    fail "again: $(since "$line" "configuration .* applied") applied, want 2"
HASH_D=$(tail -n +$((line + 1)) "$LOG" | grep "configuration .* applied" |
    tail -1 | sed 's/.*configuration \([0-9a-f]*\) applied.*/\1/')
expect "again: /metrics names the last configuration" "$HASH_D" "$(cfg_hash)"
[ -n "$HASH_D" ] && [ "$HASH_D" != "$HASH_B" ] &&
    pass "again: a configuration other than the first was applied" ||
    fail "again: the last applied hash is '$HASH_D'"
expect_id "again: y (added by the second SIGHUP) answers" y "$(cip 4):$SP"
expect_id "again: x still answers" x "$(cip 1):$SP"
expect "again: z (dropped by the first) refuses" refused \
    "$(python3 "$TCPTOOL" --timeout 3 id "$(cip 3):$SP")"

kill -TERM "$PID"
wait_for 30 gone "$PID" || fail "svcproxy still running"
set +e
wait "$PID"
rc=$?
set -e
expect "clean exit" 0 "$rc"
[ "$rc" = 0 ] || tail -40 "$LOG"
finish
