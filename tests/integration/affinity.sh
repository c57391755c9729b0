#!/bin/bash
# sessionAffinity: ClientIP through the real binary, on loopback: 4
# backends, 100 clients (each its own 127.77.x.y source, bound before
# connect) x 10 connections: each client always on one backend, and the
# clients spread over all 4; a reload (SIGHUP, with a change) halfway
# keeps every client's backend, but for the clients of the endpoint it
# removes, which get a fresh choice; with timeoutSeconds: 2, the entries
# are gone a little after 2 s idle (/metrics' entry gauge) and come back
# with new connections; an endpoint of weight 0 (svcproxy.io/weight on
# its Pod) takes no new connection.  /metrics passes promtool.  Every
# wait polls with a bound; svcproxy is stopped by its pid, also on
# failure.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"

CLIENTS="$top_srcdir/tests/integration/affinity_clients.py"
A=$((RANDOM % 200 + 20))
NET="127.78.$A"			# Pods
cip() { echo "127.79.$A.$1"; }	# ClusterIPs
SP=$(free_port 20000 29999 127.0.0.1)
APORT=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ -n "$APORT" ] && [ "$SP" != "$APORT" ] ||
    { echo "no free port"; exit 1; }
ADM="127.0.0.1:$APORT"

# id backends: each answers a connection with its name.
idb() {
	local ready="$TMP/$1.port"
	python3 "$TCPTOOL" serve --mode id --host "$2" --name "$1" \
	    --ready "$ready" >"$TMP/$1.log" 2>&1 &
	echo $! >"$TMP/$1.bpid"
	wait_for 20 test -s "$ready" || { echo "backend $1 did not start" >&2; exit 1; }
	cat "$ready"
}
for i in 1 2 3 4 5 6; do
	eval "P$i=\$(idb b$i $NET.$i)"
done

pod() {		# NAME APP IP PORT [WEIGHT]
	local ann=""
	[ -z "${5:-}" ] || ann="  annotations: {svcproxy.io/weight: \"$5\"}"
	cat <<YEOF
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {app: $2}
$ann
spec:
  containers: [{name: c, ports: [{name: p, containerPort: $4}]}]
status:
  phase: Running
  podIP: "$3"
  conditions: [{type: Ready, status: "True"}]
YEOF
}

svc() {		# NAME CLUSTERIP AFFINITY-YAML
	cat <<YEOF
---
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $1}
  clusterIP: "$2"
  ports: [{port: $SP, targetPort: p}]
$3
YEOF
}

# gen RELOADED: the configuration (RELOADED 1: sticky's Pod s4 is gone,
# and one more Service serves).
gen() {
	cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.79.0.0/16
  adminAddress: $ADM
  connectTimeout: 2s
  connectionLog: "off"
YEOF
	svc sticky "$(cip 1)" "  sessionAffinity: ClientIP"
	pod s1 sticky "$NET.1" "$P1"
	pod s2 sticky "$NET.2" "$P2"
	pod s3 sticky "$NET.3" "$P3"
	[ "$1" = 1 ] || pod s4 sticky "$NET.4" "$P4"
	svc short "$(cip 2)" "  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 2}}"
	pod t1 short "$NET.1" "$P1"
	pod t2 short "$NET.2" "$P2"
	pod t3 short "$NET.3" "$P3"
	svc drain "$(cip 3)" ""
	pod d5 drain "$NET.5" "$P5" 0
	pod d6 drain "$NET.6" "$P6"
	if [ "$1" = 1 ]; then
		svc extra "$(cip 4)" ""
		pod e1 extra "$NET.1" "$P1"
	fi
}
gen 0 >"$TMP/conf.yaml"

LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf.yaml" --workers 2
sp_wait_ready "$LOG" "$PIDFILE" 20 || exit 1
PID=$SP_PID
echo "# svcproxy pid $PID, admin $ADM, Service port $SP"

ENTRIES=$(portm svcproxy_port_affinity_entries default sticky "$SP")
SHORT_ENTRIES=$(portm svcproxy_port_affinity_entries default short "$SP")
metric_is() { test "$(mval "$ADM" "$1")" = "$2"; }

# run_clients OUT TARGET N CONNS: the clients' lines into OUT.
run_clients() {
	python3 "$CLIENTS" "$2" 127.77 "$3" "$4" >"$1" ||
	    fail "some connections to $2 failed: $(grep -c -- ' -' "$1") clients"
}
# one_backend OUT: clients whose connections did not all go to one
# backend.
moved() { awk '{ for (i = 3; i <= NF; i++) if ($i != $2) { n++; break } } END { print n + 0 }' "$1"; }
spread() { awk '{ print $2 }' "$1" | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# ---- 100 clients x 5, reload, 100 clients x 5 ----
run_clients "$TMP/r1" "$(cip 1):$SP" 100 5
expect "each client on one backend (first half)" 0 "$(moved "$TMP/r1")"
expect "clients spread over all 4 backends" "b1 b2 b3 b4" "$(spread "$TMP/r1")"
expect_metric "100 entries on /metrics" "$ADM" "$ENTRIES" 100

gen 1 >"$TMP/conf.yaml"
ok0=$(mval "$ADM" 'svcproxy_reloads_total{result="ok"}')
kill -HUP "$PID"
wait_for 20 metric_is 'svcproxy_reloads_total{result="ok"}' $((ok0 + 1)) ||
    fail "reload not applied in 20 s"
expect "the reload applied (extra serves)" b1 \
    "$(python3 "$TCPTOOL" id "$(cip 4):$SP" 2>/dev/null || true)"

run_clients "$TMP/r2" "$(cip 1):$SP" 100 5
expect "each client on one backend (second half)" 0 "$(moved "$TMP/r2")"
join <(awk '{ print $1, $2 }' "$TMP/r1" | sort) \
    <(awk '{ print $1, $2 }' "$TMP/r2" | sort) >"$TMP/r12"
expect "every client of b1-b3 kept its backend across the reload" "" \
    "$(awk '$2 != "b4" && $2 != $3' "$TMP/r12" | head -3)"
n4=$(awk '$2 == "b4"' "$TMP/r12" | wc -l)
gone4=$(awk '$2 == "b4" && $3 != "b4"' "$TMP/r12" | wc -l)
on4=$(awk '$3 == "b4"' "$TMP/r12" | wc -l)
expect "b4's clients (s4 removed by the reload) moved to the others" \
    "$n4 0" "$gone4 $on4"
[ "$n4" -gt 0 ] || fail "no client was on b4 before the reload"
expect "still 100 entries" 100 "$(mval "$ADM" "$ENTRIES")"

# ---- timeoutSeconds: 2 ----
run_clients "$TMP/s1" "$(cip 2):$SP" 100 3
expect "short: each client on one backend" 0 "$(moved "$TMP/s1")"
expect_metric "short: 100 entries" "$ADM" "$SHORT_ENTRIES" 100
t0=$(date +%s.%N)
# Entries expire 2 s after each client's last connection; /metrics
# drops them when it is read.
wait_for 15 metric_is "$SHORT_ENTRIES" 0 ||
    fail "short: entries still $(mval "$ADM" "$SHORT_ENTRIES") after 15 s"
waited=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))")
python3 -c "import sys; sys.exit(0 if $waited >= 1.5 else 1)" &&
    pass "short: entries gone after ${waited} s idle, not before the timeout" ||
    fail "short: entries gone after only ${waited} s (timeout 2 s)"
# Another service's entries do not expire with it.
expect "sticky's entries stay" 100 "$(mval "$ADM" "$ENTRIES")"
run_clients "$TMP/s2" "$(cip 2):$SP" 100 1
expect_metric "short: entries back with new connections" "$ADM" \
    "$SHORT_ENTRIES" 100

# ---- weight 0: drained ----
run_clients "$TMP/d" "$(cip 3):$SP" 20 2
expect "weight 0 takes no connection" "b6" "$(spread "$TMP/d")"
expect "no affinity table without ClientIP" none \
    "$(mval "$ADM" "$(portm svcproxy_port_affinity_entries default drain "$SP")")"
curl -sf --max-time 5 "http://$ADM/metrics" >"$TMP/metrics" ||
    fail "/metrics did not answer"
prom_lint "$TMP/metrics" "/metrics passes promtool"
expect "full counter present, 0" 0 \
    "$(mval "$ADM" "$(portm svcproxy_port_affinity_full_total default sticky "$SP")")"

expect "svcproxy still running" yes "$(alive "$PID" && echo yes || echo no)"
finish
