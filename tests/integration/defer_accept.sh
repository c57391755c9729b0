#!/bin/bash
# TCP_DEFER_ACCEPT (svcproxy.io/defer-accept, README "Deferred accept"),
# on loopback: a server-first backend (a banner, as SMTP or SSH send)
# behind a port without appProtocol gets its banner to the client at
# once; an appProtocol: http port defers: a connection that sends
# nothing is accepted (counted in /metrics) only when the deferral (1 s)
# ends, one to a port forced off at once, and /status says which
# listeners defer; the annotation forces it on (the banner then waits
# the timeout) and off; a reload that flips it reaches the socket it
# keeps, and one that fails after the listeners prepared leaves it as
# it was; a bad value is refused.  Every wait polls with a bound;
# every process is stopped by its own pid.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

A=$((RANDOM % 200 + 20))
NET="127.68.$A"
SVC="127.69.$A"
SP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] || { echo "no free port"; exit 1; }
# The banner backend: tcptool's id mode sends its name first.
python3 "$TCPTOOL" serve --mode id --host "$NET.1" --name banner \
    --ready "$TMP/banner.port" >"$TMP/banner.log" 2>&1 &
echo $! >"$TMP/banner.bpid"
wait_for 20 test -s "$TMP/banner.port" || { echo "no banner backend"; exit 1; }
PB=$(cat "$TMP/banner.port")
PE=$(backend e1 "$NET.2")
mkdir -p "$TMP/conf"

# svc NAME N BACKEND_PORT APP ANNOTATION: a Service on $SVC.N:$SP.
svc() {
	cat <<YEOF
---
apiVersion: v1
kind: Service
metadata:
  name: $1
$( [ -z "$5" ] || printf '  annotations: {svcproxy.io/defer-accept: "%s"}\n' "$5")
spec:
  selector: {app: $1}
  clusterIP: $SVC.$2
  ports: [{port: $SP, targetPort: $3$( [ -z "$4" ] || printf ', appProtocol: %s' "$4")}]
---
apiVersion: v1
kind: Pod
metadata: {name: $1-0, labels: {app: $1}}
spec: {containers: [{name: c, ports: [{containerPort: $3}]}]}
status: {phase: Running, podIP: "$NET.$6", conditions: [{type: Ready, status: "True"}]}
YEOF
}
# conf WEB_ANNOTATION BAD DNS: the whole configuration (DNS:
# spec.dns.listen, none when empty).
conf() {
	{
		cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.69.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  workers: 2
  connectionLog: "off"
YEOF
		[ -z "${3:-}" ] || echo "  dns: {listen: \"$3\"}"
		svc smtp 1 "$PB" "" "" 1
		svc forced 2 "$PB" "" "${2:-true}" 1
		svc web 3 "$PE" http "$1" 2
		svc plain 4 "$PE" http false 2
	} >"$TMP/conf/.next"
	mv "$TMP/conf/.next" "$TMP/conf/web.yaml"
}
# first_byte ADDR: seconds until the first byte from ADDR (no sending).
first_byte() {
	python3 - "$1" <<'PY'
import socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
t0 = time.time()
s = socket.create_connection((h, int(p)), timeout=10)
s.settimeout(10)
d = s.recv(64)
print("%.2f %s" % (time.time() - t0, d.decode().strip()))
PY
}
status() {
	curl -s --max-time 5 "http://$ADM/status" |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
defers() {	# the addresses /status marks deferAccept, sorted
	status '" ".join(sorted(l["address"] for l in s["listeners"] if l.get("deferAccept")))'
}
# accept_delay ADDR NAME: seconds from a silent connect to ADDR until
# Service NAME counts it (polling /metrics; 5 s at most).
accept_delay() {
	python3 - "$1" "http://$ADM/metrics" "service=\"$2\"" <<'PY'
import socket, sys, time, urllib.request
def count():
	body = urllib.request.urlopen(sys.argv[2], timeout=5).read().decode()
	for line in body.splitlines():
		if line.startswith("svcproxy_port_connections_total{") and \
		    sys.argv[3] in line:
			return int(float(line.split()[-1]))
	return 0
h, p = sys.argv[1].rsplit(":", 1)
c0 = count()
s = socket.create_connection((h, int(p)), timeout=10)
t0 = time.time()
while count() == c0 and time.time() - t0 < 5:
	time.sleep(0.01)
print("%.2f" % (time.time() - t0))
PY
}

conf ""
LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf"
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
ADM="127.0.0.1:$(admin_port "$LOG")"

expect "deferred: web (appProtocol http) and forced" \
    "$SVC.2:$SP $SVC.3:$SP" "$(defers)"
out=$(first_byte "$SVC.1:$SP")
echo "# smtp (server first, no appProtocol): $out"
case $out in
0.[0-4]*" banner") pass "server-first port: the banner comes at once" ;;
*) fail "server-first port: banner late or missing: $out" ;;
esac
out=$(first_byte "$SVC.2:$SP")
echo "# forced (defer-accept true): $out"
case $out in
0.[0-7]*) fail "forced on: the banner came before the deferral: $out" ;;
*" banner") pass "forced on: the banner waits for the deferred accept" ;;
*) fail "forced on: no banner: $out" ;;
esac
expect "web: echo served" hi "$(python3 "$TCPTOOL" echo "$SVC.3:$SP" hi)"
# A connection that sends nothing: accepted on the handshake where the
# accept is not deferred, after the deferral (1 s) where it is.
dt=$(accept_delay "$SVC.4:$SP" plain)
echo "# plain (appProtocol http, forced off): accepted after $dt s"
python3 -c "import sys; sys.exit(0 if $dt < 0.6 else 1)" &&
    pass "forced off: a silent connection is accepted at once" ||
    fail "forced off: a silent connection waited $dt s"
dt=$(accept_delay "$SVC.3:$SP" web)
echo "# web (appProtocol http): accepted after $dt s"
python3 -c "import sys; sys.exit(0 if $dt >= 0.9 else 1)" &&
    pass "web: a silent connection is not accepted until the deferral ends" ||
    fail "web: a silent connection was accepted after $dt s (not deferred)"

# A reload that flips web off but fails after the listeners prepared
# (its DNS server cannot bind the echo backend's address): the running
# configuration's socket still defers, and /status says so.
conf false "" "$NET.2:$PE"
kill -HUP "$SP_PID"
wait_for 30 grep -q "reload failed" "$LOG" || fail "the reload did not fail"
expect_grep "cannot prepare the dns" "$LOG" "it failed after the listeners"
expect "after the failed reload: web and forced still defer" \
    "$SVC.2:$SP $SVC.3:$SP" "$(defers)"
dt=$(accept_delay "$SVC.3:$SP" web)
echo "# web after the failed reload: accepted $dt s after the connect"
python3 -c "import sys; sys.exit(0 if $dt >= 0.9 else 1)" &&
    pass "failed reload: web's kept socket still defers" ||
    fail "failed reload: web accepted after $dt s: the refused reload turned it off"

# A reload flips web off: the kept socket follows.
conf false
kill -HUP "$SP_PID"
wait_for 30 grep -q "reload: configuration .* applied" "$LOG" ||
    fail "reload not applied"
expect "after the reload: only forced defers" "$SVC.2:$SP" "$(defers)"
# Accepted on the handshake, well within the deferral (1 s): the kept
# socket lost TCP_DEFER_ACCEPT.
dt=$(accept_delay "$SVC.3:$SP" web)
echo "# web after the reload: accepted $dt s after the connect"
python3 -c "import sys; sys.exit(0 if $dt < 0.6 else 1)" &&
    pass "web forced off by the reload: a silent connection is accepted at once" ||
    fail "web: silent connection accepted only after $dt s (deferred)"
stop_pids "$SP_PID"

conf "" maybe
expect_rc 1 "check refuses defer-accept: maybe" "$SVCPROXY" check -c "$TMP/conf"
"$SVCPROXY" check -c "$TMP/conf" >"$TMP/check.out" 2>&1 || true
expect_grep 'metadata.annotations\[svcproxy.io/defer-accept\]: Unsupported value: "maybe": supported values: "false", "true"' \
    "$TMP/check.out" "the error names the annotation and the values"
finish
