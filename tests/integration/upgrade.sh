#!/bin/bash
# Binary upgrade (SIGUSR2) under load, on loopback: svcproxy runs from a
# copy of the binary; the copy is replaced and svcproxy gets SIGUSR2
# twice while short connections and long-lived streams go through it.
# Not one connection may be refused, reset or corrupted; the old
# process drains and exits, the new one holds the pidfile and answers
# /healthz.  A new binary that fails to start leaves the old serving.
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
cat >"$TMP/conf/web.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.63.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  drainTimeout: 20s
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
"$BIN" run -c "$TMP/conf" --workers 2 --pidfile "$PIDFILE" >"$LOG" 2>&1 &
PID0=$!
PIDS="$PIDS $PID0"
wait_for 10 grep -q serving "$LOG" || { cat "$LOG"; exit 1; }
wait_for 10 test -s "$PIDFILE"
ADM="127.0.0.1:$(admin_port "$LOG")"
expect "serving" hi "$(python3 "$TCPTOOL" echo "$CIP:$SP" hi)"

STOP="$TMP/stop"
python3 "$LOADGEN" short "$CIP:$SP" --threads 4 --stop "$STOP" \
    --out "$TMP/short.out" --ready "$TMP/short.ready" &
L1=$!
python3 "$LOADGEN" stream "$CIP:$SP" --conns 6 --stop "$STOP" \
    --out "$TMP/stream.out" --ready "$TMP/stream.ready" &
L2=$!
PIDS="$PIDS $L1 $L2"
wait_for 20 test -s "$TMP/short.ready" -a -s "$TMP/stream.ready"
sleep 0.5

# upgrade OLD: SIGUSR2 to OLD; wait for the new pid in the pidfile (set
# as NEW) and for OLD to stop accepting (its log says it drains).  Not
# called in $(...): fail and PIDS must reach this shell.
upgrade() {
	local old=$1
	new_binary
	kill -USR2 "$old"
	wait_for 10 sh -c "test \"\$(cat $PIDFILE)\" != $old" ||
	    { fail "no new process after SIGUSR2"; exit 1; }
	NEW=$(cat "$PIDFILE")
	PIDS="$PIDS $NEW"
	wait_for 10 grep -q "upgrade: process $NEW serves; draining" "$LOG" ||
		fail "old process $old did not start draining"
}
upgrade "$PID0"
PID1=$NEW
sleep 1
upgrade "$PID1"
PID2=$NEW
sleep 1
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
wait_for 10 sh -c "! kill -0 $PID0 2>/dev/null && ! kill -0 $PID1 2>/dev/null" &&
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
expect_grep "upgrade: adopted 3 inherited sockets" "$LOG" \
    "the new process adopted both listener sockets and the admin one"
expect "served by the new process" hi "$(python3 "$TCPTOOL" echo "$CIP:$SP" hi)"

# ---- a new binary that cannot start: the old one keeps serving ----
printf '#!/bin/sh\nexit 3\n' >"$BIN.new"
chmod +x "$BIN.new"
mv "$BIN.new" "$BIN"
kill -USR2 "$PID2"
wait_for 10 grep -q "upgrade failed: new process [0-9]* exited with status 3; still serving" "$LOG" &&
    pass "failed upgrade logged" || fail "failed upgrade not logged"
expect "failed upgrade: still serving" hi \
    "$(python3 "$TCPTOOL" echo "$CIP:$SP" hi)"
expect "failed upgrade: pidfile unchanged" "$PID2" "$(cat "$PIDFILE")"
expect "failed upgrade: healthy" ok "$(curl -s --max-time 5 "http://$ADM/healthz")"

kill -TERM "$PID2"
wait_for 25 sh -c "! kill -0 $PID2 2>/dev/null" &&
    pass "newest process exits on SIGTERM" || fail "newest process still running"
[ -e "$PIDFILE" ] && fail "pidfile left behind" || pass "pidfile removed"
finish
