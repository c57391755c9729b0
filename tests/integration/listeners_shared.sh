#!/bin/bash
# Shared listener sockets (ProxyConfig spec.listenerSockets), on
# loopback with 2 workers: Shared opens one socket per address (not
# one per worker) and both workers accept from it; SIGHUP adds and
# drops addresses under traffic without a failed connection on the
# addresses it keeps; a worker paused at maxConnections leaves the
# queued connection for later instead of losing it; SIGUSR2 hands the
# shared sockets to the new process; Auto flips to Shared when a
# reload adds enough addresses for the open file limit (run under a
# low `ulimit -n`), and /status and the log say that the addresses it
# kept stay per worker until a restart; back below the threshold,
# /status says PerWorker again; PerWorker still opens one per worker;
# an unknown value is refused.  Every wait polls with a bound; every
# process is stopped by its own pid.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

if [ "${VALGRIND:-0}" = 1 ]; then
	echo "listeners_shared.sh: not under valgrind (it upgrades, which" \
	    "re-executes the binary)"
	exit 77
fi

A=$((RANDOM % 200 + 20))
NET="127.66.$A"
SP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] || { echo "no free port"; exit 1; }
P1=$(backend e1 "$NET.1")
mkdir -p "$TMP/conf"

# conf MODE MAXCONN FIRST LAST: the config with Services s$FIRST..s$LAST
# on $SVC.N:$SP (MODE "" leaves listenerSockets to its default).
conf() {
	local i out="$TMP/conf/.next"
	{
		cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.67.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  drainTimeout: 20s
  workers: 2
  connectionLog: "off"
  maxConnections: $2
YEOF
		[ -z "$1" ] || echo "  listenerSockets: $1"
		cat <<YEOF
---
apiVersion: v1
kind: Pod
metadata: {name: e1, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P1}]}]}
status: {phase: Running, podIP: "$NET.1", conditions: [{type: Ready, status: "True"}]}
YEOF
		for i in $(seq "$3" "$4"); do
			cat <<YEOF
---
apiVersion: v1
kind: Service
metadata: {name: s$i}
spec:
  selector: {app: web}
  clusterIP: 127.67.$((A + i / 250)).$((i % 250 + 1))
  ports: [{port: $SP, targetPort: p}]
YEOF
		done
	} >"$out"
	mv "$out" "$TMP/conf/web.yaml"
}
addr() { echo "127.67.$((A + $1 / 250)).$(($1 % 250 + 1)):$SP"; }
# sockets PID: listening TCP sockets on port $SP that PID holds.
sockets() { ss -Hltnp "sport = :$SP" | grep -c "pid=$1," || true; }
# status PY: evaluate PY on /status (as s) in python.
status() {
	curl -s --max-time 5 "http://$ADM/status" |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
# hup N: SIGHUP, then wait for the N-th successful reload in the log.
hup() {
	kill -HUP "$SP_PID"
	wait_for 30 sh -c "test \$(grep -c 'reload: configuration .* applied' '$LOG') -ge $1" ||
	    { fail "reload $1 not done"; cat "$LOG"; exit 1; }
}

# ---- Shared: one socket per address, both workers accept ----
conf Shared 0 1 4
SVCPROXY="$SVCPROXY" sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf"
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
ADM="127.0.0.1:$(admin_port "$LOG")"
expect "Shared: 4 addresses, 4 sockets (not 8)" 4 "$(sockets "$SP_PID")"
expect "Shared: /status says so" "Shared Shared 4 4" \
    "$(status 's["listenerSockets"]["setting"], s["listenerSockets"]["mode"], s["listenerSockets"]["addresses"], s["listenerSockets"]["sockets"]')"
expect_grep "listeners: 4 addresses, Shared sockets \\(listenerSockets Shared" \
    "$LOG" "Shared: logged at startup"
expect_grep "open file limit [0-9]*: up to .* \\(4 listener sockets open\\)" "$LOG" \
    "the fd budget counts 4 listener sockets"
for i in 1 2 3 4; do
	expect "Shared: served through $(addr $i)" hi \
	    "$(python3 "$TCPTOOL" echo "$(addr $i)" hi)"
done

# One wake-up per connection: 60 connections one after the other wake
# one worker each (EPOLLEXCLUSIVE in the loop's own epoll set), not
# both; through a nested set, about half of them woke the other too.
idle() { status 'sum(w["idleWakeups"] for w in s["listenerSockets"]["workers"])'; }
wake() { status 'sum(w["wakeups"] for w in s["listenerSockets"]["workers"])'; }
i0=$(idle)
k0=$(wake)
python3 - "$(addr 1)" <<'PY'
import socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
for _ in range(60):
	s = socket.create_connection((h, int(p)), timeout=10)
	s.sendall(b"x")
	s.recv(1)
	s.close()
	time.sleep(0.005)
PY
i1=$(idle)
k1=$(wake)
echo "# 60 serial connections: $((k1 - k0)) wake-ups, $((i1 - i0)) idle"
if grep -q "epoll set not found" "$LOG"; then
	echo "ok - # SKIP one wake-up per connection: the loop's epoll set is unknown"
elif [ $((i1 - i0)) -le 6 ]; then
	pass "one wake-up per connection (at most 6 idle of 60)"
else
	fail "thundering herd: $((i1 - i0)) idle wake-ups for 60 connections"
fi

# Traffic on 1..3 through the reloads: 4 goes, 5 and 6 come, 1..3 stay.
STOP="$TMP/stop"
LG=""
for i in 1 2 3; do
	python3 "$LOADGEN" short "$(addr $i)" --threads 2 --stop "$STOP" \
	    --out "$TMP/short$i.out" --ready "$TMP/short$i.ready" &
	LG="$LG $!"
done
PIDS="$PIDS $LG"
wait_for 20 test -s "$TMP/short1.ready" -a -s "$TMP/short2.ready" \
    -a -s "$TMP/short3.ready" || fail "load did not start"
both_accept() {
	test "$(status 'min(w["accepted"] for w in s["listenerSockets"]["workers"])')" -ge 20
}
wait_for 30 both_accept && pass "Shared: both workers accept" ||
    fail "Shared: a worker accepted fewer than 20: $(status 's["listenerSockets"]["workers"]')"
echo "# workers: $(status 's["listenerSockets"]["workers"]')"
NR=0
for round in 1 2 3; do
	conf Shared 0 1 3
	NR=$((NR + 1)); hup $NR
	conf Shared 0 1 6
	NR=$((NR + 1)); hup $NR
done
expect "Shared after reloads: 6 sockets" 6 "$(sockets "$SP_PID")"
for i in 5 6; do
	expect "Shared: served through added $(addr $i)" hi \
	    "$(python3 "$TCPTOOL" echo "$(addr $i)" hi)"
done

# ---- SIGUSR2: the new process adopts the shared sockets ----
BIN="$TMP/bin/svcproxy"
OLD=$SP_PID
kill -USR2 "$OLD"
wait_for 20 sh -c "test \"\$(cat $PIDFILE)\" != $OLD" ||
    { fail "no new process after SIGUSR2"; exit 1; }
NEW=$(cat "$PIDFILE")
PIDS="$PIDS $NEW"
wait_for 20 grep -q "upgrade: process $NEW serves; draining" "$LOG" ||
    fail "old process did not start draining"
wait_for 20 gone "$OLD" && pass "old process exited" || fail "old process still runs"
expect "upgraded: the new process holds 6 sockets" 6 "$(sockets "$NEW")"
touch "$STOP"
for p in $LG; do wait "$p" || true; done
for i in 1 2 3; do
	echo "# short $i: $(head -1 "$TMP/short$i.out")"
	expect "address $i through 6 reloads and an upgrade: none failed" 0 \
	    "$(awk 'NR == 1 { print $4 }' "$TMP/short$i.out")"
	[ "$(awk 'NR == 1 { print $2 }' "$TMP/short$i.out")" -ge 20 ] ||
	    fail "address $i: too few connections"
done
SP_PID=$NEW
expect "upgraded: served" hi "$(python3 "$TCPTOOL" echo "$(addr 5)" hi)"
stop_pids "$NEW"

# ---- a worker at maxConnections: the queued connection waits ----
rm -f "$LOG" "$PIDFILE" "$STOP"
conf Shared 2 1 1
SVCPROXY="$SVCPROXY" sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf"
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
ADM="127.0.0.1:$(admin_port "$LOG")"
H=""
for k in 1 2; do
	python3 "$TCPTOOL" persist "$(addr 1)" "$TMP/held$k.ready" \
	    "$TMP/go$k" >"$TMP/held$k.out" 2>&1 &
	H="$H $!"
	PIDS="$PIDS $!"
	wait_for 20 test -s "$TMP/held$k.ready" || fail "held $k not open"
done
python3 "$TCPTOOL" echo "$(addr 1)" third >"$TMP/third.out" 2>&1 &
T=$!
PIDS="$PIDS $T"
sleep 0.5	# not a wait for a condition: the third must NOT finish
expect "at maxConnections: the third waits in the queue" "" \
    "$(cat "$TMP/third.out")"
touch "$TMP/go1"
wait_for 20 test -s "$TMP/third.out" || true
expect "a slot freed: the queued third is served" third \
    "$(cat "$TMP/third.out")"
touch "$TMP/go2"
stop_pids "$SP_PID"

# ---- PerWorker: one socket per worker ----
rm -f "$LOG" "$PIDFILE"
conf PerWorker 0 1 3
SVCPROXY="$SVCPROXY" sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf"
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
ADM="127.0.0.1:$(admin_port "$LOG")"
expect "PerWorker: 3 addresses, 6 sockets" 6 "$(sockets "$SP_PID")"
expect "PerWorker: /status" "PerWorker 6" \
    "$(status 's["listenerSockets"]["mode"], s["listenerSockets"]["sockets"]')"

# ---- SIGUSR2 from PerWorker to Shared, under traffic ----
# The new process adopts both sockets of each address (closing one
# would reset what is queued on it), each watched by both workers.
rm -f "$STOP"
python3 "$LOADGEN" short "$(addr 1)" --threads 2 --stop "$STOP" \
    --out "$TMP/mix.out" --ready "$TMP/mix.ready" &
LG=$!
PIDS="$PIDS $LG"
wait_for 20 test -s "$TMP/mix.ready" || fail "load did not start"
conf Shared 0 1 3
OLD=$SP_PID
kill -USR2 "$OLD"
wait_for 20 sh -c "test \"\$(cat $PIDFILE)\" != $OLD" ||
    { fail "no new process after SIGUSR2"; exit 1; }
NEW=$(cat "$PIDFILE")
PIDS="$PIDS $NEW"
wait_for 20 gone "$OLD" || fail "old process still runs"
ADM="127.0.0.1:$(admin_port "$LOG")"
expect "PerWorker to Shared: 6 inherited sockets kept, shared" \
    "Shared 6 3" "$(status 's["listenerSockets"]["mode"], s["listenerSockets"]["sockets"], sum(1 for l in s["listeners"] if l.get("shared"))')"
expect "PerWorker to Shared: the new process holds them" 6 \
    "$(sockets "$NEW")"
expect "PerWorker to Shared: /status: 3 addresses wait for a restart" \
    "3 3" \
    "$(status '" ".join(str(s["listenerSockets"]["unconsolidated"][k]) for k in ("addresses", "extraSockets"))')"
expect_grep "listeners: 3 addresses keep the 6 sockets the old process passed \\(3 more than Shared needs\\) until a restart" \
    "$LOG" "PerWorker to Shared: the new process logs it"
for i in 2 3; do
	expect "PerWorker to Shared: served through $(addr $i)" hi \
	    "$(python3 "$TCPTOOL" echo "$(addr $i)" hi)"
done
touch "$STOP"
wait "$LG" || true
echo "# per-worker to shared: $(head -1 "$TMP/mix.out")"
expect "PerWorker to Shared under traffic: none failed" 0 \
    "$(awk 'NR == 1 { print $4 }' "$TMP/mix.out")"
SP_PID=$NEW
stop_pids "$SP_PID"

# ---- Auto: flips to Shared when a reload adds many addresses ----
# Under a limit of 1024 fds, Auto shares past 256 addresses x 2
# workers: 10 addresses stay per worker, 300 more are shared.
rm -f "$LOG" "$PIDFILE"
conf "" 0 1 10
( ulimit -n 1024; SVCPROXY="$SVCPROXY" exec "$SVCPROXY" run -c "$TMP/conf" \
    --pidfile "$PIDFILE" >"$LOG" 2>&1 ) &
SP_PID=$!
PIDS="$PIDS $SP_PID"
wait_for 20 grep -q serving "$LOG" || { fail "Auto: not serving"; cat "$LOG"; exit 1; }
ADM="127.0.0.1:$(admin_port "$LOG")"
expect "Auto, 10 addresses: PerWorker, 20 sockets" "Auto PerWorker 20" \
    "$(status 's["listenerSockets"]["setting"], s["listenerSockets"]["mode"], s["listenerSockets"]["sockets"]')"
python3 "$LOADGEN" short "$(addr 1)" --threads 2 --stop "$STOP" \
    --out "$TMP/auto.out" --ready "$TMP/auto.ready" &
LG=$!
PIDS="$PIDS $LG"
wait_for 20 test -s "$TMP/auto.ready" || fail "load did not start"
conf "" 0 1 310
hup 1
expect "Auto, 310 addresses: flipped to Shared" "Auto Shared 320" \
    "$(status 's["listenerSockets"]["setting"], s["listenerSockets"]["mode"], s["listenerSockets"]["sockets"]')"
expect "Auto: 20 + 300 sockets listening" 320 "$(sockets "$SP_PID")"
# The 10 kept addresses stay per worker until a restart, and say so.
expect "Auto, after the flip: /status names the 10 unconsolidated" \
    "10 10 restart" \
    "$(status '" ".join(str(s["listenerSockets"]["unconsolidated"][k]) for k in ("addresses", "extraSockets", "until"))')"
expect_grep "reload: listeners: 10 addresses keep their 20 per-worker sockets \\(10 more than Shared needs\\) until a restart" \
    "$LOG" "Auto, after the flip: the log says consolidation waits for a restart"
expect "Auto: served through an added address" hi \
    "$(python3 "$TCPTOOL" echo "$(addr 300)" hi)"
conf "" 0 1 5
hup 2
expect "Auto, back to 5 addresses: 10 sockets" 10 "$(sockets "$SP_PID")"
expect "Auto, back to 5 addresses: /status says PerWorker again" \
    "Auto PerWorker 10 False" \
    "$(status 's["listenerSockets"]["setting"], s["listenerSockets"]["mode"], s["listenerSockets"]["sockets"], "unconsolidated" in s["listenerSockets"]')"
touch "$STOP"
wait "$LG" || true
echo "# auto: $(head -1 "$TMP/auto.out")"
expect "Auto: a kept address through the flip: none failed" 0 \
    "$(awk 'NR == 1 { print $4 }' "$TMP/auto.out")"
stop_pids "$SP_PID"

# ---- an unknown value is refused ----
conf Bogus 0 1 1
expect_rc 1 "check refuses listenerSockets: Bogus" \
    "$SVCPROXY" check -c "$TMP/conf"
"$SVCPROXY" check -c "$TMP/conf" >"$TMP/check.out" 2>&1 || true
expect_grep 'spec.listenerSockets: Unsupported value: "Bogus": supported values: "Auto", "PerWorker", "Shared"' \
    "$TMP/check.out" "the error names the field and the values"
finish
