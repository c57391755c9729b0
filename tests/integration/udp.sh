#!/bin/bash
# UDP Services (relay_udp.c): echo through every listener kind, v4 and
# v6; replies from the address the client sent to; 1,000 flows from
# distinct sources; idle expiry; the flow bound; re-choice after a
# reload drops an endpoint; NetworkPolicy; SIGUSR2 with a steady
# client.  Loopback only, bounded waits, every process killed on exit.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=$(realpath "${SVCPROXY:-$top_srcdir/src/svcproxy}")
UDP="$top_srcdir/tests/integration/udptool.py"
WORK=$(mktemp -d /tmp/svcproxy-udp.XXXXXX)
PIDS=()
FAILED=0

. "$top_srcdir/tests/integration/tcp_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

udp() { timeout 60 python3 "$UDP" "$@"; }
# ubackend NAME HOST [DELAY_MS]: a UDP echo server answering
# "NAME:<datagram>", each reply DELAY_MS after its request.
ubackend() {
	local ready="$WORK/$1.port"
	python3 "$UDP" serve --host "$2" --name "$1" --ready "$ready" \
	    --delay "${3:-0}" >"$WORK/$1.log" 2>&1 &
	echo $! >"$WORK/$1.pid"
	wait_file "$ready" || exit 1
	cat "$ready"
}
# upod NAME APP IP PORT: a ready Pod serving UDP container port "p".
upod() {
	printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, labels: {app: %s}}\n' "$1" "$2"
	printf 'spec:\n  containers:\n  - name: c\n    ports: [{name: p, containerPort: %s, protocol: UDP}]\n' "$4"
	printf 'status:\n  phase: Running\n  podIP: "%s"\n  conditions: [{type: Ready, status: "True"}]\n' "$3"
}
# ustatus SVC: the "flows" object of SVC's UDP port in /status, as
# "active total expired limited datagramsUp datagramsDown bytesUp
# bytesDown" ("none" when the port or its flows are missing).
ustatus() {
	curl -sf --max-time 5 "http://$ADMIN/status" | python3 -c '
import json, sys
want = "default/%s:%s" % (sys.argv[1], sys.argv[2])
for p in json.load(sys.stdin)["liveUdp"]:
    if p["service"] == want and p["protocol"] == "UDP" and "flows" in p:
        f = p["flows"]
        print(" ".join(str(f[k]) for k in ("active", "total", "expired",
            "limited", "datagramsUp", "datagramsDown", "bytesUp",
            "bytesDown")))
        break
else:
    print("none")' "$1" "$SP"
}
# um NAME SVC [EXTRA]: a UDP Service port's series.
um() {
	echo "$1{namespace=\"default\",service=\"$2\",port=\"$SP\",protocol=\"UDP\"${3:+,$3}}"
}

A=$((RANDOM % 200 + 20))
B=$((RANDOM % 200 + 20))
NET4="127.14.$A"		# Pod addresses
CIP="127.11.$A.$B"
LBIP="127.12.$A.$B"
EXTIP="127.13.$A.$B"
CLI="127.15.$A.7"		# a client's own address
SP=$(udp freeport 20000 29999 127.0.0.1 ::1)
NP=$(udp freeport 30000 32767 0.0.0.0 ::)
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ -n "$NP" ] && [ "$ADMIN" != 127.0.0.1: ] ||
    { echo "no free port"; exit 1; }

P_E1=$(ubackend e1 "$NET4.1")
P_E2=$(ubackend e2 "$NET4.2")
P_SIX=$(ubackend six ::1)
P_SLOW=$(ubackend slow "$NET4.3" 300)

# conf FILE IDLE MAXFLOWS [ENDPOINTS...]: the whole configuration.  A
# drain keeps UDP flows until idle: $DRAIN (3 s) bounds each stop.
conf() {
	local f=$1 idle=$2 max=$3 e
	shift 3
	{
		cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.11.0.0/16
  adminAddress: $ADMIN
  connectionLog: info
  udpIdleTimeout: $idle
  udpMaxFlows: $max
  drainTimeout: ${DRAIN:-3s}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  type: LoadBalancer
  selector: {app: echo}
  clusterIP: $CIP
  externalIPs: [$EXTIP]
  loadBalancerIP: $LBIP
  ports:
  - {name: main, port: $SP, targetPort: p, protocol: UDP, nodePort: $NP}
---
apiVersion: v1
kind: Service
metadata: {name: six}
spec:
  selector: {app: six}
  ipFamilies: [IPv6]
  clusterIP: "::1"
  ports:
  - {name: main, port: $SP, targetPort: p, protocol: UDP}
EOF
		for e in "$@"; do
			case $e in
			e1) upod echo-1 echo "$NET4.1" "$P_E1" ;;
			e2) upod echo-2 echo "$NET4.2" "$P_E2" ;;
			slow) upod echo-3 echo "$NET4.3" "$P_SLOW" ;;
			esac
		done
		upod six-1 six ::1 "$P_SIX"
	} >"$f"
}

CONF="$WORK/conf.yaml"
conf "$CONF" 30s 0 e1
WORKERS=2 start_proxy "$CONF" "$WORK/run1.log"

echo "# every listener kind"
expect "ClusterIP" "$CIP:$SP e1:a" "$(udp ask --to "$CIP:$SP" --msg a)"
expect "NodePort" "127.0.0.1:$NP e1:b" "$(udp ask --to "127.0.0.1:$NP" --msg b)"
expect "LoadBalancer" "$LBIP:$SP e1:c" "$(udp ask --to "$LBIP:$SP" --msg c)"
expect "externalIP" "$EXTIP:$SP e1:d" "$(udp ask --to "$EXTIP:$SP" --msg d)"
expect "IPv6 ClusterIP" "[::1]:$SP six:e" "$(udp ask --to "[::1]:$SP" --msg e)"

echo "# the reply leaves from the address the client sent to"
# The client is bound to 127.15.x.7 and sends to the ClusterIP: the
# reply's source (recvfrom) must be the ClusterIP and port, although
# the route back to the client would pick another source.
expect "reply source" "$CIP:$SP e1:f" \
    "$(udp ask --bind "$CLI" --to "$CIP:$SP" --msg f)"
# The NodePort listens on 0.0.0.0 (no nodeAddresses): a datagram to any
# loopback address reaches it, and the reply must come from that
# address (IP_PKTINFO), not from the one routing would choose.
ODD="127.17.$A.9"
expect "reply source on a wildcard listener" "$ODD:$NP e1:g" \
    "$(udp ask --bind "$CLI" --to "$ODD:$NP" --msg g)"

echo "# 1,000 concurrent flows from distinct sources"
expect "1000 flows, each its own reply" 1000 \
    "$(udp many --to "$CIP:$SP" --net "127.16" --n 1000 --secs 40)"
expect_metric_in "flows counted" "$ADMIN" "$(um svcproxy_port_udp_flows_total echo)" 1004 1100
curl -sf --max-time 5 "http://$ADMIN/metrics" >"$WORK/metrics.txt"
prom_lint "$WORK/metrics.txt" "/metrics with UDP series passes promtool"

stop_proxy

# ---- idle expiry (8 s) and the flow bound: one worker, 3 flows ----
# ask1 PORT MSG [TRIES [TIMEOUT]]: one request from the client address's
# port PORT to the ClusterIP.
ask1() { udp ask --bind "$CLI" --port "$1" --to "$CIP:$SP" --msg "$2" \
    --tries "${3:-5}" --timeout "${4:-1}"; }
C1=$(udp freeport 40000 49990 "$CLI")
C2=$((C1 + 1)); C3=$((C1 + 2)); C4=$((C1 + 3))
conf "$CONF" 8s 3 e1
WORKERS=1 start_proxy "$CONF" "$WORK/run2.log"
FLOWS=$(um svcproxy_port_udp_flows echo)
LIMITED=$(um svcproxy_port_udp_flows_limited_total echo)
EXPIRED=$(um svcproxy_port_udp_flows_expired_total echo)
expect "flow 1" "$CIP:$SP e1:1" "$(ask1 "$C1" 1)"
expect "flow 2" "$CIP:$SP e1:2" "$(ask1 "$C2" 2)"
expect "flow 3" "$CIP:$SP e1:3" "$(ask1 "$C3" 3)"
expect_metric "3 flows open" "$ADMIN" "$FLOWS" 3
# Counted per batch, not when a flow closes: the open flows' traffic
# is there already (3 requests, 3 replies; more only if ask resent).
# Read once, not polled: a poll would wait for the flows to expire.
# now_in DESC SERIES LO HI
now_in() {
	local v
	v=$(mval "$ADMIN" "$2")
	[ -n "$v" ] && [ "$v" -ge "$3" ] 2>/dev/null && [ "$v" -le "$4" ] &&
	    pass "$1 ($v)" || fail "$1: '$v' not in [$3, $4]"
}
now_in "open flows: datagrams up counted" \
    "$(um svcproxy_port_udp_datagrams_total echo 'direction="up"')" 3 6
now_in "open flows: datagrams down counted" \
    "$(um svcproxy_port_udp_datagrams_total echo 'direction="down"')" 3 6
now_in "open flows: bytes down counted" \
    "$(um svcproxy_port_bytes_total echo 'direction="down"')" 12 24
expect "open flows: still open then" 3 "$(mval "$ADMIN" "$FLOWS")"
expect "a 4th flow is dropped at the bound" timeout "$(ask1 "$C4" 4 2 0.3)"
expect_metric_in "the bound is counted" "$ADMIN" "$LIMITED" 1 2
grep -q "UDP flows (the bound): new flows to default/echo:$SP dropped" \
    "$WORK/run2.log" && pass "the bound is logged" ||
    fail "the bound is not logged"
expect "an existing flow still works at the bound" "$CIP:$SP e1:again" \
    "$(ask1 "$C1" again)"
read -r S_ACT S_TOT S_EXP S_LIM _ < <(ustatus echo)
expect "/status: 3 flows active, 3 in all, none expired" "3 3 0" \
    "$S_ACT $S_TOT $S_EXP"
[ "${S_LIM:-0}" -ge 1 ] 2>/dev/null &&
    pass "/status: the bound is counted ($S_LIM)" ||
    fail "/status: limited is '${S_LIM:-}'"
# Idle for 8 s (room for a slow run of the steps above, which must all
# happen while flow 1 lives): every flow expires (within a sweep).
expect "flows expire when idle" 0 "$(wait_mval "$ADMIN" "$FLOWS" 0 30)"
expect_metric "expiry counted" "$ADMIN" "$EXPIRED" 3
# 4 requests and 4 replies in all (more only if a slow run made ask
# resend).
expect_metric_in "datagrams up counted" "$ADMIN" \
    "$(um svcproxy_port_udp_datagrams_total echo 'direction="up"')" 4 8
expect_metric_in "datagrams down counted" "$ADMIN" \
    "$(um svcproxy_port_udp_datagrams_total echo 'direction="down"')" 4 8
grep -q "flow client=$CLI:$C1 local=$CIP:$SP service=default/echo:$SP endpoint=$NET4.1:$P_E1 datagrams_up=2 datagrams_down=2 .* reason=idle" \
    "$WORK/run2.log" && pass "an expired flow is logged" ||
    fail "no log line for an expired flow"
read -r S_ACT S_TOT S_EXP S_LIM S_DU S_DD S_BU S_BD < <(ustatus echo)
expect "/status: after expiry, 0 active and 3 expired" "0 3 3" \
    "$S_ACT $S_TOT $S_EXP"
expect "/status: datagrams and bytes match /metrics" \
    "$(mval "$ADMIN" "$(um svcproxy_port_udp_datagrams_total echo 'direction="up"')") $(mval "$ADMIN" "$(um svcproxy_port_udp_datagrams_total echo 'direction="down"')") $(mval "$ADMIN" "$(um svcproxy_port_bytes_total echo 'direction="up"')") $(mval "$ADMIN" "$(um svcproxy_port_bytes_total echo 'direction="down"')")" \
    "$S_DU $S_DD $S_BU $S_BD"
expect "a new flow after expiry" "$CIP:$SP e1:4" "$(ask1 "$C4" 4)"

echo "# a reload that drops the flow's endpoint"
expect "flow on e1" "$CIP:$SP e1:x" "$(ask1 "$C1" x)"
conf "$CONF" 8s 3 e2
kill -HUP "$PROXY"
wait_for_log() {
	local i
	for i in $(seq 1 200); do
		grep -q "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}
wait_for_log "reload: configuration .* applied" "$WORK/run2.log" ||
    fail "no reload"
expect "its next datagram reaches the remaining endpoint" \
    "$CIP:$SP e2:y" "$(ask1 "$C1" y)"
stop_proxy

echo "# per-Service idle timeouts and udp-responses"
# Three Services on one global timeout (30 s): "short" (2 s) and "long"
# (10 s) by svcproxy.io/udp-idle-timeout, each flow expiring at its own
# time; "once" with svcproxy.io/udp-responses 1 on the 300 ms endpoint.
SHORT="127.11.$A.$((B + 1))"
LONG="127.11.$A.$((B + 2))"
ONCE="127.11.$A.$((B + 3))"
# asvc NAME IP APP ANNOTATIONS: a UDP Service.
asvc() {
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  annotations: {%s}\n' "$1" "$4"
	printf 'spec:\n  selector: {app: %s}\n  clusterIP: %s\n  ports:\n  - {name: main, port: %s, targetPort: p, protocol: UDP}\n' "$3" "$2" "$SP"
}
{
	cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.11.0.0/16
  adminAddress: $ADMIN
  connectionLog: info
  udpIdleTimeout: 30s
  drainTimeout: 3s
EOF
	asvc short "$SHORT" echo '"svcproxy.io/udp-idle-timeout": "2s"'
	asvc long "$LONG" echo '"svcproxy.io/udp-idle-timeout": "10s"'
	asvc once "$ONCE" slow '"svcproxy.io/udp-responses": "1"'
	upod echo-1 echo "$NET4.1" "$P_E1"
	upod slow-1 slow "$NET4.3" "$P_SLOW"
} >"$CONF"
WORKERS=1 start_proxy "$CONF" "$WORK/run5.log"
T0=$(now)
expect "short" "$SHORT:$SP e1:s" "$(udp ask --to "$SHORT:$SP" --msg s)"
expect "long" "$LONG:$SP e1:l" "$(udp ask --to "$LONG:$SP" --msg l)"
expect "short's flow expires" 0 \
    "$(wait_mval "$ADMIN" "$(um svcproxy_port_udp_flows short)" 0 20)"
# Upper bounds with room for a loaded machine; the lower ones are the
# point.
between "short expires after its own 2 s" "$(since "$T0")" 1.5 8
expect "long's flow is still open then" 1 \
    "$(mval "$ADMIN" "$(um svcproxy_port_udp_flows long)")"
expect "long's flow expires" 0 \
    "$(wait_mval "$ADMIN" "$(um svcproxy_port_udp_flows long)" 0 20)"
between "long expires after its own 10 s" "$(since "$T0")" 9.5 18

OF=$(um svcproxy_port_udp_flows once)
OT=$(um svcproxy_port_udp_flows_total once)
C5=$(udp freeport 40000 49990 "$CLI")
expect "udp-responses 1: the reply" "$ONCE:$SP slow:1" \
    "$(udp ask --bind "$CLI" --port "$C5" --to "$ONCE:$SP" --msg 1)"
# Closed by its reply, not by the 30 s idle timeout.
expect "udp-responses 1: the flow ends with its reply" 0 \
    "$(wait_mval "$ADMIN" "$OF" 0 5)"
grep -q "flow client=$CLI:$C5 local=$ONCE:$SP service=default/once:$SP .* reason=responses" \
    "$WORK/run5.log" && pass "udp-responses: the close is logged" ||
    fail "udp-responses: no log line with reason=responses"
expect "udp-responses 1: the next datagram is a new flow" "$ONCE:$SP slow:2" \
    "$(udp ask --bind "$CLI" --port "$C5" --to "$ONCE:$SP" --msg 2)"
expect_metric "udp-responses 1: two flows in all" "$ADMIN" "$OT" 2
# nginx's proxy_responses: N replies per request, so three requests
# sent at once on one flow all get their answer (the endpoint answers
# 300 ms late: a close after the first reply would lose two).
expect "udp-responses 1: three requests on one flow, three replies" 3 \
    "$(udp burst --bind "$CLI" --port "$((C5 + 1))" --to "$ONCE:$SP" --n 3)"
stop_proxy

echo "# one fd budget for TCP connections and UDP flows"
# Under a 200-fd limit (ulimit -n, set in the wrapper's shell) the
# data path has one budget of F fds: 2 per TCP connection, 1 per UDP
# flow.  Flows filling it must leave TCP accepts paused and counted,
# never failing with EMFILE, and connections filling it must leave new
# flows dropped and counted, never failing socket(2) with EMFILE.
TOOL="$top_srcdir/tests/integration/tcptool.py"
P_T=$(backend tcpe echo "$NET4.1")
printf '#!/bin/sh\nulimit -n 200 || exit 1\nexec "$@"\n' >"$WORK/lowfd"
chmod +x "$WORK/lowfd"
TCIP="127.11.$A.$((B + 4))"
{
	cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.11.0.0/16
  adminAddress: $ADMIN
  connectionLog: "off"
  udpIdleTimeout: 10s
  drainTimeout: 3s
---
apiVersion: v1
kind: Service
metadata: {name: tcp}
spec:
  selector: {app: tcp}
  clusterIP: $TCIP
  ports:
  - {name: main, port: $SP, targetPort: t}
---
apiVersion: v1
kind: Pod
metadata: {name: tcp-1, labels: {app: tcp}}
spec:
  containers:
  - name: c
    ports: [{name: t, containerPort: $P_T}]
status:
  phase: Running
  podIP: "$NET4.1"
  conditions: [{type: Ready, status: "True"}]
EOF
	asvc echo "$CIP" echo ''
	upod echo-1 echo "$NET4.1" "$P_E1"
} >"$CONF"
WORKERS=1 WRAP="$WORK/lowfd" start_proxy "$CONF" "$WORK/run6.log"
LIM=$(sed -n 's/.*open file limit 200: up to \([0-9]*\) connections.*/\1/p' \
    "$WORK/run6.log")
FDS=$((${LIM:-0} * 2))
TL=$(echo "svcproxy_port_limited_total{namespace=\"default\",service=\"tcp\",port=\"$SP\",protocol=\"TCP\"}")
UL=$(um svcproxy_port_udp_flows_limited_total echo)
if [ -z "$LIM" ]; then
	fail "fd budget: no 'up to N connections' in the log"
else
	pass "fd budget: $FDS fds, $LIM connections"
	# Two rounds (a resend after 1 s), well within the 10 s the
	# answered flows then stay open.
	GOT=$(udp many --to "$CIP:$SP" --net 127.18 --n $((FDS + 20)) --secs 2)
	[ "$GOT" -le "$FDS" ] && [ "$GOT" -ge $((FDS - 5)) ] &&
	    pass "fd budget: UDP flows fill it ($GOT of $((FDS + 20)) answered)" ||
	    fail "fd budget: $GOT of $((FDS + 20)) flows answered, want about $FDS"
	expect_metric_in "fd budget: the dropped flows are counted" "$ADMIN" \
	    "$UL" 1 1000000
	expect "fd budget: a TCP client waits while flows hold the budget" \
	    timeout "$(timeout 10 python3 "$TOOL" --timeout 1 echo "$TCIP:$SP" hi)"
	expect_metric_in "fd budget: the paused accept is counted" "$ADMIN" \
	    "$TL" 1 1000
	expect "fd budget: the flows expire" 0 \
	    "$(wait_mval "$ADMIN" "$(um svcproxy_port_udp_flows echo)" 0 20)"
	expect "fd budget: then TCP is served" "hi" \
	    "$(timeout 20 python3 "$TOOL" --timeout 10 echo "$TCIP:$SP" hi)"
	# Connections fill it: LIM held, echoing.
	rm -f "$WORK/fdb.in"
	mkfifo "$WORK/fdb.in"
	exec 8<>"$WORK/fdb.in"
	timeout 60 python3 "$TOOL" --timeout 20 hold "$TCIP:$SP" "$LIM" \
	    "$WORK/fdb.ready" <"$WORK/fdb.in" 8>&- >"$WORK/fdb.out" 2>&1 &
	FDH=$!
	PIDS+=($FDH)
	wait_file "$WORK/fdb.ready"
	U0=$(mval "$ADMIN" "$UL")
	expect "fd budget: a new flow is dropped while connections hold it" \
	    timeout "$(udp ask --to "$CIP:$SP" --msg full --tries 2 --timeout 0.5)"
	U1=$(mval "$ADMIN" "$UL")
	[ "${U1:-0}" -gt "${U0:-0}" ] &&
	    pass "fd budget: the dropped flow is counted ($U0 -> $U1)" ||
	    fail "fd budget: the dropped flow is not counted ($U0 -> $U1)"
	grep -q "open file budget .* is spent: new flows to default/echo:$SP dropped" \
	    "$WORK/run6.log" && pass "fd budget: the drop is logged" ||
	    fail "fd budget: the drop is not logged"
	exec 8>&-
	wait $FDH
	expect "fd budget: the held connections all echo" \
	    "held $LIM alive $LIM" "$(cat "$WORK/fdb.out")"
	expect "fd budget: then a flow is served" "$CIP:$SP e1:free" \
	    "$(udp ask --to "$CIP:$SP" --msg free)"
fi
N_EMFILE=$(grep -c "Too many open files" "$WORK/run6.log")
expect "fd budget: no EMFILE on either side" 0 "$N_EMFILE"
[ "$N_EMFILE" = 0 ] || grep "Too many open files" "$WORK/run6.log" | head -3
stop_proxy

echo "# svcproxy.io/udp-max-flows: a bound per Service port, every worker"
# Two workers share one count per port (a count per worker would let
# up to twice the bound in).  Another Service without the annotation
# is not bounded.
{
	cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.11.0.0/16
  adminAddress: $ADMIN
  connectionLog: info
  udpIdleTimeout: 20s
  drainTimeout: 3s
EOF
	asvc capped "$SHORT" echo '"svcproxy.io/udp-max-flows": "3"'
	asvc free "$LONG" echo ''
	upod echo-1 echo "$NET4.1" "$P_E1"
} >"$CONF"
WORKERS=2 start_proxy "$CONF" "$WORK/run7.log"
C6=$(udp freeport 40000 49990 "$CLI")
for i in 0 1 2; do
	expect "udp-max-flows 3: flow $((i + 1))" "$SHORT:$SP e1:m$i" \
	    "$(udp ask --bind "$CLI" --port $((C6 + i)) --to "$SHORT:$SP" --msg "m$i")"
done
expect_metric "udp-max-flows 3: 3 flows open" "$ADMIN" \
    "$(um svcproxy_port_udp_flows capped)" 3
# The kernel spreads the 8 over both workers; one of them holds at most
# one of the 3 flows, so a count per worker would let some in.
expect "udp-max-flows 3: 8 more clients, none served" 0 \
    "$(udp many --to "$SHORT:$SP" --net 127.19 --n 8 --secs 2)"
expect_metric_in "udp-max-flows 3: the drops are counted" "$ADMIN" \
    "$(um svcproxy_port_udp_flows_limited_total capped)" 8 100
grep -q "Service port default/capped:$SP has 3 UDP flows (its bound, svcproxy.io/udp-max-flows): new flows dropped" \
    "$WORK/run7.log" && pass "udp-max-flows: the bound is logged" ||
    fail "udp-max-flows: the bound is not logged"
NL=$(grep -c "its bound, svcproxy.io/udp-max-flows" "$WORK/run7.log")
[ "$NL" -le 6 ] && pass "udp-max-flows: the log line is rate-limited ($NL)" ||
    fail "udp-max-flows: $NL log lines"
expect "udp-max-flows: an open flow keeps working" "$SHORT:$SP e1:again" \
    "$(udp ask --bind "$CLI" --port "$C6" --to "$SHORT:$SP" --msg again)"
expect "udp-max-flows: another Service is not bounded" 8 \
    "$(udp many --to "$LONG:$SP" --net 127.19 --n 8 --secs 5)"
stop_proxy

echo "# NetworkPolicy denies the UDP port"
conf "$CONF" 4s 0 e1
cat >>"$CONF" <<NPEOF
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-10}
spec:
  podSelector: {matchLabels: {app: echo}}
  policyTypes: [Ingress]
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]
    ports: [{protocol: UDP, port: p}]
NPEOF
WORKERS=1 start_proxy "$CONF" "$WORK/run3.log"
expect "a denied client gets nothing" timeout "$(ask1 "$C2" no 2 0.5)"
expect_metric_in "the denial is counted" "$ADMIN" \
    "$(um svcproxy_port_refused_total echo 'reason="policy"')" 1 2
grep -q "flow client=$CLI:$C2 .* reason=policy-denied" "$WORK/run3.log" &&
    pass "the denial is logged" || fail "the denial is not logged"
expect "the unrestricted Service still serves" "[::1]:$SP six:ok" \
    "$(udp ask --to "[::1]:$SP" --msg ok)"
stop_proxy

echo "# SIGUSR2: a client sending every 10 ms loses nothing"
# The endpoint answers each datagram 300 ms late, so about 30 replies
# are on their way to the old process when it hands its listeners
# over: it must keep its flows (and its copy of the listener, to send
# from) until they are idle, or those replies are lost.
DRAIN=20s conf "$CONF" 2s 0 slow
WORKERS=2 start_proxy "$CONF" "$WORK/run4.log"
OLD=$PROXY
udp steady --to "$CIP:$SP" --ms 10 --secs 4 >"$WORK/steady.out" &
STEADY=$!
PIDS+=($STEADY)
sleep 1
kill -USR2 "$OLD"
for i in $(seq 1 200); do
	NEW=$(cat "$WORK/pid" 2>/dev/null)
	[ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && break
	sleep 0.1
done
PIDS+=($NEW)
[ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && pass "a new process after SIGUSR2" ||
    fail "no new process after SIGUSR2"
wait "$STEADY"
read -r SENT GOT <"$WORK/steady.out"
[ "${SENT:-0}" -ge 200 ] && pass "the steady client sent $SENT" ||
    fail "the steady client sent only ${SENT:-0}"
expect "every datagram answered through the upgrade" "${SENT:-0}" "${GOT:-0}"
# The old process ends once its flows are idle (2 s), well before the
# drain timeout (20 s).
for i in $(seq 1 200); do
	kill -0 "$OLD" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$OLD" 2>/dev/null && fail "the old process still runs" ||
    pass "the old process exits once its flows are idle"
grep -q "flow client=.* reason=listener-closed" "$WORK/run4.log" &&
    fail "the old process closed its flows at the hand-over" ||
    pass "the old process kept its flows through the hand-over"
grep -q "drain timeout" "$WORK/run4.log" &&
    fail "the old process needed the drain timeout"
expect "the new process serves the kept port" "$CIP:$SP slow:after" \
    "$(udp ask --to "$CIP:$SP" --msg after)"
# Not this shell's child: stop it by its pid and poll.
kill -TERM "$NEW"
for i in $(seq 1 300); do
	kill -0 "$NEW" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$NEW" 2>/dev/null && fail "the new process did not stop"
exit $FAILED
