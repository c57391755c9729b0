#!/bin/bash
# Active-active scale-out with BGP and ECMP, in network namespaces this
# test creates and deletes:
#
#        c (clients: 10.K.3.2, 10.K.3.10 ...)     b (backends: 10.K.4.11 ...)
#                     \                          /
#                      r (router: BIRD, kernel ECMP, L4 hash)
#                     /                          \
#   n1 (10.K.1.2: svcproxy, BIRD,        n2 (10.K.2.2: the same)
#       svcproxy-bgp-health, VIP on lo)
#
# Both nodes serve the same Service on the VIP 10.K.100.1 (externalIPs)
# with `svcproxy.io/lb-algorithm: maglev`, and announce VIP/32 to r over
# BGP with conf/bird/bird.conf; r runs conf/bird/router.conf (`merge
# paths`) and hashes flows on addresses and ports
# (fib_multipath_hash_policy=1).  The backends answer each connection
# with their own address (the backend's id) and the address it came
# from (the node that relayed it).  Shown:
#   1. r holds one route to the VIP with both nodes as next hops;
#   2. new flows are split across both nodes;
#   3. each client address reaches the same backend through whichever
#      node its flows land on, and the same as when it asks each node
#      directly (the Service's NodePort on the node's own address);
#   4. when n1's svcproxy is killed, svcproxy-bgp-health withdraws n1's
#      route and new connections all succeed through n2: the time from
#      the kill to the first of 50 consecutive successes through n2 is
#      printed; connections held through n2 meanwhile live on;
#   5. n1's svcproxy started again: n1 is announced again; n2's
#      connections from before the failover live on, while about half
#      of those opened through n2 alone move to n1 and are reset (plain
#      hash-threshold ECMP, no resilient next-hop group: the README's
#      Scale-out section); the number is printed;
#   6. n2's down file (svcproxy-bgp-health -d) withdraws n2 while its
#      svcproxy is healthy; removing it announces n2 again;
#   7. restarting n2's svcproxy-bgp-health leaves n2's route alone.
# The shipped BIRD files are parsed with `bird -p` first.  The addresses
# exist only inside the namespaces: nothing leaves them.  Each node's
# svcproxy has its admin server on the default 127.0.0.1:9180, inside
# the node's own namespace, where svcproxy-bgp-health looks by default.
#
# Skips (77) without root, ip netns, BIRD 2 (.ci/deps --ha) or curl.
# Not run under valgrind.  ECMP_ALGO=round-robin runs it with round-
# robin instead, which must fail step 3.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}

skip() { echo "SKIP: ecmp.sh: $*"; exit 77; }
[ "${VALGRIND:-0}" = 1 ] && skip "not under valgrind"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "iproute2 (ip) not installed"
BIRD=$(command -v bird || echo /usr/sbin/bird)
BIRDC=$(command -v birdc || echo /usr/sbin/birdc)
[ -x "$BIRD" ] && [ -x "$BIRDC" ] ||
    skip "BIRD 2 (bird, birdc) not installed (.ci/deps --ha)"
"$BIRD" --version 2>&1 | grep -q 'BIRD version 2\.' ||
    skip "$("$BIRD" --version 2>&1 | head -1): BIRD 2 needed"
command -v curl >/dev/null || skip "curl not installed"

. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
. "$top_srcdir/tests/integration/ecmp_lib.sh"

# ---- the shipped files parse ----
for f in bird.conf router.conf; do
	expect_rc 0 "conf/bird/$f parses (bird -p)" \
	    "$BIRD" -p -c "$top_srcdir/conf/bird/$f"
done
expect_rc 0 "conf/bird/svcproxy-bgp-health is valid sh" \
    sh -n "$top_srcdir/conf/bird/svcproxy-bgp-health"

# ---- the network ----
ALGO=${ECMP_ALGO:-maglev}
TAG="ec$$"
NSR="$TAG-r" NS1="$TAG-n1" NS2="$TAG-n2" NSC="$TAG-c" NSB="$TAG-b"
ALLNS="$NSR $NS1 $NS2 $NSC $NSB"
NET="10.$((RANDOM % 50 + 200))"
VIP="$NET.100.1"
SP=8080			# the Service port on the VIP
NP=30080		# its NodePort, on each node's own address
NCLI=200		# client addresses: $NET.3.10 onwards
NBE=8			# backends: $NET.4.11 onwards
NHOLD=40		# connections held through the failover
N1="$NET.1.2" N2="$NET.2.2"

trap ecmp_cleanup EXIT
trap 'exit 1' HUP INT TERM

ip netns add "$NSR" 2>/dev/null || skip "cannot create network namespaces"
for ns in $NS1 $NS2 $NSC $NSB; do
	ip netns add "$ns"
done
for ns in $ALLNS; do
	ip -n "$ns" link set lo up
done
inr() { ip netns exec "$NSR" "$@"; }
inc() { ip netns exec "$NSC" "$@"; }
inr sysctl -qw net.ipv4.ip_forward=1
inr sysctl -qw net.ipv4.fib_multipath_hash_policy=1

# link NS SUBNET RIFACE: a veth from r (SUBNET.1) to NS (SUBNET.2 on
# its eth0, default route through r).
link() {
	ip -n "$NSR" link add "$3" type veth peer name eth0 netns "$1"
	ip -n "$NSR" addr add "$2.1/24" dev "$3"
	ip -n "$NSR" link set "$3" up
	ip -n "$1" addr add "$2.2/24" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$1" route add default via "$2.1"
}
link "$NS1" "$NET.1" e1
link "$NS2" "$NET.2" e2
link "$NSC" "$NET.3" ec
link "$NSB" "$NET.4" eb
ip -n "$NS1" addr add "$VIP/32" dev lo
ip -n "$NS2" addr add "$VIP/32" dev lo
for i in $(seq 10 $((NCLI + 9))); do
	echo "addr add $NET.3.$i/24 dev eth0"
done | ip -n "$NSC" -batch -
for i in $(seq 11 $((NBE + 10))); do
	echo "addr add $NET.4.$i/24 dev eth0"
done | ip -n "$NSB" -batch -

# The backends: one process answering on all their addresses.
hosts=$(seq -s, -f "$NET.4.%g" 11 $((NBE + 10)))
ip netns exec "$NSB" python3 "$SRCMAP" serve --hosts "$hosts" --echo 1 \
    --ready "$TMP/be.port" >"$TMP/be.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/be.port" || {
	echo "backends did not start"; cat "$TMP/be.log"; exit 1
}
PB=$(cat "$TMP/be.port")

# ---- BIRD on r, then both nodes ----
sed -e "s/^router id .*/router id $NET.1.1;/" \
    -e "s/198\.51\.100\.11 as/$N1 as/" -e "s/198\.51\.100\.12 as/$N2 as/" \
    -e "s|192\.0\.2\.0/24{32,32}|$NET.100.0/24{32,32}|" \
    -e "s|^log syslog all;|log \"$TMP/r.bird.log\" all;|" \
    "$top_srcdir/conf/bird/router.conf" >"$TMP/r.bird.conf"
edited "$TMP/r.bird.conf" "router id $NET.1.1;" "$N1 as" "$N2 as" \
    "$NET.100.0/24{32,32}" "$TMP/r.bird.log"
bird_start r "$NSR"
node_start 1 "$NS1" "$NET.1"
node_start 2 "$NS2" "$NET.2"

# ---- 1. one route, both nodes as next hops ----
if wait_for 40 vip_nexthops_are "$N1 $N2"; then
	pass "r routes the VIP to both nodes (ECMP, after $(since_start) s)"
else
	fail "r has no ECMP route to the VIP: $(vip_route | tr '\n' ' ')"
	show_logs
	finish
	exit 1
fi

# ---- 2. and 3. flows split, each client on one backend ----
m1=$(node_conns "$NS1") m2=$(node_conns "$NS2")
inc python3 "$SRCMAP" query "$VIP:$SP" --src-base "$NET.3.10" \
    --src-count "$NCLI" --per 6 --conc 16 --seed 1 >"$TMP/vip.out"
# What each node counted meanwhile, for comparison with what the
# backends saw.
m1=$(( $(node_conns "$NS1") - m1 )) m2=$(( $(node_conns "$NS2") - m2 ))
inc python3 "$SRCMAP" query "$N1:$NP" --src-base "$NET.3.10" \
    --src-count "$NCLI" --conc 16 >"$TMP/n1.out"
inc python3 "$SRCMAP" query "$N2:$NP" --src-base "$NET.3.10" \
    --src-count "$NCLI" --conc 16 >"$TMP/n2.out"
read -r _ total _ errors _ c1 _ c2 _ both _ multi _ nb _ d1 _ d2 <<<"$(
    analyse "$TMP/vip.out" "$TMP/n1.out" "$TMP/n2.out" "$N1" "$N2")"
echo "# $total connections to the VIP from $NCLI clients: $c1 through" \
    "n1, $c2 through n2; $both clients reached both nodes"
expect "every connection answered" 0 "$errors"
expect "each node's /metrics counts the flows it relayed" \
    "$c1 $c2" "$m1 $m2"
[ "$c1" -ge $((total / 4)) ] && [ "$c2" -ge $((total / 4)) ] &&
    pass "new flows are split across both nodes ($c1 / $c2)" ||
    fail "flows not split: $c1 through n1, $c2 through n2"
[ "$both" -ge $((NCLI / 2)) ] &&
    pass "$both of $NCLI clients had flows through both nodes" ||
    fail "only $both of $NCLI clients reached both nodes"
expect "$ALGO: each client on one backend through both nodes" \
    "0" "$multi"
expect "$ALGO: the same backend as asking n1 directly" 0 "$d1"
expect "$ALGO: the same backend as asking n2 directly" 0 "$d2"
expect "$ALGO: the clients spread over all $NBE backends" "$NBE" "$nb"

# ---- 4. n1's svcproxy dies: its route goes, n2 takes every flow ----
# Connections held meanwhile, to see which survive.
inc python3 "$SRCMAP" hold "$VIP:$SP" --src-base "$NET.3.10" \
    --src-count "$NHOLD" --rounds 2 --ready "$TMP/hold" >"$TMP/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
wait_for 20 test -s "$TMP/hold.0" || fail "no connections held"
inc python3 "$SRCMAP" failover "$VIP:$SP" --src-base "$NET.3.10" \
    --src-count "$NCLI" --survivor "$N2" --run 50 --mark "$TMP/killed" \
    --ready "$TMP/fo.ready" --deadline 40 >"$TMP/fo.out" 2>&1 &
FO=$!
PIDS="$PIDS $FO"
wait_for 20 test -s "$TMP/fo.ready" || fail "the failover client got no answer"
t0=$(date +%s.%N)
kill -KILL "$SVC1"
{ wait "$SVC1"; } 2>/dev/null || true	# no "Killed" line
echo "$t0" >"$TMP/killed.tmp" && mv "$TMP/killed.tmp" "$TMP/killed"
if wait_for 30 vip_nexthops_are "$N2"; then
	t1=$(date +%s.%N)
	echo "# r's route to the VIP has only n2 left after" \
	    "$(python3 -c "print('%.2f' % ($t1 - $t0))") s"
	pass "n1's route withdrawn when its svcproxy died"
else
	# The rest depends on it: stop here.
	fail "r still routes the VIP to n1: $(vip_route | tr '\n' ' ')"
	show_logs
	finish
	exit 1
fi
rc=0
wait "$FO" || rc=$?
read -r what took _ attempts _ failed <"$TMP/fo.out" || true
if [ "$rc" = 0 ] && [ "$what" = took ]; then
	echo "# new connections all through n2 after $took s" \
	    "($failed of $attempts attempts failed meanwhile)"
	python3 -c "import sys; sys.exit(not ($took <= 10))" &&
	    pass "failover to n2 within 10 s ($took s)" ||
	    fail "failover took $took s"
else
	fail "new connections never all went through n2: $(cat "$TMP/fo.out")"
fi
touch "$TMP/hold.go.1"
wait_for 20 test -s "$TMP/hold.1" || fail "held connections not checked"
read -r h1 h1ok h2 h2ok <<<"$(held "$TMP/hold.1")"
echo "# held connections: through n1 $h1ok of $h1 alive, through n2" \
    "$h2ok of $h2 alive"
[ "$h1" -gt 0 ] && [ "$h2" -gt 0 ] && [ "$h1ok" = 0 ] && [ "$h2ok" = "$h2" ] &&
    pass "the connections through n2 outlive n1's withdrawal (2 to 1 next hops)" ||
    fail "held connections: n1 $h1ok/$h1 alive (want 0), n2 $h2ok/$h2 (want all)"
# And connections opened while only n2 is announced.
inc python3 "$SRCMAP" hold "$VIP:$SP" --src-base "$NET.3.100" \
    --src-count "$NHOLD" --rounds 1 --ready "$TMP/hold2" >"$TMP/hold2.out" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/hold2.0" || fail "no connections held through n2"
expect_grep "node down" "$TMP/n1.health.log" \
    "n1's svcproxy-bgp-health saw /healthz fail"
expect "n1's BIRD: svcproxy_vips disabled" down "$(proto_state 1)"
expect "n2's BIRD: svcproxy_vips still up" up "$(proto_state 2)"

# ---- 5. n1 back: announced again ----
svcproxy_start 1 "$NS1" "$N1"
wait_for 30 vip_nexthops_are "$N1 $N2" &&
    pass "n1 announced again once its svcproxy is back" ||
    fail "n1 not announced again: $(vip_route | tr '\n' ' ')"
# Linux's hash-threshold multipath gives n1 back the same share of the
# hash: the flows n2 already had stay there, but about half of those
# opened while n2 was alone go to n1, which resets them (README,
# Scale-out: rehashing).
touch "$TMP/hold.go.2" "$TMP/hold2.go.1"
wait_for 20 test -s "$TMP/hold.2" -a -s "$TMP/hold2.1" ||
    fail "held connections not checked again"
read -r _ _ h2 h2ok <<<"$(held "$TMP/hold.2")"
expect "n1 back: n2's connections from before the failover all alive" \
    "$h2 of $h2" "$h2ok of $h2"
read -r _ _ h2 h2ok <<<"$(held "$TMP/hold2.1")"
echo "# n1 back: of the $h2 connections opened through n2 alone," \
    "$((h2 - h2ok)) moved to n1 and were reset, $h2ok still alive"
expect "opened through n2 alone: all of them" "$NHOLD" "$h2"
bad=$(grep -cv ' alive$\| reset$' "$TMP/hold2.1" || true)
[ "$bad" = 0 ] && [ "$h2ok" -gt 0 ] && [ "$h2ok" -lt "$h2" ] &&
    pass "n1 back: some of those reset (moved to n1), the others alive" ||
    fail "n1 back: $h2ok of $h2 alive, $bad neither alive nor reset"

# ---- 6. n2's down file takes it out by hand, and back ----
touch "$TMP/n2.down"
wait_for 20 vip_nexthops_are "$N1" &&
    pass "n2's down file withdraws n2, its svcproxy healthy" ||
    fail "n2's down file: r routes $(vip_route | tr '\n' ' ')"
rm -f "$TMP/n2.down"
wait_for 20 vip_nexthops_are "$N1 $N2" &&
    pass "n2 announced again once its down file is gone" ||
    fail "n2 not announced again: $(vip_route | tr '\n' ' ')"

# ---- 7. restarting n2's health loop leaves its route alone ----
kill "$HC2"
{ wait "$HC2"; } 2>/dev/null || true
health_start 2 "$NS2" "$TMP/n2.health2.log"
# Until the new loop has its two results, and a round after.
kept=yes
for _ in $(seq 1 100); do
	vip_nexthops_are "$N1 $N2" || { kept=no; break; }
	grep -q "node up" "$TMP/n2.health2.log" && break
	sleep 0.05
done
sleep 1.2
vip_nexthops_are "$N1 $N2" || kept=no
expect_grep "node up" "$TMP/n2.health2.log" "n2's new health loop sees n2 up"
expect "n2 stays announced while its health loop restarts" yes "$kept"
finish
