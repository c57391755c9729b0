#!/bin/bash
# A reload that takes seconds must not starve the admin endpoint: a
# keepalived check (curl --max-time 1, fall 2) would move the address
# away from a proxy that serves fine.  A large valid configuration (tens
# of thousands of Pods) is loaded; during a reload of it /healthz (and
# every fifth time /metrics) is requested every 50 ms: each /healthz must
# answer 200 within LAT_MAX seconds, each /metrics 200 within the
# client's 1 s, and the log must show that the reload was under way the
# whole time and then applied.  Then a SIGTERM during another long
# reload must stop svcproxy at once (exit 0), without applying it.
#
# NPODS sizes the configuration: by default a reload of 2 s or more in
# a gcc build, and in an ASan build (about ten times slower) a smaller
# one of a few seconds, so that the test stays well under a minute.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

if [ "${VALGRIND:-0}" = 1 ]; then
	echo "SKIP: far too slow under valgrind"
	exit 77
fi
SLOW=1 PODS=50000 LAT=0.25 STOP_MAX=3	# STOP_MAX: from SIGTERM to exit
if nm "$SVCPROXY" 2>/dev/null | grep -q __asan_init; then
	# Its exit frees and scans for leaks hundreds of MiB.
	SLOW=4 PODS=10000 LAT=0.5 STOP_MAX=8
fi
NPODS=${NPODS:-$PODS}
LAT_MAX=${LAT_MAX:-$LAT}

A=$((RANDOM % 200 + 20))
cip() { echo "127.62.$A.$1"; }
SP=$(free_port 20000 29999 "$(cip 1)" "$(cip 2)" "$(cip 3)")
ADMP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ -n "$ADMP" ] || { echo "no free port"; exit 1; }
ADM="127.0.0.1:$ADMP"

mkdir -p "$TMP/conf"
# bulk.yaml: two proxied Services of 250 Pods each, and NPODS - 500
# more Pods behind four headless Services (resolved, not served: they
# cost a reload its time without adding thousands of /metrics series).
python3 - "$TMP/conf/bulk.yaml" "$NPODS" "$A" "$SP" <<'PYEOF'
import sys
out, npods, a, sp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
svcs = [("front-0", f"127.62.{a}.1", 250), ("front-1", f"127.62.{a}.2", 250)]
rest = max(npods - 500, 0)
svcs += [(f"bulk-{k}", "None", rest // 4) for k in range(4)]
i = 0
with open(out, "w") as w:
    for name, cip, n in svcs:
        w.write(f"""---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
  labels: {{app: {name}}}
spec:
  clusterIP: {cip}
  selector: {{app: {name}}}
  ports:
  - {{name: http, port: {sp}, protocol: TCP, targetPort: http}}
""")
        for p in range(n):
            w.write(f"""---
apiVersion: v1
kind: Pod
metadata:
  name: {name}-{p}
  namespace: default
  labels:
    app: {name}
    pod-template-hash: 7d9c6b8f4
    tier: backend
  annotations:
    example.com/build: "b-{i}"
spec:
  containers:
  - name: app
    image: registry.example.com/app:1.2.3
    ports:
    - {{name: http, containerPort: 8080, protocol: TCP}}
status:
  phase: Running
  podIP: 127.63.{i // 250 % 250}.{i % 250 + 1}
  conditions:
  - {{type: Ready, status: "True"}}
""")
            i += 1
PYEOF
# main.yaml VARIANT: ProxyConfig and a small Service whose targetPort
# differs by variant, so each variant is a new configuration.
gen_main() {
	cat >"$TMP/conf/.next" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.62.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: "$ADM"
  drainTimeout: 2s
  connectionLog: "off"
---
apiVersion: v1
kind: Service
metadata: {name: marker}
spec:
  clusterIP: "$(cip 3)"
  selector: {app: marker}
  ports: [{port: $SP, targetPort: $((8000 + $1))}]
YEOF
	mv "$TMP/conf/.next" "$TMP/conf/main.yaml"
}
gen_main 1
echo "# configuration: $(du -sh "$TMP/conf" | cut -f1), $NPODS Pods"

LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
"$SVCPROXY" run -c "$TMP/conf" --workers 2 --pidfile "$PIDFILE" \
    >"$LOG" 2>&1 &
RUNNER=$!
PIDS="$PIDS $RUNNER"
wait_for $((60 * SLOW)) grep -q "serving" "$LOG" ||
    { echo "svcproxy did not start"; tail -20 "$LOG"; exit 1; }
wait_for 10 test -s "$PIDFILE"
PID=$(cat "$PIDFILE")
expect "pidfile names the process started" "$RUNNER" "$PID"
expect "healthz before" ok "$(curl -s --max-time 5 "http://$ADM/healthz")"
hwm() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$PID/status"; }
hwm0=$(hwm)

# poll OUT STOP: /healthz every 50 ms (every fifth request /metrics), one
# line per request: start time, seconds taken, status (0: no answer).
cat >"$TMP/poll.py" <<'PYEOF'
import http.client, os, sys, time
host, port, out, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
end = time.time() + float(sys.argv[5])
k = 0
with open(out, "w") as f:
    while time.time() < end and not os.path.exists(stop):
        path = "/metrics" if k % 5 == 4 else "/healthz"
        k += 1
        t0 = time.time()
        status = 0
        try:
            c = http.client.HTTPConnection(host, port, timeout=1)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            status = r.status
            c.close()
        except Exception:
            pass
        t1 = time.time()
        f.write("%.3f %.4f %d %s\n" % (t0, t1 - t0, status, path))
        f.flush()
        if t1 - t0 < 0.05:
            time.sleep(0.05 - (t1 - t0))
PYEOF

# ---- /healthz during a long reload ----
python3 "$TMP/poll.py" 127.0.0.1 "$ADMP" "$TMP/poll.out" "$TMP/poll.stop" \
    $((120 * SLOW)) &
POLLER=$!
PIDS="$PIDS $POLLER"
wait_for 10 test -s "$TMP/poll.out"
gen_main 2
kill -HUP "$PID"
# A second SIGHUP during the reload: one more (unchanged) after it.
sleep 0.5
kill -HUP "$PID"
wait_for $((60 * SLOW)) grep -q "configuration .* applied" "$LOG" ||
    fail "reload not applied within $((60 * SLOW)) s"
sleep 0.3
touch "$TMP/poll.stop"
wait "$POLLER" || true
expect "reload applied" 1 "$(metric "$ADM" 'svcproxy_reloads_total{result="ok"}')"
hwm1=$(hwm)
expect_grep 'reload requested during a reload: again after it' "$LOG" \
    "a SIGHUP during the reload was kept for later"
unchanged_is() {
	test "$(metric "$ADM" 'svcproxy_reloads_total{result="unchanged"}')" = 1
}
wait_for $((60 * SLOW)) unchanged_is &&
    pass "then the reload asked for during it ran: unchanged" ||
    fail "no reload after the one under way"
grep -E "reload: |error" "$LOG" | sed 's/^/# /' | head -10

# The polls from the "loading" line to the "applied" one, against the
# log's timestamps (UTC, milliseconds).
python3 - "$LOG" "$TMP/poll.out" "$LAT_MAX" >"$TMP/verdict" <<'PYEOF'
import calendar, sys, time
log, polls, lat_max = sys.argv[1], sys.argv[2], float(sys.argv[3])
def ts(line):
    s = line.split()[0]		# 2026-11-29T20:11:01.716Z
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + \
        int(s[20:23]) / 1000.0
t_load = t_done = None
for line in open(log):
    if t_load is None and "reload: loading" in line:
        t_load = ts(line)
    elif t_load is not None and t_done is None and " applied:" in line:
        t_done = ts(line)
rows = [l.split() for l in open(polls)]
rows = [(float(a), float(b), int(c), d) for a, b, c, d in rows]
during = [r for r in rows if t_load is not None and t_done is not None
          and t_load <= r[0] <= t_done]
# /metrics does work in proportion to the endpoints: only the client's
# timeout applies to it.
bad = [r for r in rows if r[2] != 200 or
       (r[3] == "/healthz" and r[1] > lat_max)]
def slowest(rs, path):
    return 1000 * max([r[1] for r in rs if r[3] == path] or [0])
print("reload_ms %d" % (1000 * (t_done - t_load) if during else 0))
print("polls %d" % len(rows))
print("during %d" % len(during))
print("healthz_ms %d" % slowest(during, "/healthz"))
print("metrics_ms %d" % slowest(during, "/metrics"))
print("bad %d" % len(bad))
for r in bad[:5]:
    print("# slow or failed: %s after %.3f s: status %d" % (r[3], r[1], r[2]))
PYEOF
v() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/verdict"; }
grep '^#' "$TMP/verdict" || true
echo "# reload took $(v reload_ms) ms; $(v polls) requests, $(v during) during it; slowest then: /healthz $(v healthz_ms) ms, /metrics $(v metrics_ms) ms"
echo "# peak RSS (VmHWM): $hwm0 MiB after start, $hwm1 MiB after the reload"
[ "$(v during)" -ge 10 ] &&
    pass "the reload was under way for $(v during) requests ($(v reload_ms) ms)" ||
    fail "too few requests during the reload ($(v during) in $(v reload_ms) ms): not a test"
expect "every /healthz answered 200 within ${LAT_MAX}s, every /metrics 200" \
    0 "$(v bad)"
expect_grep 'reload: .* loaded in [0-9]+ ms, snapshot built in [0-9]+ ms \(on the reload thread\)' \
    "$LOG" "the load ran on the reload thread"
expect "healthz after" ok "$(curl -s --max-time 5 "http://$ADM/healthz")"

# ---- SIGTERM during a long reload ----
gen_main 3
kill -HUP "$PID"
nloading() { test "$(grep -c 'reload: loading' "$LOG")" = "$1"; }
wait_for 10 nloading 3 ||
    fail "third reload did not start"
sleep 0.2
expect "third reload still loading at SIGTERM" 2 \
    "$(grep -cE 'loaded in|configuration unchanged' "$LOG" || true)"
t0=$(date +%s%N)
kill -TERM "$PID"
n=0
while kill -0 "$PID" 2>/dev/null && [ $n -lt $((200 * SLOW)) ]; do
	sleep 0.05
	n=$((n + 1))
done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
rc=0
if kill -0 "$PID" 2>/dev/null; then
	fail "still running $ms ms after SIGTERM"
else
	wait "$RUNNER" || rc=$?
fi
echo "# exit $ms ms after SIGTERM during a reload"
[ "$ms" -lt $((STOP_MAX * 1000)) ] &&
    pass "SIGTERM during a reload: stopped in $ms ms" ||
    fail "SIGTERM during a reload: stopped after $ms ms (max ${STOP_MAX}s)"
expect "SIGTERM during a reload: exit status" 0 "$rc"
expect "the interrupted reload was not applied" 1 \
    "$(grep -c 'configuration .* applied' "$LOG" || true)"
expect_grep 'stopped' "$LOG" "svcproxy logged its stop"
finish
