#!/bin/bash
# Binary upgrade (SIGUSR2) under load, on loopback: svcproxy runs from a
# copy of the binary; the copy is replaced and svcproxy gets SIGUSR2
# twice while short connections and long-lived streams go through it,
# changing the worker count each time (2, then 1: one worker takes both
# sockets of the address; then 3: a third socket joins the group).
# Not one connection may be refused, reset or corrupted; the old
# process drains and exits, the new one holds the pidfile and answers
# /healthz.  A new binary that fails to start leaves the old serving.
# A second SIGINT or SIGTERM while draining stops at once.  Every wait
# polls with a bound; every process is stopped by its own pid.
# Not run under valgrind: the upgrade re-executes /proc/self/exe, which
# would be valgrind itself.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

if [ "${VALGRIND:-0}" = 1 ]; then
	echo "upgrade.sh: not under valgrind (it would re-execute valgrind)"
	exit 77
fi

A=$((RANDOM % 200 + 20))
NET="127.62.$A"
CIP="127.63.$A.1"
SP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] || { echo "no free port"; exit 1; }
P1=$(backend e1 "$NET.1")
P2=$(backend e2 "$NET.2")
mkdir -p "$TMP/conf"
cat >"$TMP/web.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.63.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  drainTimeout: 20s
  workers: WORKERS
  connectionLog: "off"
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  clusterIP: $CIP
  ports: [{port: $SP, targetPort: p}]
---
apiVersion: v1
kind: Pod
metadata: {name: e1, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P1}]}]}
status: {phase: Running, podIP: "$NET.1", conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: e2, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P2}]}]}
status: {phase: Running, podIP: "$NET.2", conditions: [{type: Ready, status: "True"}]}
YEOF
workers() {	# N: the configuration with N workers, renamed into place
	sed "s/WORKERS/$1/" "$TMP/web.yaml" >"$TMP/conf/.next"
	mv "$TMP/conf/.next" "$TMP/conf/web.yaml"
}
workers 2

BIN="$TMP/bin/svcproxy"
mkdir -p "$TMP/bin"
cp "$SVCPROXY" "$BIN"
# new_binary: replace the file (a new inode, as a package upgrade does).
new_binary() {
	cp "$SVCPROXY" "$BIN.new"
	mv "$BIN.new" "$BIN"
}
LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
SVCPROXY="$BIN" sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf"
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
PID0=$SP_PID
ADM="127.0.0.1:$(admin_port "$LOG")"
expect "serving" hi "$(python3 "$TCPTOOL" echo "$CIP:$SP" hi)"
TOTAL="svcproxy_port_connections_total{namespace=\"default\",service=\"web\",port=\"$SP\",protocol=\"TCP\"}"
metric_ge() { test "$(metric "$ADM" "$1")" -ge "$2" 2>/dev/null; }
# sockets PID: listening sockets on the Service address held by PID.
sockets() { ss -Hltnp "src $CIP:$SP" | grep -c "pid=$1," || true; }

STOP="$TMP/stop"
python3 "$LOADGEN" short "$CIP:$SP" --threads 4 --stop "$STOP" \
    --out "$TMP/short.out" --ready "$TMP/short.ready" &
L1=$!
python3 "$LOADGEN" stream "$CIP:$SP" --conns 6 --stop "$STOP" \
    --out "$TMP/stream.out" --ready "$TMP/stream.ready" &
L2=$!
PIDS="$PIDS $L1 $L2"
wait_for 20 test -s "$TMP/short.ready" -a -s "$TMP/stream.ready" ||
    fail "load did not start"
wait_for 20 metric_ge "$TOTAL" 50 || fail "fewer than 50 connections"

# upgrade OLD: SIGUSR2 to OLD; wait for the new pid in the pidfile (set
# as NEW) and for OLD to stop accepting (its log says it drains).  Not
# called in $(...): fail and PIDS must reach this shell.
upgrade() {
	local old=$1
	new_binary
	kill -USR2 "$old"
	wait_for 20 sh -c "test \"\$(cat $PIDFILE)\" != $old" ||
	    { fail "no new process after SIGUSR2"; exit 1; }
	NEW=$(cat "$PIDFILE")
	PIDS="$PIDS $NEW"
	wait_for 20 grep -q "upgrade: process $NEW serves; draining" "$LOG" ||
		fail "old process $old did not start draining"
}
# upgraded_to N: the new process runs N workers, holds the address's
# sockets (at least 2, inherited; N when more) and serves: only it
# answers the admin socket now, its counters start at 0.
upgraded_to() {
	local want=$(( $1 > 2 ? $1 : 2 ))
	wait_for 20 metric_ge "$TOTAL" 50 ||
	    fail "$1 workers: new process served fewer than 50 connections"
	expect "$1 workers after the upgrade" "$1" \
	    "$(metric "$ADM" svcproxy_workers)"
	expect "$1 workers: $want sockets on the address" "$want" \
	    "$(sockets "$NEW")"
}
workers 1
upgrade "$PID0"
PID1=$NEW
upgraded_to 1
workers 3
upgrade "$PID1"
PID2=$NEW
upgraded_to 3
touch "$STOP"
wait $L1 || true
wait $L2 || true
echo "# short: $(head -1 "$TMP/short.out"); $(head -1 "$TMP/stream.out")"
expect "short connections across two upgrades: none failed" 0 \
    "$(awk 'NR == 1 { print $4 }' "$TMP/short.out")"
[ "$(awk 'NR == 1 { print $2 }' "$TMP/short.out")" -ge 100 ] &&
    pass "short connections kept flowing" || fail "too few short connections"
expect "long-lived streams across two upgrades: none broken" \
    "streams 6 broken 0" "$(awk 'NR == 1 { print $1, $2, $3, $4 }' "$TMP/stream.out")"
tail -n +2 "$TMP/short.out" | head -5
# The old processes exit once their streams are gone.
wait_for 20 gone "$PID0" "$PID1" &&
    pass "old processes drained and exited" || fail "old processes still running"
set +e
wait "$PID0"
rc=$?
set -e
expect "first process exit status" 0 "$rc"
expect "pidfile names the newest process" "$PID2" "$(cat "$PIDFILE")"
expect "healthz from the new process" ok \
    "$(curl -s --max-time 5 "http://$ADM/healthz")"
expect "status from the new process" "$PID2" \
    "$(curl -s --max-time 5 "http://$ADM/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["process"]["pid"])')"
expect "both new processes adopted both listener sockets and the admin one" \
    2 "$(grep -c "upgrade: adopted 3 inherited sockets" "$LOG")"
expect "served by the new process" hi "$(python3 "$TCPTOOL" echo "$CIP:$SP" hi)"

# ---- a new binary that cannot start: the old one keeps serving ----
printf '#!/bin/sh\nexit 3\n' >"$BIN.new"
chmod +x "$BIN.new"
mv "$BIN.new" "$BIN"
kill -USR2 "$PID2"
wait_for 20 grep -q "upgrade failed: new process [0-9]* exited with status 3; still serving" "$LOG" &&
    pass "failed upgrade logged" || fail "failed upgrade not logged"
expect "failed upgrade: still serving" hi \
    "$(python3 "$TCPTOOL" echo "$CIP:$SP" hi)"
expect "failed upgrade: pidfile unchanged" "$PID2" "$(cat "$PIDFILE")"
expect "failed upgrade: healthy" ok "$(curl -s --max-time 5 "http://$ADM/healthz")"

# ---- a second signal while draining stops at once ----
# hold_conn: a connection held open through the drain (prints what its
# second echo got once $TMP/go exists: eof or reset when cut).
hold_conn() {
	rm -f "$TMP/held.ready" "$TMP/go"
	python3 "$TCPTOOL" persist "$CIP:$SP" "$TMP/held.ready" "$TMP/go" \
	    >"$TMP/held.out" 2>&1 &
	HELD=$!
	PIDS="$PIDS $HELD"
	wait_for 20 test -s "$TMP/held.ready" || fail "held connection not open"
}
# second_signal PID LOG SIG NAME NUMBER: SIGTERM, then SIG (NUMBER)
# once draining; PID
# must exit long before drainTimeout (20 s), cutting the held one.
second_signal() {
	local t0 dt
	hold_conn
	kill -TERM "$1"
	wait_for 20 grep -q "signal 15: closing listeners, draining" "$2" ||
	    fail "$1: not draining after SIGTERM"
	t0=$(date +%s.%N)
	kill -"$3" "$1"
	wait_for 20 gone "$1" ||
	    fail "still running 20 s after SIGTERM + $4"
	dt=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))")
	python3 -c "import sys; sys.exit(not $dt < 5)" &&
	    pass "SIGTERM, then $4 while draining: stopped in $dt s" ||
	    fail "SIGTERM, then $4 while draining: stopped after $dt s"
	expect_grep "signal $5 again: stopping now" "$2" \
	    "SIGTERM, then $4: logged"
	touch "$TMP/go"
	wait "$HELD" || true
	case $(cat "$TMP/held.out") in
	eof|reset) pass "SIGTERM, then $4: the held connection was cut" ;;
	*) fail "SIGTERM, then $4: held connection $(cat "$TMP/held.out")" ;;
	esac
}
second_signal "$PID2" "$LOG" INT SIGINT 2
[ -e "$PIDFILE" ] && fail "pidfile left behind" || pass "pidfile removed"
# Once more with SIGTERM twice, on a new process of the same binary.
LOG3="$TMP/run3.log"
sp_start "$LOG3" "$TMP/pid3" run -c "$TMP/conf"
sp_wait_ready "$LOG3" "$TMP/pid3" 20 || exit 1
second_signal "$SP_PID" "$LOG3" TERM "a second SIGTERM" 15
set +e
wait "$SP_PID"
rc=$?
set -e
expect "stopped at once: exit status" 0 "$rc"
finish
