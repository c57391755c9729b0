#!/bin/bash
# Admin endpoint under traffic and under attack, on loopback:
#   - /metrics, /status and /healthz polled while connections flow: the
#     counters move, and once the traffic stops they equal what the
#     client counted (connections, bytes each way, per endpoint); /status
#     has `listeners` (address, sockets) and `live` as the README says;
#   - plain HTTP: HEAD, 404, 405, an over-long request (431), HTTP/1.0;
#   - a slowloris (one header byte a second) is closed at the 10 s
#     request deadline, and /healthz answers within 1 s meanwhile;
#   - 100 idle clients: the server holds at most its cap of 64 and
#     closes the oldest, and /healthz answers meanwhile;
#   - out of file descriptors (run under `prlimit --nofile=200`, then the
#     limit lowered below what is open): 300 idle clients cost no CPU
#     and almost no log, /healthz answers while they are held, and the
#     server recovers.
# The CI runs this in the ASan+UBSan build too, which is where a
# misaligned counter array in /metrics aborts the process.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"

for tool in prlimit curl python3; do
	command -v "$tool" >/dev/null ||
	    { echo "not ok - $tool is needed (not skipped: CI needs it)"; exit 1; }
done

A=$((RANDOM % 200 + 20))
NET="127.64.$A"			# Pods
cip() { echo "127.65.$A.$1"; }	# ClusterIPs
SP=$(free_port 20000 29999 127.0.0.1)
SP2=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ -n "$SP2" ] && [ "$SP" != "$SP2" ] ||
    { echo "no free port"; exit 1; }
P1=$(backend e1 "$NET.1")
P2=$(backend e2 "$NET.2")
P3=$(backend e3 "$NET.3")

pod() {		# NAME APP IP PORT
	cat <<YEOF
---
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $2}}
spec:
  containers: [{name: c, ports: [{name: p, containerPort: $4}]}]
status:
  phase: Running
  podIP: "$3"
  conditions: [{type: Ready, status: "True"}]
YEOF
}
svc() {		# NAME CLUSTERIP PORTS-FLOW
	cat <<YEOF
---
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $1}
  clusterIP: "$2"
  ports: $3
YEOF
}
{
	cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.65.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  connectionLog: "off"
YEOF
	svc web "$(cip 1)" "[{name: http, port: $SP, targetPort: p}]"
	pod e1 web "$NET.1" "$P1"
	pod e2 web "$NET.2" "$P2"
	svc other "$(cip 2)" "[{name: a, port: $SP, targetPort: p},
	    {name: b, port: $SP2, targetPort: p}]"
	pod e3 other "$NET.3" "$P3"
} >"$TMP/conf.yaml"

# Clients that misbehave (python, bounded in time).
cat >"$TMP/clients.py" <<'PYEOF'
import os, socket, sys, time

def addr(s):
    h, _, p = s.rpartition(":")
    return h, int(p)

def hold(target, n, ready, stop):
    """n idle connections until stop exists (60 s at most); then how
    many the server has closed."""
    ss = []
    for _ in range(n):
        try:
            ss.append(socket.create_connection(addr(target), timeout=3))
        except OSError:
            break
    with open(ready + ".tmp", "w") as f:
        f.write("%d\n" % len(ss))
    os.rename(ready + ".tmp", ready)
    end = time.monotonic() + 60
    while not os.path.exists(stop) and time.monotonic() < end:
        time.sleep(0.05)
    closed = 0
    for s in ss:
        s.setblocking(False)	# a timeout would wait for data first
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print("held %d closed %d" % (len(ss), closed))

def slow(target, limit):
    """One header byte a second: seconds until the server closed, or
    "open" after limit seconds."""
    s = socket.create_connection(addr(target), timeout=3)
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    t0 = time.monotonic()
    for b in req:
        if time.monotonic() - t0 > limit:
            break
        try:
            s.send(bytes([b]))
            s.settimeout(1.0)
            if s.recv(100) == b"":
                print("closed %.1f" % (time.monotonic() - t0))
                return
            print("answered")
            return
        except socket.timeout:
            continue
        except OSError:
            print("closed %.1f" % (time.monotonic() - t0))
            return
    print("open")

def raw(target, data):
    """Send data as is; print the status line and whether the server
    then closed."""
    s = socket.create_connection(addr(target), timeout=5)
    s.sendall(data.encode().decode("unicode_escape").encode("latin-1"))
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        end = "closed"
    except socket.timeout:
        end = "open"
    print(got.split(b"\r\n")[0].decode(), end)

if sys.argv[1] == "hold":
    hold(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
elif sys.argv[1] == "slow":
    slow(sys.argv[2], float(sys.argv[3]))
else:
    raw(sys.argv[2], sys.argv[3])
PYEOF
clients() { timeout 90 python3 "$TMP/clients.py" "$@"; }

LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
prlimit --nofile=200 "$SVCPROXY" run -c "$TMP/conf.yaml" --workers 2 \
    --pidfile "$PIDFILE" >"$LOG" 2>&1 &
RUNNER=$!
PIDS="$PIDS $RUNNER"
started() { grep -q serving "$LOG" || ! kill -0 "$RUNNER" 2>/dev/null; }
wait_for 30 started && grep -q serving "$LOG" &&
    wait_for 10 test -s "$PIDFILE" ||
    { echo "svcproxy did not start"; cat "$LOG"; exit 1; }
PID=$(cat "$PIDFILE")
PIDS="$PIDS $PID"
ADM="127.0.0.1:$(admin_port "$LOG")"
echo "# svcproxy pid $PID, admin $ADM, Service port $SP"

ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
logsize() { stat -c %s "$LOG"; }
# healthz_ok: /healthz says ok within 1 s (keepalived's --max-time 1).
healthz_ok() {
	test "$(curl -s --max-time 1 "http://$ADM/healthz")" = ok
}
# healthz_tries N: how many of N /healthz, 0.2 s apart, failed.
healthz_tries() {
	local i bad=0
	for i in $(seq 1 "$1"); do
		healthz_ok || bad=$((bad + 1))
		sleep 0.2
	done
	echo "$bad"
}
# m NAME_WITH_LABELS: one value from /metrics ("" when absent).
m() { metric "$ADM" "$1"; }
PL="namespace=\"default\",service=\"web\",port=\"$SP\",protocol=\"TCP\""

# ---- counters under traffic ----
for i in 1 2 3; do
	python3 "$TCPTOOL" echo "$(cip 2):$SP" hi >/dev/null
done
STOP="$TMP/stop"
python3 "$LOADGEN" short "$(cip 1):$SP" --threads 2 --pause 0.005 \
    --stop "$STOP" --out "$TMP/short.out" --ready "$TMP/short.ready" &
L1=$!
PIDS="$PIDS $L1"
wait_for 20 test -s "$TMP/short.ready"
bad=0
for i in $(seq 1 12); do
	for p in metrics status healthz; do
		code=$(curl -s --max-time 5 -o "$TMP/$p.$i" -w '%{http_code}' \
		    "http://$ADM/$p") || true
		[ "$code" = 200 ] || { bad=$((bad + 1)); echo "# /$p: $code"; }
	done
	sleep 0.25
done
touch "$STOP"
wait "$L1" || true
expect "/metrics, /status, /healthz answered 200 during traffic" 0 "$bad"
if ! alive "$PID"; then
	# A sanitizer build aborts on its first report: show it, stop here.
	fail "svcproxy died while /metrics, /status, /healthz were polled"
	grep -E -A12 'runtime error|Sanitizer' "$LOG" | head -40
	finish || exit 1
fi
pass "svcproxy alive after polling under traffic"
N=$(awk 'NR == 1 { print $2 }' "$TMP/short.out")
expect "loadgen: no failed connection" 0 \
    "$(awk 'NR == 1 { print $4 }' "$TMP/short.out")"
echo "# loadgen: $N connections"
# The per-port and process counters, poll by poll: never down, and up.
for i in $(seq 1 12); do
	awk -v pl="svcproxy_port_connections_total{$PL}" \
	    -v bu="svcproxy_port_bytes_total{$PL,direction=\"up\"}" '
	    index($0, pl " ") == 1 { c = $2 }
	    index($0, bu " ") == 1 { b = $2 }
	    /^svcproxy_connections_total / { t = $2 }
	    END { print c + 0, b + 0, t + 0 }' "$TMP/metrics.$i"
done >"$TMP/series"
python3 - "$TMP/series" <<'PYEOF' >"$TMP/series.verdict"
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
ok = all(rows[i][k] <= rows[i + 1][k] for i in range(len(rows) - 1)
         for k in range(3))
moved = all(rows[-1][k] > rows[0][k] for k in range(3))
print("monotonic" if ok else "went down", "moved" if moved else "stuck",
      rows[0], rows[-1])
PYEOF
expect_grep '^monotonic moved' "$TMP/series.verdict" \
    "connections_total and bytes_total rose during traffic ($(cat "$TMP/series.verdict"))"
# Once the clients are done, the relays close too (bounded).
wait_for 10 test "$(m "svcproxy_port_connections_total{$PL}")" = "$N" || true
wait_for 10 test "$(m "svcproxy_port_connections_active{$PL}")" = 0 || true
expect "port connections_total = loadgen's count" "$N" \
    "$(m "svcproxy_port_connections_total{$PL}")"
expect "port bytes up = 256 per connection" $((256 * N)) \
    "$(m "svcproxy_port_bytes_total{$PL,direction=\"up\"}")"
expect "port bytes down = 256 per connection" $((256 * N)) \
    "$(m "svcproxy_port_bytes_total{$PL,direction=\"down\"}")"
expect "process connections_total = loadgen's + 3" $((N + 3)) \
    "$(m svcproxy_connections_total)"
expect "process bytes up = loadgen's + 3 x 2" $((256 * N + 6)) \
    "$(m 'svcproxy_bytes_total{direction="up"}')"
e1=$(m "svcproxy_endpoint_connections_total{$PL,endpoint=\"$NET.1:$P1\"}")
e2=$(m "svcproxy_endpoint_connections_total{$PL,endpoint=\"$NET.2:$P2\"}")
expect "endpoint totals add up to the port's" "$N" $((e1 + e2))

curl -s --max-time 5 "http://$ADM/status" >"$TMP/status.final"
expect "/status is one valid JSON document (json.tool)" 0 \
    "$(python3 -m json.tool "$TMP/status.final" >/dev/null 2>&1; echo $?)"
python3 - "$TMP/status.final" "$PID" "$N" "$(cip 1)" "$(cip 2)" "$SP" "$SP2" \
    "$NET.1:$P1" "$NET.2:$P2" "$NET.3:$P3" "$TMP"/status.[0-9]* \
    <<'PYEOF' >"$TMP/status.verdict"
import json, sys
final, pid, n, c1, c2, sp, sp2 = sys.argv[1:8]
pid, n, sp, sp2 = int(pid), int(n), int(sp), int(sp2)
e1, e2, e3 = sys.argv[8:11]
d = json.load(open(final))
errs = []
def want(what, exp, got):
    if exp != got:
        errs.append("%s: want %r, got %r" % (what, exp, got))
want("resolve services", ["other", "web"],
     sorted(s["name"] for s in d["services"]))
p = d["process"]
want("process.pid", pid, p["pid"])
want("process.workers", 2, p["workers"])
want("process.connectionsTotal", n + 3, p["connectionsTotal"])
want("listeners", sorted([("%s:%d" % (c1, sp), 2), ("%s:%d" % (c2, sp), 2),
     ("%s:%d" % (c2, sp2), 2)]),
     sorted((l["address"], l["sockets"]) for l in d["listeners"]))
live = {l["service"]: l for l in d["live"]}
want("live ports", sorted(["default/web:%d" % sp, "default/other:%d" % sp,
     "default/other:%d" % sp2]), sorted(live))
w = live.get("default/web:%d" % sp, {})
want("web total", n, w.get("total"))
want("web active", 0, w.get("active"))
want("web bytesUp", 256 * n, w.get("bytesUp"))
want("web bytesDown", 256 * n, w.get("bytesDown"))
want("web connectFailures", 0, w.get("connectFailures"))
eps = {e["address"]: e for e in w.get("endpoints", [])}
want("web endpoints", sorted([e1, e2]), sorted(eps))
want("web endpoint totals", n, sum(e["total"] for e in eps.values()))
# Bytes per endpoint (the status page's column) add up to the port's.
want("web endpoint bytesUp", 256 * n,
     sum(e.get("bytesUp", 0) for e in eps.values()))
want("web endpoint bytesDown", 256 * n,
     sum(e.get("bytesDown", 0) for e in eps.values()))
for a, e in eps.items():
    if not e["total"] > 0 or e["state"] != "usable" or e["active"] != 0:
        errs.append("endpoint %s: %r" % (a, e))
    # Not checked, never ejected: up, with no check or ejection members.
    if e.get("health") != "up" or "check" in e or "ejected" in e or \
            "ejections" in e:
        errs.append("endpoint %s health: %r" % (a, e))
for l in d["live"]:
    want("%s panic" % l["service"], False, l.get("panic"))
o = live.get("default/other:%d" % sp, {})
want("other total", 3, o.get("total"))
want("other bytesUp", 6, o.get("bytesUp"))
want("other endpoints", [e3], [e["address"] for e in o.get("endpoints", [])])
# Polled during the traffic: web's total moved between polls.
seen = []
for f in sys.argv[11:]:
    try:
        s = json.load(open(f))
    except ValueError as e:
        errs.append("%s: not JSON: %s" % (f, e))
        continue
    seen += [l["total"] for l in s["live"]
             if l["service"] == "default/web:%d" % sp]
if len(set(seen)) < 2:
    errs.append("web total did not move across polls: %r" % seen)
print("ok" if not errs else "; ".join(errs))
PYEOF
expect "/status: resolve, process, listeners, live match the traffic" ok \
    "$(cat "$TMP/status.verdict")"

# Health, as /metrics says it: unchecked endpoints are up, no port in
# panic, nothing ejected; and the whole text passes promtool.
expect "endpoint health: unchecked is up (1)" "1 1" \
    "$(m "svcproxy_endpoint_health{$PL,endpoint=\"$NET.1:$P1\"}") $(m \
    "svcproxy_endpoint_health{$PL,endpoint=\"$NET.2:$P2\"}")"
expect "endpoint ejections: 0" 0 \
    "$(m "svcproxy_endpoint_ejections_total{$PL,endpoint=\"$NET.1:$P1\"}")"
expect "port panic: 0" 0 "$(m "svcproxy_port_panic{$PL}")"
expect "no active check: no check series" 0 \
    "$(grep -c '^svcproxy_health_checks_total{' "$TMP/metrics.12" || true)"
prom_lint "$TMP/metrics.12" "/metrics passes promtool check metrics"

# ---- plain HTTP ----
expect "HEAD /healthz: headers only" "200 Content-Length: 3 body 0" \
    "$(curl -s --max-time 5 -I -w 'body %{size_download}' \
    "http://$ADM/healthz" | tr -d '\r' | awk '/^HTTP/ { c = $2 }
    /^Content-Length/ { l = $0 } /^body/ { b = $0 } END { print c, l, b }')"
expect "POST: 405" 405 "$(curl -s --max-time 5 -o /dev/null \
    -w '%{http_code}' -X POST "http://$ADM/healthz")"
expect "unknown path: 404" 404 "$(curl -s --max-time 5 -o /dev/null \
    -w '%{http_code}' "http://$ADM/nope")"
expect "query string: /healthz?requireEndpoints=1" ok \
    "$(curl -s --max-time 5 "http://$ADM/healthz?requireEndpoints=1")"
expect "HTTP/1.0, bare LF line ends" "HTTP/1.1 200 OK closed" \
    "$(clients raw "$ADM" 'GET /healthz HTTP/1.0\n\n')"
long=$(head -c 9000 /dev/zero | tr '\0' a)
expect "request over 8 KiB: 431" \
    "HTTP/1.1 431 Request Header Fields Too Large closed" \
    "$(clients raw "$ADM" "GET /healthz HTTP/1.1\\r\\nX: $long\\r\\n\\r\\n")"

# ---- a slowloris: closed at the request deadline ----
clients slow "$ADM" 16 >"$TMP/slow.out" &
SLOW=$!
PIDS="$PIDS $SLOW"
sleep 1
bad=0 n=0
while kill -0 "$SLOW" 2>/dev/null && [ "$n" -lt 40 ]; do
	healthz_ok || bad=$((bad + 1))
	n=$((n + 1))
	sleep 0.5
done
wait "$SLOW" || true
echo "# slowloris: $(cat "$TMP/slow.out"); $n /healthz meanwhile"
python3 -c 'import sys; w = sys.argv[1].split()
sys.exit(not (w[0] == "closed" and 9.0 <= float(w[1]) <= 12.5))' \
    "$(cat "$TMP/slow.out") x" &&
    pass "slowloris closed at the 10 s deadline ($(cat "$TMP/slow.out"))" ||
    fail "slowloris not closed at the deadline: $(cat "$TMP/slow.out")"
[ "$bad" -le 1 ] && [ "$n" -ge 5 ] &&
    pass "/healthz answered within 1 s during the slowloris ($bad of $n failed)" ||
    fail "/healthz during the slowloris: $bad of $n failed"
expect "slowloris counted: closed_total{reason=\"deadline\"}" 1 \
    "$(m 'svcproxy_admin_closed_total{reason="deadline"}')"

# ---- the connection cap ----
# hold N TAG: N idle clients in the background, until $TMP/TAG.stop.
hold() {
	rm -f "$TMP/$2.ready" "$TMP/$2.stop"
	clients hold "$ADM" "$1" "$TMP/$2.ready" "$TMP/$2.stop" \
	    >"$TMP/$2.out" &
	HOLD=$!
	PIDS="$PIDS $HOLD"
	wait_for 30 test -s "$TMP/$2.ready" || true
}
unhold() {
	touch "$TMP/$1.stop"
	wait "$HOLD" || true
}
fds0=$(nfds "$PID")
cap0=$(m 'svcproxy_admin_closed_total{reason="cap"}')
hold 100 cap
fds1=$(nfds "$PID")
bad=$(healthz_tries 3)
conns=$(m svcproxy_admin_connections)
unhold cap
echo "# cap: $(cat "$TMP/cap.out"); fds $fds0 -> $fds1"
[ "$bad" -le 1 ] && pass "/healthz answered with 100 idle clients ($bad of 3 failed)" ||
    fail "/healthz with 100 idle clients: $bad of 3 failed"
closed=$(awk '{ print $4 }' "$TMP/cap.out")
[ "${closed:-0}" -ge 36 ] &&
    pass "past the cap of 64 the oldest idle clients were closed ($closed of 100)" ||
    fail "idle clients past the cap not closed: $(cat "$TMP/cap.out")"
[ "$fds1" -le $((fds0 + 66)) ] &&
    pass "admin fds bounded by the cap ($fds0 -> $fds1)" ||
    fail "admin fds not bounded: $fds0 -> $fds1"
[ -n "$conns" ] && [ "$conns" -le 65 ] &&
    pass "svcproxy_admin_connections at most the cap ($conns)" ||
    fail "svcproxy_admin_connections: '${conns}'"
[ "$(m 'svcproxy_admin_closed_total{reason="cap"}')" -ge $((cap0 + 36)) ] &&
    pass "closed at the cap: counted" || fail "closed at the cap: not counted"

# ---- out of file descriptors ----
# attack N TAG: hold N idle clients, measure CPU ticks and log growth
# over 2 s of it, try /healthz 3 times meanwhile; sets T, LB (log bytes
# of the whole attack) and HBAD.
attack() {
	local t0 l0
	l0=$(logsize)
	hold "$1" "$2"
	sleep 0.3
	t0=$(ticks)
	sleep 2
	T=$(( $(ticks) - t0 ))
	HBAD=$(healthz_tries 3)
	unhold "$2"
	LB=$(( $(logsize) - l0 ))
	echo "# $2: $(cat "$TMP/$2.out"); $T ticks in 2 s held, $LB log bytes in all; /healthz $HBAD of 3 failed"
}
# verdict WHAT: the CPU and the log stayed small, svcproxy lives.
verdict() {
	[ "$T" -le 30 ] && pass "$1: CPU stays low ($T ticks in 2 s)" ||
	    fail "$1: CPU $T ticks in 2 s (spinning)"
	[ "$LB" -le 16384 ] && pass "$1: log stays small ($LB bytes)" ||
	    fail "$1: log grew $LB bytes"
	expect "$1: svcproxy alive" 0 "$(alive "$PID" && echo 0 || echo 1)"
}

# 1. prlimit --nofile=200 and 300 idle clients: the cap keeps the
# admin server within its share of the fds.
attack 300 fd200
verdict "300 idle clients at --nofile=200"
[ "$HBAD" -le 1 ] && pass "300 idle clients at --nofile=200: /healthz answered while held" ||
    fail "300 idle clients at --nofile=200: /healthz $HBAD of 3 failed while held"
wait_for 5 healthz_ok && pass "/healthz after the 300 idle clients" ||
    fail "/healthz after the 300 idle clients"

# 2. The limit lowered below what is open (as if something else took
# the fds): accept(2) fails with EMFILE; idle clients make room.
lowest_free() {
	ls "/proc/$PID/fd" | sort -n | awk '$1 == n { n++ } END { print n + 0 }'
}
lim=$(( $(lowest_free) + 4 ))
prlimit --pid "$PID" --nofile="$lim:200"
attack 300 emfile
prlimit --pid "$PID" --nofile=200:200
verdict "300 idle clients out of fds (limit $lim)"
[ "$HBAD" -le 1 ] && pass "out of fds: /healthz answered while 300 idle clients were held" ||
    fail "out of fds: /healthz $HBAD of 3 failed while held"
wait_for 5 healthz_ok && pass "/healthz after the limit is back" ||
    fail "/healthz after the limit is back"

# 3. No fd at all: accepting pauses (and retries) instead of spinning.
paused0=$(m svcproxy_admin_accept_paused_total)
lim=$(lowest_free)
prlimit --pid "$PID" --nofile="$lim:200"
attack 50 nofd
prlimit --pid "$PID" --nofile=200:200
verdict "no fd left (limit $lim)"
wait_for 5 healthz_ok && pass "/healthz once fds are back" ||
    fail "/healthz once fds are back"
[ "$(m svcproxy_admin_accept_paused_total)" -gt "${paused0:-0}" ] &&
    pass "accept pauses counted" || fail "accept pauses not counted"

# ---- stop ----
kill -TERM "$PID"
wait_for 15 sh -c "! kill -0 $PID 2>/dev/null" &&
    pass "svcproxy stopped on SIGTERM" || fail "svcproxy did not stop"
n=$(grep -cE 'runtime error|AddressSanitizer|LeakSanitizer' "$LOG" || true)
expect "no sanitizer report" 0 "$n"
[ "$n" = 0 ] || grep -E -A12 'runtime error|Sanitizer' "$LOG" | head -40
finish
