#!/bin/bash
# Consistency across instances: two svcproxy processes with the same
# Services and Pods, the Pods listed in opposite orders in their YAML
# and the processes run with different worker counts, send each of
# 10,000 client addresses (127.130.0.1 onwards, bound before connect) to
# the same backend with `svcproxy.io/lb-algorithm: maglev`.  As active-
# active nodes behind ECMP must: a client keeps its backend whichever
# instance it reaches.  Each instance reaches the clients in another
# order (shuffled with another seed), as two nodes would.
#
# The 16 backends answer with their own address (srcmap.py serve).
# Also checked: the clients spread over every backend (a constant
# choice would agree trivially), and a round-robin Service of the same
# Pods on the same two instances does NOT agree for 1,000 of the
# clients: the comparison can fail.
#
# Resolution already sorts endpoints by address (res.c) before Maglev
# sorts its own input, so the YAML order is one of the things this
# guards; it checks the whole path: a hash that depended on the
# process (a seed, the pid, the start time) or its worker count fails
# it (tried: the pid mixed into the key gives 9,362 of 10,000 clients
# another backend).
#
# Loopback only: the instances differ only in their Service addresses
# (two processes cannot both own one address and port).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

SRCMAP="$top_srcdir/tests/integration/srcmap.py"
# For trying the test itself: CONSISTENCY_ALGO=round-robin must fail.
ALGO=${CONSISTENCY_ALGO:-maglev}
NB=16			# backends
NCLIENT=10000		# client addresses, 127.130.0.1 onwards
NRR=1000		# of which for the round-robin sanity check
# Under valgrind, fewer: 20,000 connections would take minutes.
[ "${VALGRIND:-0}" = 1 ] && NCLIENT=1000 NRR=500
A=$((RANDOM % 200 + 20))
NET="127.131.$A"		# Pods: $NET.1 .. $NET.$NB
CIP="127.132.$A"		# Service addresses: .10/.11 on one, .20/.21 on two

hosts=$(seq -s, -f "$NET.%g" 1 "$NB")
python3 "$SRCMAP" serve --hosts "$hosts" --ready "$TMP/be.port" \
    >"$TMP/be.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/be.port" || {
	echo "backends did not start"; cat "$TMP/be.log"; exit 1
}
PB=$(cat "$TMP/be.port")
SP=$(free_port 20000 29999 "$CIP.10" "$CIP.11" "$CIP.20" "$CIP.21")
[ -n "$SP" ] || { echo "no free port"; exit 1; }

# pods ORDER: the Pods' YAML, in the order of the numbers given.
pods() {
	local i
	for i in "$@"; do
		cat <<YEOF
---
apiVersion: v1
kind: Pod
metadata: {name: web-$i, namespace: default, labels: {app: web}}
spec: {containers: [{name: web, image: x, ports: [{name: http, containerPort: $PB}]}]}
status: {phase: Running, podIP: $NET.$i, conditions: [{type: Ready, status: "True"}]}
YEOF
	done
}

# config DIR CIP_HOST ORDER...: one instance's configuration.
config() {
	local d=$1 h=$2
	shift 2
	mkdir -p "$d"
	cat >"$d/svc.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.132.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {svcproxy.io/lb-algorithm: $ALGO}
spec:
  clusterIP: $CIP.${h}0
  selector: {app: web}
  ports: [{port: $SP, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata:
  name: web-rr
  namespace: default
  annotations: {svcproxy.io/lb-algorithm: round-robin}
spec:
  clusterIP: $CIP.${h}1
  selector: {app: web}
  ports: [{port: $SP, targetPort: http}]
YEOF
	pods "$@" >>"$d/svc.yaml"
}
config "$TMP/one" 1 $(seq 1 "$NB")
config "$TMP/two" 2 $(seq "$NB" -1 1)

sp_start "$TMP/one.log" "$TMP/one.pid" run -c "$TMP/one" --workers 1
ONE=$SP_PID
sp_wait_ready "$TMP/one.log" "$TMP/one.pid" 20 || exit 1
sp_start "$TMP/two.log" "$TMP/two.pid" run -c "$TMP/two" --workers 2
TWO=$SP_PID
sp_wait_ready "$TMP/two.log" "$TMP/two.pid" 20 || exit 1
pass "two instances serve the same Pods, listed in opposite orders"

# ask OUT HOST N SEED: N clients, one connection each, through HOST.
ask() {
	python3 "$SRCMAP" query "$2:$SP" --src-base 127.130.0.1 \
	    --src-count "$3" --seed "$4" --conc 64 --deadline 150 >"$1"
}
t0=$(date +%s.%N)
ask "$TMP/one.out" "$CIP.10" "$NCLIENT" 1
ask "$TMP/two.out" "$CIP.20" "$NCLIENT" 2
t1=$(date +%s.%N)
echo "# $((2 * NCLIENT)) connections in" \
    "$(python3 -c "print('%.1f' % ($t1 - $t0))") s"

# compare A B: "same N differ M errors E backends B min L max H"
# (B: backends reached through A, L/H: fewest/most clients on one).
compare() {
	python3 - "$1" "$2" <<'PYEOF'
import sys
from collections import Counter
def load(p):
    m, err = {}, 0
    for line in open(p):
        f = line.split()
        if len(f) != 3 or f[1] == "error":
            err += 1
        else:
            m[f[0]] = f[1]
    return m, err
a, ea = load(sys.argv[1])
b, eb = load(sys.argv[2])
same = sum(1 for s in a if b.get(s) == a[s])
per = Counter(a.values())
print("same %d differ %d errors %d backends %d min %d max %d" % (
    same, len(a) - same, ea + eb, len(per),
    min(per.values() or [0]), max(per.values() or [0])))
PYEOF
}
read -r _ same _ differ _ errors _ nb _ lo _ hi \
    <<<"$(compare "$TMP/one.out" "$TMP/two.out")"
echo "# $ALGO: $same same, $differ differ, $errors errors;" \
    "$nb backends, $lo to $hi clients each"
expect "every connection answered" 0 "$errors"
expect "$ALGO: every client on the same backend through both instances" \
    "$NCLIENT 0" "$same $differ"
expect "$ALGO: the clients spread over all $NB backends" "$NB" "$nb"
# Maglev's balance: with 10,000 clients on 16 backends (625 each on
# average), no backend far off.
avg=$((NCLIENT / NB))
[ "$lo" -ge $((avg / 2)) ] && [ "$hi" -le $((avg * 3 / 2)) ] &&
    pass "$ALGO: balanced ($lo to $hi clients per backend)" ||
    fail "$ALGO: unbalanced: $lo to $hi clients per backend"

ask "$TMP/rr1.out" "$CIP.11" "$NRR" 3
ask "$TMP/rr2.out" "$CIP.21" "$NRR" 4
read -r _ same _ differ _ errors _ <<<"$(compare "$TMP/rr1.out" "$TMP/rr2.out")"
echo "# round-robin: $same same, $differ differ, $errors errors"
expect "round-robin: every connection answered" 0 "$errors"
# Two independent rotations agree for about 1 client in 16.
[ "$differ" -ge $((NRR / 2)) ] &&
    pass "round-robin does not pass this test ($differ of $NRR differ)" ||
    fail "round-robin agreed for $same of $NRR clients: the test cannot tell"

alive "$ONE" && alive "$TWO" && pass "both instances still run" ||
    fail "an instance died"
finish
