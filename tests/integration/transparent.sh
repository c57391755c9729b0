#!/bin/bash
# Transparent mode (svcproxy.io/source-address: client; README "Client
# address") in network namespaces the test creates and deletes itself,
# with private addresses that exist only inside them:
#
#   client ns  10.231.N.2 --veth-- 10.231.N.1  svcproxy ns  10.231.M.1
#                                               --veth-- 10.231.M.2  backend ns
#
# svcproxy is the backend's gateway, with conf/transparent/routing.sh's
# lines (run from that file) as its return path.  The backend records the
# peer address it sees and sends it back, so the reply travels back
# through svcproxy to the client:
#   1. source-address: client: the backend sees the client's address and
#      port, and the client gets the reply; over IPv4 and IPv6
#      (fd00:231:N::/64 likewise).
#   2. a Service without it: the backend sees svcproxy's address.
#   3. without CAP_NET_ADMIN (and CAP_NET_RAW) IP_TRANSPARENT is refused:
#      run says so at startup, the connection fails (no reply), the
#      failure is logged and counted as a connect failure, and the plain
#      Service still works.
#   4. without the return path (the rule deleted), the backend's reply
#      goes past svcproxy's socket: nothing comes back.
# Skips (exit 77) when not root or namespaces cannot be made.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

skip() { echo "SKIP: transparent.sh: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "needs iproute2"

ID=$$
NSC="sptc$ID"; NSP="sptp$ID"; NSB="sptb$ID"
ALLNS=""
A=$((ID % 200 + 20))		# 10.231.A: client side; B: backend side
B=$((A + 1))
CL="10.231.$A.2"; PX="10.231.$A.1"; PB="10.231.$B.1"; BE="10.231.$B.2"
CL6="fd00:231:$A::2"; PX6="fd00:231:$A::1"; PB6="fd00:231:$B::1"
BE6="fd00:231:$B::2"
ns_cleanup() {
	local ns
	ha_cleanup
	for ns in $ALLNS; do
		# Whatever still runs in our own namespaces: ours.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	true
}
trap ns_cleanup EXIT

ip netns add "$NSC" 2>/dev/null || skip "cannot create network namespaces"
ALLNS="$NSC"
ip netns add "$NSP"; ALLNS="$ALLNS $NSP"
ip netns add "$NSB"; ALLNS="$ALLNS $NSB"
# The veths are made inside the namespaces: none ever exists outside.
ip -n "$NSC" link add c0 type veth peer name pc netns "$NSP"
ip -n "$NSB" link add b0 type veth peer name pb netns "$NSP"
ip -n "$NSC" addr add "$CL/24" dev c0
ip -n "$NSP" addr add "$PX/24" dev pc
ip -n "$NSP" addr add "$PB/24" dev pb
ip -n "$NSB" addr add "$BE/24" dev b0
ip -n "$NSC" addr add "$CL6/64" dev c0 nodad
ip -n "$NSP" addr add "$PX6/64" dev pc nodad
ip -n "$NSP" addr add "$PB6/64" dev pb nodad
ip -n "$NSB" addr add "$BE6/64" dev b0 nodad
for l in "$NSC c0" "$NSP pc" "$NSP pb" "$NSB b0" "$NSC lo" "$NSP lo" \
    "$NSB lo"; do
	# shellcheck disable=SC2086
	set -- $l
	ip -n "$1" link set "$2" up
done
# The backend's gateway is svcproxy; the client reaches only svcproxy.
ip -n "$NSB" route add default via "$PB"
ip -n "$NSB" -6 route add default via "$PB6"

# The backend: sends back "IP PORT" of the peer it sees, and logs it.
cat >"$TMP/peer.py" <<'PYEOF'
import os, socket, sys
host, ready, log = sys.argv[1], sys.argv[2], sys.argv[3]
ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
ls.bind((host, 0))
ls.listen(16)
open(ready + ".tmp", "w").write("%d\n" % ls.getsockname()[1])
os.rename(ready + ".tmp", ready)
while True:
    c, peer = ls.accept()
    with open(log, "a") as f:
        f.write("%s %d\n" % peer[:2])
    try:
        c.sendall(("%s %d\n" % peer[:2]).encode())
    except OSError:
        pass
    c.close()
PYEOF
ip netns exec "$NSB" python3 "$TMP/peer.py" "$BE" "$TMP/be.port" \
    "$TMP/peers" >"$TMP/be.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/be.port" || { echo "no backend"; cat "$TMP/be.log"; exit 1; }
BP=$(cat "$TMP/be.port")
ip netns exec "$NSB" python3 "$TMP/peer.py" "$BE6" "$TMP/be6.port" \
    "$TMP/peers" >"$TMP/be6.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/be6.port" || { echo "no backend"; cat "$TMP/be6.log"; exit 1; }
BP6=$(cat "$TMP/be6.port")

# The client: prints its own port and what came back ("-": nothing).
cat >"$TMP/cli.py" <<'PYEOF'
import socket, sys
src, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in src else socket.AF_INET)
s.settimeout(4)
s.bind((src, 0))
got = b""
try:
    s.connect((host, port))
    while not got.endswith(b"\n"):
        b = s.recv(100)
        if not b:
            break
        got += b
except OSError:
    pass
print(s.getsockname()[1], got.decode().strip() or "-")
PYEOF
client() { ip netns exec "$NSC" python3 "$TMP/cli.py" "$CL" "$PX" "$1"; }
client6() { ip netns exec "$NSC" python3 "$TMP/cli.py" "$CL6" "$PX6" "$1"; }

# The return path: the shipped lines, run in svcproxy's namespace.
routing() {
	ip netns exec "$NSP" env BACKEND_IF=pb BACKEND_PORTS="$BP $BP6" \
	    TABLE=231 ACTION="$1" sh "$top_srcdir/conf/transparent/routing.sh"
}
routing add || { echo "not ok - conf/transparent/routing.sh failed"; exit 1; }

PT=18080; PP=18081; PT6=18082	# in svcproxy's namespace: nothing else
CONF="$TMP/conf"
mkdir -p "$CONF"
cat >"$CONF/all.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 10.231.250.0/24
  nodeAddresses: [$PX]
  adminAddress: 127.0.0.1:0
  connectionLog: info
---
apiVersion: v1
kind: Service
metadata:
  name: tp
  annotations: {svcproxy.io/source-address: client}
spec:
  externalIPs: [$PX]
  selector: {app: be}
  ports: [{port: $PT, targetPort: $BP}]
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec:
  externalIPs: [$PX]
  selector: {app: be}
  ports: [{port: $PP, targetPort: $BP}]
---
apiVersion: v1
kind: Service
metadata:
  name: tp6
  annotations: {svcproxy.io/source-address: client}
spec:
  externalIPs: ["$PX6"]
  ports: [{port: $PT6, targetPort: $BP6}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: tp6-1
  labels: {kubernetes.io/service-name: tp6}
addressType: IPv6
endpoints: [{addresses: ["$BE6"]}]
ports: [{port: $BP6}]
---
apiVersion: v1
kind: Pod
metadata: {name: be-1, labels: {app: be}}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: "$BE", conditions: [{type: Ready, status: "True"}]}
YEOF

expect_rc 0 "check accepts source-address: client" sp check -c "$CONF"
sp resolve -c "$CONF" >"$TMP/resolve.txt" 2>&1
expect_grep "$PT/TCP -> $BP .*client address by transparent" \
    "$TMP/resolve.txt" "resolve: the port's client address is transparent"

# ---- 1 and 2: with the capability ----
LOG="$TMP/run.log"
PREFIX="ip netns exec $NSP" sp_start "$LOG" "$TMP/sp.pid" run -c "$CONF" \
    --workers 1
sp_wait_ready "$LOG" "$TMP/sp.pid" 20 || { finish; exit 1; }
if grep -q "IP_TRANSPARENT is refused" "$LOG"; then
	fail "run warns although it has CAP_NET_ADMIN"
else
	pass "run does not warn with CAP_NET_ADMIN"
fi
out=$(client "$PT")
set -- $out
expect "transparent: the backend sees the client's address and port" \
    "$CL $1" "$2 ${3:-}"
out=$(client6 "$PT6")
set -- $out
expect "transparent IPv6: the backend sees the client's address and port" \
    "$CL6 $1" "$2 ${3:-}"
out=$(client "$PP")
set -- $out
expect "plain: the backend sees svcproxy's address" "$PB" "$2"

# ---- 4. without the return path ----
routing del
out=$(client "$PT")
set -- $out
expect "without the return path no reply reaches the client" "-" "$2"
routing add
out=$(client "$PT")
set -- $out
expect "with it again, the reply does" "$CL $1" "$2 ${3:-}"
stop_pids "$SP_PID"

# ---- 3. without CAP_NET_ADMIN ----
LOG2="$TMP/run2.log"
PREFIX="ip netns exec $NSP setpriv --bounding-set -net_admin,-net_raw --" \
    sp_start "$LOG2" "$TMP/sp2.pid" run -c "$CONF" --workers 1
sp_wait_ready "$LOG2" "$TMP/sp2.pid" 20 || { finish; exit 1; }
expect_grep "transparent mode: 2 Service\(s\) \(default/tp, ...\) connect from the client's address, but IP_TRANSPARENT is refused: Operation not permitted \(run needs CAP_NET_ADMIN\)" \
    "$LOG2" "run says at startup that the capability is missing"
n0=$(wc -l <"$TMP/peers")
out=$(client "$PT")
set -- $out
expect "no capability: the connection fails" "-" "$2"
expect_grep "default/tp:$PT: cannot connect to $BE:$BP from the client's address $CL:[0-9]+ \(svcproxy.io/source-address: client\): Operation not permitted \(transparent mode needs CAP_NET_ADMIN\)" \
    "$LOG2" "the bind failure is logged"
expect_grep "client=$CL:[0-9]+ service=default/tp:$PT .*reason=connect-failed" \
    "$LOG2" "the connection log says connect-failed"
APORT=$(sed -n 's/.*admin: listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$LOG2" | head -1)
m=$(ip netns exec "$NSP" curl -s --max-time 5 "http://127.0.0.1:$APORT/metrics" |
    grep '^svcproxy_port_connect_failures_total{.*service="tp"' || true)
case "$m" in
*" 1") pass "counted as a connect failure" ;;
*) fail "connect failures: got '$m'" ;;
esac
expect "no connection reached the backend" "$n0" "$(wc -l <"$TMP/peers")"
out=$(client "$PP")
set -- $out
expect "no capability: the plain Service still works" "$PB" "$2"
finish
