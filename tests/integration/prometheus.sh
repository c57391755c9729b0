#!/bin/bash
# Metrics a real Prometheus accepts: a running svcproxy with traffic,
# health checks (one endpoint up, one down), NetworkPolicy refusals, a
# UDP Service and the DNS server, all at once; `promtool check metrics`
# must report nothing on its /metrics (any lint warning fails).  Then
# Debian's prometheus scrapes it every second, and its HTTP API must
# report the connection counter equal to the connections the test sent.
# The alerting rules in conf/prometheus pass `promtool check rules` and
# their unit tests.  Loopback only, free ports, bounded waits, every
# process stopped by its pid on exit.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=$(realpath "${SVCPROXY:-$top_srcdir/src/svcproxy}")
TOOL="$top_srcdir/tests/integration/tcptool.py"
UDP="$top_srcdir/tests/integration/udptool.py"
WORK=$(mktemp -d /tmp/svcproxy-prom.XXXXXX)
PIDS=()
FAILED=0

. "$top_srcdir/tests/integration/tcp_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null
then
	echo "1..0 # SKIP no promtool/prometheus (.ci/deps --test installs prometheus)"
	exit 77
fi

RULES=$(cd "$top_srcdir/conf/prometheus" && pwd)
echo "# the alerting rules"
if promtool check rules "$RULES/svcproxy.rules.yml" >"$WORK/rules.out" 2>&1
then
	pass "promtool check rules conf/prometheus/svcproxy.rules.yml"
else
	fail "promtool check rules: $(tr '\n' ' ' <"$WORK/rules.out")"
fi
# promtool test rules reads rule_files relative to the test file.
if (cd "$RULES" && promtool test rules svcproxy.rules.test.yml) \
    >"$WORK/rtest.out" 2>&1; then
	pass "promtool test rules: the alerts fire and stay quiet as written"
else
	fail "promtool test rules: $(tr '\n' ' ' <"$WORK/rtest.out" | head -c 600)"
fi

tool() { timeout 30 python3 "$TOOL" --timeout 10 "$@"; }
udp() { timeout 60 python3 "$UDP" "$@"; }

A=$((RANDOM % 200 + 20))
NET="127.41.$A"			# Pod addresses
CIP="127.42.$A.1"		# web's clusterIP
UCIP="127.42.$A.2"		# udp's clusterIP
DNS="127.43.$A.1"		# the DNS server
DENIED="127.44.$A.9"		# a client NetworkPolicy refuses
SP=$(free_port 20000 29999 "$CIP" "$UCIP")
DP=$(free_port 20000 29999 "$DNS")
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
PPORT=$(free_port 30000 39999 127.0.0.1)
[ -n "$SP" ] && [ -n "$DP" ] && [ -n "$PPORT" ] &&
    [ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }

P1=$(backend web-1 echo "$NET.1")
DEAD=$(dead_port "$NET.2")	# web-2: its check fails
ready="$WORK/u.port"
python3 "$UDP" serve --host "$NET.3" --name u1 --ready "$ready" \
    >"$WORK/u1.log" 2>&1 &
echo $! >"$WORK/u1.pid"
wait_file "$ready" || exit 1
PU=$(cat "$ready")

cat >"$WORK/conf.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.42.0.0/16
  adminAddress: $ADMIN
  connectionLog: "off"
  dns: {listen: "$DNS:$DP"}
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
  clusterIP: "$CIP"
  ports:
  - {name: main, port: $SP, targetPort: p}
$(pod web-1 web "$NET.1" "$P1")
$(pod web-2 web "$NET.2" "$DEAD")
---
apiVersion: v1
kind: Service
metadata: {name: udp}
spec:
  selector: {app: udp}
  clusterIP: "$UCIP"
  ports:
  - {name: main, port: $SP, targetPort: p, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata: {name: udp-1, labels: {app: udp}}
spec:
  containers:
  - name: c
    ports: [{name: p, containerPort: $PU, protocol: UDP}]
status:
  phase: Running
  podIP: "$NET.3"
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-one}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - ipBlock: {cidr: 127.0.0.1/32}
YEOF

start_proxy "$WORK/conf.yaml" "$WORK/svcproxy.log"

echo "# traffic, health, refusals, UDP and DNS, all present"
# web-2 fails its check: wait until it is down, so that every
# connection goes to web-1.
ep2="svcproxy_endpoint_health{namespace=\"default\",service=\"web\",port=\"$SP\",protocol=\"TCP\",endpoint=\"$NET.2:$DEAD\"}"
expect "web-2 checked down" 0 "$(wait_mval "$ADMIN" "$ep2" 0 30)"
N=25
ok=0
for i in $(seq 1 $N); do
	[ "$(tool echo "$CIP:$SP" "m$i")" = "m$i" ] && ok=$((ok + 1))
done
expect "$N connections echoed" "$N" "$ok"
expect "a client NetworkPolicy denies is reset" reset \
    "$(tool --source "$DENIED" expect-reset "$CIP:$SP" x)"
expect "UDP echo" "$UCIP:$SP u1:d" "$(udp ask --to "$UCIP:$SP" --msg d)"
if command -v dig >/dev/null; then
	dig +norec +short +time=3 +tries=2 -p "$DP" "@$DNS" \
	    web.default.svc.cluster.local A >"$WORK/dig.out" 2>&1 || true
	expect "DNS answers" "$CIP" "$(head -1 "$WORK/dig.out")"
fi
CONNS=$(portm svcproxy_port_connections_total default web "$SP")
expect "the connection counter" $((N + 1)) \
    "$(wait_mval "$ADMIN" "$CONNS" $((N + 1)))"
curl -sf --max-time 5 "http://$ADMIN/metrics" >"$WORK/metrics.txt"
for s in "svcproxy_port_refused_total{namespace=\"default\",service=\"web\",port=\"$SP\",protocol=\"TCP\",reason=\"policy\"} 1" \
    "$ep2 0" \
    'svcproxy_health_checks_total{' \
    'svcproxy_port_udp_datagrams_total{' \
    'svcproxy_dns_queries_total{'; do
	if grep -qF -- "$s" "$WORK/metrics.txt"; then
		pass "present: $s"
	else
		fail "missing from /metrics: $s"
	fi
done
# Any complaint fails: promtool exits non-zero on lint problems too
# (missing HELP, counters without _total, unit suffixes).
if promtool check metrics <"$WORK/metrics.txt" >"$WORK/lint.out" 2>&1 &&
    [ ! -s "$WORK/lint.out" ]; then
	pass "promtool check metrics reports nothing"
else
	fail "promtool check metrics: $(head -10 "$WORK/lint.out" | tr '\n' ' ')"
fi

echo "# a real Prometheus scrapes svcproxy"
cat >"$WORK/prometheus.yml" <<YEOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
- $RULES/svcproxy.rules.yml
scrape_configs:
- job_name: svcproxy
  static_configs:
  - targets: ["$ADMIN"]
YEOF
prometheus --config.file="$WORK/prometheus.yml" \
    --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address="127.0.0.1:$PPORT" \
    >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
# query EXPR: the first result's value, "none" without one.
query() {
	curl -sf --max-time 5 -G "http://127.0.0.1:$PPORT/api/v1/query" \
	    --data-urlencode "query=$1" 2>/dev/null | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "none")
except Exception:
    print("none")'
}
# wait_query EXPR WANT SECONDS: poll until EXPR is WANT; the last value.
wait_query() {
	local i v
	for i in $(seq 1 $(($3 * 2))); do
		v=$(query "$1")
		[ "$v" = "$2" ] && break
		sleep 0.5
	done
	echo "$v"
}
expect "Prometheus scrapes the target (up == 1)" 1 \
    "$(wait_query 'up{job="svcproxy"}' 1 60)"
expect "Prometheus: connections on web = the connections sent" \
    $((N + 1)) "$(wait_query "$CONNS" $((N + 1)) 30)"
expect "Prometheus: connections relayed to web-1 = the echoes" "$N" \
    "$(wait_query "svcproxy_endpoint_connections_total{service=\"web\",endpoint=\"$NET.1:$P1\"}" "$N" 30)"
M=10
for i in $(seq 1 $M); do
	tool echo "$CIP:$SP" "n$i" >/dev/null
done
expect "Prometheus: the counter follows $M more" $((N + 1 + M)) \
    "$(wait_query "$CONNS" $((N + 1 + M)) 30)"
expect "Prometheus: the policy refusal" 1 "$(wait_query \
    "svcproxy_port_refused_total{service=\"web\",reason=\"policy\"}" 1 10)"
# api PATH PY: PY (a python expression over r, the answer's "data")
# printed, "none" when Prometheus does not answer.
api() {
	curl -sf --max-time 5 "http://127.0.0.1:$PPORT/api/v1/$1" 2>/dev/null |
	    python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]
    print(eval(sys.argv[1]))
except Exception:
    print("none")' "$2"
}
expect "Prometheus: the scrape has no error" "up ''" "$(api targets \
    '" ".join("%s %r" % (t["health"], t["lastError"]) for t in r["activeTargets"])')"
# Rules are "unknown" until their first evaluation (every second).
rules_say() {
	api rules 'str(sum(len(g["rules"]) for g in r["groups"])) + " " + " ".join(sorted(set(x["health"] for g in r["groups"] for x in g["rules"])))'
}
NRULES=$(grep -c '^  - alert:' "$RULES/svcproxy.rules.yml")
for i in $(seq 1 20); do
	v=$(rules_say)
	[ "$v" = "$NRULES ok" ] && break
	sleep 0.5
done
expect "Prometheus: the $NRULES alerting rules load and evaluate (health ok)" \
    "$NRULES ok" "$v"

stop_proxy >/dev/null 2>&1
[ "$FAILED" = 0 ] || { echo "# svcproxy log:"; tail -20 "$WORK/svcproxy.log"; echo "# prometheus log:"; tail -20 "$WORK/prometheus.log"; }
exit "$FAILED"
