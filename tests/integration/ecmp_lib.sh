# Helpers for ecmp.sh (sourced after lib.sh and ha_lib.sh, with the
# namespace names, NET, VIP, SP, NP, NBE, PB, ALGO and BIRD set by the
# time they run).

SRCMAP="$top_srcdir/tests/integration/srcmap.py"
T_START=$(date +%s.%N)

# What lib.sh's cleanup does, then whatever still runs in our
# namespaces (a health script's sleep), then the namespaces.
ecmp_cleanup() {
	local ns
	ha_cleanup
	for ns in ${ALLNS:-}; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	true
}

since_start() {
	python3 -c "import time; print('%.1f' % (time.time() - $T_START))"
}

# edited FILE STRING...: each STRING is in FILE, the copy of a shipped
# file with the test's values; else the shipped file changed in a way
# the test does not follow: say so and stop.
edited() {
	local f=$1 want
	shift
	for want in "$@"; do
		grep -qF -- "$want" "$f" && continue
		echo "not ok - $f: no \"$want\" after replacing the" \
		    "shipped values: update ecmp.sh with conf/bird"
		exit 1
	done
}

# bird_start NAME NS: BIRD in NS with $TMP/NAME.bird.conf, its control
# socket $TMP/NAME.ctl.
bird_start() {
	ip netns exec "$2" "$BIRD" -f -c "$TMP/$1.bird.conf" \
	    -s "$TMP/$1.ctl" -P "$TMP/$1.bird.pid" >"$TMP/$1.bird.out" 2>&1 &
	PIDS="$PIDS $!"
}

# svcproxy_start I NS ADDR: node I's svcproxy (pid in SVC<I>), serving
# the Service on the VIP and as a NodePort on ADDR; waits until it
# serves.
svcproxy_start() {
	local d="$TMP/n$1" n
	mkdir -p "$d/conf"
	cat >"$d/conf/svc.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 10.96.0.0/16
  nodeAddresses: ["$3"]
  adminAddress: 127.0.0.1:9180
  drainTimeout: 2s
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations: {svcproxy.io/lb-algorithm: $ALGO}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  externalIPs: ["$VIP"]
  ports: [{port: $SP, targetPort: $PB, nodePort: $NP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: $PB}]
endpoints:
YEOF
	for n in $(seq 11 $((NBE + 10))); do
		echo "- {addresses: [\"$NET.4.$n\"], conditions: {ready: true}}"
	done >>"$d/conf/svc.yaml"
	ip netns exec "$2" "$SVCPROXY" run -c "$d/conf" --workers 1 \
	    >>"$d/svcproxy.log" 2>&1 &
	eval "SVC$1=$!"
	PIDS="$PIDS $!"
	wait_for 20 grep -q "serving" "$d/svcproxy.log" || {
		echo "node $1's svcproxy did not start:"
		cat "$d/svcproxy.log"
		exit 1
	}
}

# node_start I NS SUBNET: svcproxy, BIRD (conf/bird/bird.conf, peering
# with r at SUBNET.1) and svcproxy-bgp-health on node I.
node_start() {
	local i=$1 ns=$2 net=$3
	svcproxy_start "$i" "$ns" "$net.2"
	sed -e "s/^router id .*/router id $net.2;/" \
	    -e "s/^define ROUTER = .*/define ROUTER = $net.1;/" \
	    -e "s|192\.0\.2\.100/32|$VIP/32|" \
	    -e "s|^log syslog all;|log \"$TMP/n$i.bird.log\" all;|" \
	    "$top_srcdir/conf/bird/bird.conf" >"$TMP/n$i.bird.conf"
	edited "$TMP/n$i.bird.conf" "router id $net.2;" \
	    "define ROUTER = $net.1;" "$VIP/32" "$TMP/n$i.bird.log"
	bird_start "n$i" "$ns"
	health_start "$i" "$ns" "$TMP/n$i.health.log"
}

# health_start I NS LOG: node I's svcproxy-bgp-health (pid in HC<I>).
health_start() {
	ip netns exec "$2" env PATH="$(dirname "$BIRDC"):$PATH" \
	    sh "$top_srcdir/conf/bird/svcproxy-bgp-health" -s "$TMP/n$1.ctl" \
	    -d "$TMP/n$1.down" >"$3" 2>&1 &
	eval "HC$1=$!"
	PIDS="$PIDS $!"
}

# vip_route: r's kernel route to the VIP.
vip_route() {
	ip -n "$NSR" route show "$VIP/32"
}

# vip_nexthops_are "A B": r routes the VIP through exactly these.
vip_nexthops_are() {
	local want got
	want=$(echo $1 | tr ' ' '\n' | sort | tr '\n' ' ')
	got=$(vip_route | grep -o 'via [0-9.]*' | cut -d' ' -f2 | sort |
	    tr '\n' ' ')
	[ "$got" = "$want" ]
}

# node_conns NS: the connections node NS's svcproxy has accepted for
# the Service port, from its /metrics (0 without an answer: the
# comparison then fails).
node_conns() {
	ip netns exec "$1" curl -s --max-time 5 http://127.0.0.1:9180/metrics |
	    awk -v m="svcproxy_port_connections_total{namespace=\"default\",service=\"web\",port=\"$SP\",protocol=\"TCP\"}" \
	    'index($0, m " ") == 1 { print $2; f = 1 } END { if (!f) print 0 }'
}

# proto_state I: node I's svcproxy_vips protocol state in its BIRD.
proto_state() {
	"$BIRDC" -s "$TMP/n$1.ctl" show protocols svcproxy_vips 2>/dev/null |
	    awk '$1 == "svcproxy_vips" { print $4 }'
}

# analyse VIP_OUT N1_OUT N2_OUT N1 N2: from srcmap.py query outputs,
# "total T errors E n1 C1 n2 C2 both B multi M backends NB diff1 D1
# diff2 D2": T connections to the VIP, C1/C2 of them relayed by n1/n2,
# B clients with flows through both, M clients that reached more than
# one backend, NB backends reached, D1/D2 clients whose backend asked
# directly from n1/n2 is another one (or none).
analyse() {
	python3 - "$@" <<'PYEOF'
import sys
from collections import defaultdict
vip, d1, d2, n1, n2 = sys.argv[1:6]
errors = 0
def lines(p):
    global errors
    for line in open(p):
        f = line.split()
        if len(f) != 3 or f[1] == "error":
            errors += 1
        else:
            yield f
backends, peers = defaultdict(set), defaultdict(set)
count = {n1: 0, n2: 0}
total = 0
for src, be, peer in lines(vip):
    total += 1
    backends[src].add(be)
    peers[src].add(peer)
    count[peer] = count.get(peer, 0) + 1
both = sum(1 for s in peers if peers[s] >= {n1, n2})
multi = sum(1 for s in backends if len(backends[s]) > 1)
nb = len(set().union(*backends.values())) if backends else 0
def diff(p):
    direct = {src: be for src, be, _ in lines(p)}
    return sum(1 for s in backends if direct.get(s) not in backends[s])
print("total %d errors %d n1 %d n2 %d both %d multi %d backends %d "
      "diff1 %d diff2 %d" % (total, errors, count[n1], count[n2], both,
      multi, nb, diff(d1), diff(d2)))
PYEOF
}

# held FILE: "N1 N1_ALIVE N2 N2_ALIVE" from a hold round's file: how
# many connections went through each node, and how many are alive.
held() {
	awk -v n1="$N1" -v n2="$N2" '
	    $2 == n1 { a++; if ($3 == "alive") aa++ }
	    $2 == n2 { b++; if ($3 == "alive") bb++ }
	    END { print a + 0, aa + 0, b + 0, bb + 0 }' "$1"
}

show_logs() {
	local f
	for f in "$TMP"/*.bird.log "$TMP"/*.bird.out "$TMP"/*.health.log \
	    "$TMP"/n*/svcproxy.log; do
		[ -s "$f" ] || continue
		echo "# --- $f"
		tail -15 "$f" | sed 's/^/#   /'
	done
}
