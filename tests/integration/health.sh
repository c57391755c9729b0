#!/bin/bash
# Active health checks in the running proxy, on loopback: a Service of
# three backends checked by TCP connect every 200 ms, rise 1, fall 1.
#   - A backend killed mid-test is logged down within fall x interval +
#     timeout (plus the machine's slack), clients meanwhile all get an
#     answer (connect retry), and once down it is not tried any more
#     (no connect failure counted); restarted on its port, it is logged
#     up within rise x interval and served again.
#   - SIGHUP (a changed configuration) and SIGUSR2 (an upgrade to the
#     same binary) log no transition: a down endpoint stays down (no
#     connect to it), the up ones stay up; the upgrade's new process
#     says it inherited the three states.
#   - Panic: every backend down, connections are still attempted (and
#     fail: the connect failures counter moves), and the log says so.
# Skipped (77) while `svcproxy check` does not know the health-check
# annotations.  Every wait polls with a bound; every process is stopped
# by its own pid.  Not under valgrind (the upgrade re-executes the
# binary).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

if [ "${VALGRIND:-0}" = 1 ]; then
	echo "health.sh: not under valgrind (the upgrade re-executes it)"
	exit 77
fi

A=$((RANDOM % 200 + 20))
NET="127.66.$A"
CIP="127.67.$A.1"
SP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] || { echo "no free port"; exit 1; }

P1=$(idbackend b1 "$NET.1")
P2=$(idbackend b2 "$NET.2")
P3=$(idbackend b3 "$NET.3")
mkdir -p "$TMP/conf"
# conf DRAIN: the configuration (DRAIN only makes a reload's hash new).
conf() {
	cat >"$TMP/conf/.next" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.67.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  drainTimeout: $1
  connectionLog: "off"
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    svcproxy.io/health-check: tcp
    svcproxy.io/health-check-interval: 200ms
    svcproxy.io/health-check-rise: "1"
    svcproxy.io/health-check-fall: "1"
spec:
  selector: {app: web}
  clusterIP: $CIP
  ports: [{port: $SP, targetPort: p}]
YEOF
	for i in 1 2 3; do
		eval "p=\$P$i"
		cat >>"$TMP/conf/.next" <<YEOF
---
apiVersion: v1
kind: Pod
metadata: {name: b$i, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $p}]}]}
status: {phase: Running, podIP: "$NET.$i", conditions: [{type: Ready, status: "True"}]}
YEOF
	done
	mv "$TMP/conf/.next" "$TMP/conf/web.yaml"
}
conf 5s

# The annotations arrive with their parser: until then, skip.
set +e
"$SVCPROXY" check -c "$TMP/conf" >"$TMP/check.out" 2>&1
rc=$?
set -e
if [ "$rc" != 0 ] ||
    grep -q 'Unsupported value: "svcproxy.io/health-check' "$TMP/check.out"; then
	echo "health.sh: svcproxy check does not accept the health-check" \
	    "annotations yet:"
	sed 's/^/#   /' "$TMP/check.out" | head -5
	exit 77
fi

LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf" --workers 2
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
ADM="127.0.0.1:$(admin_port "$LOG")"
FAILS_M="svcproxy_port_connect_failures_total{namespace=\"default\",service=\"web\",port=\"$SP\",protocol=\"TCP\"}"
EP="(default/web:$SP/TCP)"

# transitions: how many transition lines the log has.
transitions() { grep -c "endpoint $NET\.[0-9]*:[0-9]* .* is " "$LOG" || true; }
# logged_in TEXT: wait up to 10 s for TEXT in the log; print the
# milliseconds it took (from the call), or "never" and fail.
logged_in() {
	local t0 n=0
	t0=$(date +%s%N)
	while [ $n -lt 200 ]; do
		if grep -qF -- "$1" "$LOG"; then
			echo $(( ($(date +%s%N) - t0) / 1000000 ))
			return 0
		fi
		sleep 0.05
		n=$((n + 1))
	done
	echo never
	return 1
}
# clients N: N connections in turn; print the names that answered.
clients() {
	local i
	for i in $(seq 1 "$1"); do
		python3 "$TCPTOOL" --timeout 5 id "$CIP:$SP" || true
	done
}

# served_without DESC NAME N: N clients all answered, none by NAME.
served_without() {
	local out
	out=$(clients "$3" | sort | uniq -c | awk '{ print $2 "=" $1 }' |
	    tr '\n' ' ')
	case "$out" in
	*"$2="*)	fail "$1: $2 still served ($out)" ;;
	*)	expect "$1: $3 answers without $2" "$3" \
		    "$(echo "$out" | tr ' =' '\n ' | awk '{ s += $2 } END { print s }')" ;;
	esac
}

for i in 1 2 3; do
	eval "p=\$P$i"
	logged_in "endpoint $NET.$i:$p $EP is up" >/dev/null ||
	    fail "b$i not logged up"
done
expect "three checks" 1 "$(grep -c 'health checks: 3 endpoints checked' "$LOG")"

# ---- a backend dies: out within fall x interval + timeout ----
(clients 20 >"$TMP/during.out") &
CL=$!
kill_backend b2
ms=$(logged_in "endpoint $NET.2:$P2 $EP is down: ") || true
wait $CL || true
echo "# b2 logged down ${ms} ms after the kill (bound 400 ms + slack)"
if [ "$ms" != never ] && [ "$ms" -le 2000 ]; then
	pass "killed backend down in time"
else
	fail "killed backend down after $ms ms"
fi
expect "clients answered while b2 died" 20 \
    "$(grep -c '^b[13]$' "$TMP/during.out" || true)"
f0=$(metric "$ADM" "$FAILS_M")
served_without "b2 down" b2 9
expect "b2 down: no connect to it" "$f0" "$(metric "$ADM" "$FAILS_M")"

# ---- it comes back: in within rise x interval ----
idbackend b2 "$NET.2" "$P2" >/dev/null
ms=$(logged_in "endpoint $NET.2:$P2 $EP is up") || true
echo "# b2 logged up ${ms} ms after its restart (bound 200 ms + slack)"
if [ "$ms" != never ] && [ "$ms" -le 2000 ]; then
	pass "restarted backend up in time"
else
	fail "restarted backend up after $ms ms"
fi
expect "b2 served again" 2 "$(clients 6 | grep -c '^b2$' || true)"

# ---- SIGHUP: nothing flips ----
kill_backend b3
logged_in "endpoint $NET.3:$P3 $EP is down" >/dev/null || fail "b3 not down"
n0=$(transitions)
f0=$(metric "$ADM" "$FAILS_M")
conf 6s
kill -HUP "$SP_PID"
logged_in "reload: configuration" >/dev/null || fail "no reload"
grep -q "reload: configuration .* applied.*, 3 health checks" "$LOG" ||
    fail "reload applied without health checks"
served_without "after SIGHUP" b3 6
expect "after SIGHUP: no connect to b3" "$f0" "$(metric "$ADM" "$FAILS_M")"
sleep 1	# a window of five intervals: a flip would be logged in it
expect "no transition across SIGHUP" "$n0" "$(transitions)"

# ---- SIGUSR2: the new process inherits the states ----
OLD=$SP_PID
kill -USR2 "$OLD"
wait_for 20 sh -c "test -s $PIDFILE && test \"\$(cat $PIDFILE)\" != $OLD" ||
    { fail "no new process after SIGUSR2"; finish; exit 1; }
NEW=$(cat "$PIDFILE")
PIDS="$PIDS $NEW"
SP_PID=$NEW
logged_in "upgrade: process $NEW serves" >/dev/null ||
    fail "old process did not hand over"
expect "new process inherited three states" 1 \
    "$(grep -c 'upgrade: inherited the health of 3 endpoints' "$LOG")"
wait_for 20 gone "$OLD" || fail "old process still runs"
ADM="127.0.0.1:$(admin_port "$LOG")"
served_without "after SIGUSR2" b3 6
expect "after SIGUSR2: no connect to b3" 0 "$(metric "$ADM" "$FAILS_M")"
sleep 1
expect "no transition across SIGUSR2" "$n0" "$(transitions)"

# ---- panic: all down, connections still attempted ----
kill_backend b1
kill_backend b2
logged_in "endpoint $NET.1:$P1 $EP is down" >/dev/null || fail "b1 not down"
logged_in "endpoint $NET.2:$P2 $EP is down" >/dev/null || fail "b2 not down"
f0=$(metric "$ADM" "$FAILS_M")
out=$(clients 2 | tr '\n' ' ')
logged_in "Service port default/web:$SP/TCP: 0 of 3 endpoints healthy: panic" \
    >/dev/null || fail "panic not logged"
expect "panic: clients fail" "reset reset " "$out"
moved=$(python3 -c "print(int('$(metric "$ADM" "$FAILS_M")') - int('$f0'))")
if [ "$moved" -ge 2 ]; then
	pass "panic: connects attempted ($moved failures)"
else
	fail "panic: no connect attempted ($moved failures)"
fi
expect "panic logged once" 1 "$(grep -c ': panic, new connections' "$LOG")"
finish
