#!/bin/bash
# Failover with keepalived, in network namespaces this test creates and
# deletes: two svcproxy nodes (A primary, B backup), each with its own
# keepalived tracking its /healthz, share a VIP; a client and the
# backend live in a third namespace holding the bridge of the private
# 10.250.N.0/24 network (never routed anywhere).  svcproxy on A is
# stopped: its /healthz fails, the VIP moves to B, and new connections
# to the VIP succeed again; the time it took is printed.  B binds the
# VIP before holding it (IP_FREEBIND).
#
# Skips (77) without root, without `ip netns`, or without keepalived
# (.ci/deps --ha installs it).  Not run under valgrind.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}

skip() { echo "SKIP: failover.sh: $*"; exit 77; }
[ "${VALGRIND:-0}" = 1 ] && skip "not under valgrind"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "iproute2 (ip) not installed"
KEEPALIVED=$(command -v keepalived || echo /usr/sbin/keepalived)
[ -x "$KEEPALIVED" ] || skip "keepalived not installed (.ci/deps --ha)"
command -v curl >/dev/null || skip "curl not installed"

. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

TAG="sp$$"
NSA="$TAG-a" NSB="$TAG-b" NSC="$TAG-c"
NET="10.250.$((RANDOM % 250 + 1))"
VIP="$NET.100"
SP=8080
VRID=$((RANDOM % 200 + 20))

netns_cleanup() {
	ha_cleanup
	for ns in "$NSA" "$NSB" "$NSC"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	true
}
trap netns_cleanup EXIT INT TERM

ip netns add "$NSC" 2>/dev/null || skip "cannot create network namespaces"
ip netns add "$NSA"
ip netns add "$NSB"
inc() { ip netns exec "$NSC" "$@"; }
inc ip link set lo up
inc ip link add br0 type bridge
inc ip addr add "$NET.1/24" dev br0
inc ip link set br0 up
i=2
for ns in "$NSA" "$NSB"; do
	ip -n "$NSC" link add "v$i" type veth peer name eth0 netns "$ns"
	ip -n "$NSC" link set "v$i" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$NET.$i/24" dev eth0
	ip -n "$ns" link set eth0 up
	i=$((i + 1))
done

PB=$(backend be "$NET.1" ip netns exec "$NSC")

# node NAME NS IP PRIO: svcproxy and keepalived for one node.
node() {
	local name=$1 ns=$2 ip=$3 prio=$4 d="$TMP/$1"
	mkdir -p "$d/conf"
	cat >"$d/conf/svc.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 10.96.0.0/16
  nodeAddresses: ["$ip"]
  adminAddress: 127.0.0.1:9180
  drainTimeout: 2s
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.10
  externalIPs: ["$VIP"]
  ports: [{port: $SP, targetPort: $PB}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: $PB}]
endpoints: [{addresses: ["$NET.1"], conditions: {ready: true}}]
YEOF
	ip netns exec "$ns" "$SVCPROXY" run -c "$d/conf" --workers 1 \
	    >"$d/svcproxy.log" 2>&1 &
	eval "SVC_$name=$!"
	PIDS="$PIDS $!"
	sed -e "s|192.0.2.100/24|$VIP/24|" \
	    -e "s/virtual_router_id 51/virtual_router_id $VRID/" \
	    -e "s/priority 150/priority $prio/" \
	    -e "s|/usr/bin/curl|$(command -v curl)|" \
	    "$top_srcdir/conf/keepalived.conf" >"$d/keepalived.conf"
	ip netns exec "$ns" "$KEEPALIVED" -n -l -D -P -f "$d/keepalived.conf" \
	    -p "$d/k.pid" -r "$d/kv.pid" >"$d/keepalived.log" 2>&1 &
	PIDS="$PIDS $!"
}
node A "$NSA" "$NET.2" 150
node B "$NSB" "$NET.3" 100

holds_vip() { ip -n "$1" -o addr show dev eth0 | grep -q " $VIP/"; }
wait_for 20 holds_vip "$NSA" || {
	fail "A did not take the VIP"
	cat "$TMP/A/keepalived.log" "$TMP/A/svcproxy.log" | tail -30
	finish
	exit 1
}
pass "A (priority 150, healthy) holds the VIP"
holds_vip "$NSB" && fail "B holds the VIP too" || pass "B does not hold the VIP"
grep -q "serving 1 Service ports" "$TMP/B/svcproxy.log" &&
    pass "B serves the VIP before holding it (IP_FREEBIND)" ||
    fail "B could not bind the VIP: $(tail -3 "$TMP/B/svcproxy.log")"
expect "client reaches the VIP" hi \
    "$(inc python3 "$TCPTOOL" echo "$VIP:$SP" hi)"
expect "A healthy" 200 "$(ip netns exec "$NSA" curl -s -o /dev/null \
    -w '%{http_code}' --max-time 2 http://127.0.0.1:9180/healthz)"

# healthz_a: the status of A's /healthz (000: nothing answered); the
# body goes to $TMP/hz.body.
healthz_a() {
	: >"$TMP/hz.body"
	ip netns exec "$NSA" curl -s -o "$TMP/hz.body" -w '%{http_code}' \
	    --max-time 2 http://127.0.0.1:9180/healthz || true
}
# running PID: PID is a live process (not gone, not a zombie).
running() {
	[ -r "/proc/$1/stat" ] &&
	    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# A connection held through A keeps it draining (drainTimeout 2s)
# rather than exiting at once: its /healthz must say so meanwhile.
inc python3 "$TCPTOOL" --timeout 10 persist "$VIP:$SP" "$TMP/hold.ready" \
    "$TMP/hold.go" >"$TMP/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
wait_for 10 test -s "$TMP/hold.ready" && pass "a connection held through A" ||
    fail "no connection held through A"

# ---- stop A's svcproxy ----
t0=$(date +%s.%N)
kill -TERM "$SVC_A"
# Until A's main loop has seen the signal it still answers 200: poll.
code=200
for i in $(seq 1 100); do
	code=$(healthz_a)
	[ "$code" != 200 ] && break
	sleep 0.05
done
if [ "$code" = 000 ] && ! running "$SVC_A"; then
	fail "A's /healthz: the process is gone, it did not drain"
else
	expect "A's /healthz while draining: 503" 503 "$code"
	expect "A's /healthz while draining: the reason" \
	    "unhealthy: draining" "$(cat "$TMP/hz.body")"
fi
# A draining has closed its listeners: from now on, connect until the
# VIP answers again (beside the checks of A below).
t1=$(date +%s.%N)
inc python3 "$LOADGEN" until-ok "$VIP:$SP" --timeout 20 >"$TMP/took" 2>&1 &
UNTIL=$!
PIDS="$PIDS $UNTIL"
# Then the drain ends (drainTimeout 2s): A exits 0 and nothing answers.
wait_for 15 eval '! running "$SVC_A"' &&
    pass "A exits once drained" || fail "A still runs after its drain"
rc=0
wait "$SVC_A" || rc=$?
expect "A's exit status after the drain" 0 "$rc"
expect "A's /healthz once A is gone: no answer (000), not a status" 000 \
    "$(healthz_a)"
touch "$TMP/hold.go"
wait "$HOLD" || true
wait "$UNTIL" || true
took=$(cat "$TMP/took")
case $took in
[0-9]*)
	took=$(python3 -c "print('%.2f' % ($t1 - $t0 + $took))")
	echo "# new connections to the VIP succeed again after $took s"
	python3 -c "import sys; sys.exit(not ($took <= 10))" &&
	    pass "failover within 10 s" || fail "failover took too long"
	;;
*)	fail "the VIP never answered again ($took)" ;;
esac
holds_vip "$NSB" && pass "the VIP moved to B" || fail "B does not hold the VIP"
holds_vip "$NSA" && fail "A still holds the VIP" || pass "A released the VIP"
expect "served by B" hi "$(inc python3 "$TCPTOOL" echo "$VIP:$SP" hi)"
grep -q "Entering MASTER STATE" "$TMP/B/keepalived.log" &&
    pass "keepalived on B became master" || fail "no MASTER transition on B"
finish
