#!/bin/bash
# The PROXY protocol from clients (svcproxy.io/accept-proxy-protocol,
# README "Client address"), on loopback:
#   1. svcproxy behind HAProxy (`send-proxy-v2`): clients bound to
#      chosen 127.x addresses.  loadBalancerSourceRanges and a
#      NetworkPolicy ipBlock judge the address in the header, not
#      HAProxy's (which neither allows): the allowed client gets
#      through, the other is refused.  The header svcproxy sends on
#      (v1, to a raw receiver) carries the client's address and port and
#      the address and port it connected to at HAProxy, byte for byte.
#   2. Straight from a trusted sender: a valid v1 header is believed
#      (the receiver sees its addresses); the client's bytes follow
#      whole, also when they came in the same segment as the header.
#   3. Hostile input, each reset without reaching the backend (the raw
#      receiver gets no connection), counted and logged: an untrusted
#      sender with a valid header, no header, truncated, oversized and
#      malformed v1 lines, v2 with a bad signature and with a short
#      address block, and a stalled partial header, closed after the
#      1 s proxyProtocolTimeout (not before, and within 4 s).
#   4. `check`: accept-proxy-protocol without trusted sources is an
#      error; `resolve` shows the port accepts it.
# Skips (exit 77) only when haproxy is not installed (.ci/deps --test has it).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

HAPROXY=$(command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null || true)
[ -n "$HAPROXY" ] || { echo "SKIP: haproxy is needed (.ci/deps --test)"; exit 77; }

A=$((RANDOM % 200 + 20))
NET="127.80.$A"		# the raw receiver
LB="127.81.$A"		# svcproxy's LoadBalancer addresses
HA="127.82.$A"		# HAProxy's frontends
CLI="127.83.$A"		# clients through HAProxy
TR="127.84.$A"		# trusted direct senders
UN="127.85.$A"		# an untrusted one
P1=$(free_port 20000 29999 "$LB.1")
P2=$(free_port 20000 29999 "$LB.2")
HP=$(free_port 20000 29999 "$HA.1" "$HA.2")
[ -n "$P1" ] && [ -n "$P2" ] && [ -n "$HP" ] || { echo "no free port"; exit 1; }

# The raw receiver: writes what each connection sent (hex) to raw.N.
cat >"$TMP/raw.py" <<'PYEOF'
import os, socket, sys, threading
host, ready, out = sys.argv[1], sys.argv[2], sys.argv[3]
ls = socket.socket()
ls.bind((host, 0))
ls.listen(64)
open(ready + ".tmp", "w").write("%d\n" % ls.getsockname()[1])
os.rename(ready + ".tmp", ready)
def serve(c, i):
    data = b""
    c.settimeout(10)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
            if b"\n" in data and data.endswith(b"\n"):
                c.sendall(b"ok\n")
    except OSError:
        pass
    with open("%s.%d.tmp" % (out, i), "w") as f:
        f.write(data.hex() + "\n")
    os.rename("%s.%d.tmp" % (out, i), "%s.%d" % (out, i))
    c.close()
n = 0
while True:
    c, _ = ls.accept()
    n += 1
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
PYEOF
python3 "$TMP/raw.py" "$NET.1" "$TMP/raw.port" "$TMP/raw" \
    >"$TMP/raw.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/raw.port" || { echo "no raw receiver"; exit 1; }
RAWP=$(cat "$TMP/raw.port")
nraw() { ls "$TMP" | grep -c '^raw\.[0-9]*$' || true; }

# The client: from SRC to HOST:PORT, sends HEX, a FIN unless "hold" or
# "line" (which stops at the first whole line back),
# then reads: prints "reset", "eof HEX" (what came back) or "timeout",
# ("-": nothing) and the seconds it took.
cat >"$TMP/cli.py" <<'PYEOF'
import errno, socket, sys, time
src, host, port, data, mode = sys.argv[1:6]
s = socket.socket()
s.settimeout(8)
s.bind((src, 0))
t0 = time.monotonic()
got, how = b"", "eof"
try:
    s.connect((host, int(port)))
    s.sendall(bytes.fromhex(data))
    if mode not in ("hold", "line"):
        s.shutdown(socket.SHUT_WR)
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
        if mode == "line" and got.endswith(b"\n"):
            break
except (ConnectionResetError, BrokenPipeError):
    how = "reset"
except socket.timeout:
    how = "timeout"
except OSError as e:
    # A reset that came before the shutdown: not connected any more.
    if e.errno != errno.ENOTCONN:
        raise
    how = "reset"
print(s.getsockname()[1], how, got.hex() or "-",
      "%.2f" % (time.monotonic() - t0))
PYEOF
hex() { printf '%b' "$1" | od -An -v -tx1 | tr -d ' \n'; }

cat >"$TMP/haproxy.cfg" <<HEOF
defaults
	mode tcp
	timeout connect 5s
	timeout client 10s
	timeout server 10s
listen lbr
	bind $HA.1:$HP
	server sp $LB.1:$P1 send-proxy-v2
listen pol
	bind $HA.2:$HP
	server sp $LB.2:$P2 send-proxy-v2
HEOF
"$HAPROXY" -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS="$PIDS $!"

CONF="$TMP/conf"
mkdir -p "$CONF"
cat >"$CONF/all.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.86.$A.0/24
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  connectionLog: info
  proxyProtocolTrustedSources: [127.0.0.1/32, $TR.0/24]
  proxyProtocolTimeout: 1s
---
apiVersion: v1
kind: Service
metadata:
  name: lbr
  annotations:
    svcproxy.io/accept-proxy-protocol: "true"
    svcproxy.io/proxy-protocol: v1
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  loadBalancerIP: $LB.1
  loadBalancerSourceRanges: [$CLI.10/32, $TR.0/24]
  selector: {app: raw}
  ports: [{port: $P1, targetPort: p}]
---
apiVersion: v1
kind: Service
metadata:
  name: pol
  annotations:
    svcproxy.io/accept-proxy-protocol: "true"
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  loadBalancerIP: $LB.2
  selector: {app: polraw}
  ports: [{port: $P2, targetPort: p}]
---
apiVersion: v1
kind: Pod
metadata: {name: raw-1, labels: {app: raw}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $RAWP}]}]}
status: {phase: Running, podIP: "$NET.1", conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: polraw-1, labels: {app: polraw}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $RAWP}]}]}
status: {phase: Running, podIP: "$NET.1", conditions: [{type: Ready, status: "True"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-one}
spec:
  podSelector: {matchLabels: {app: polraw}}
  ingress:
  - from:
    - ipBlock: {cidr: $CLI.20/32}
YEOF

# ---- 4. check and resolve ----
expect_rc 0 "check accepts the configuration" sp check -c "$CONF"
grep -v proxyProtocolTrustedSources "$CONF/all.yaml" >"$TMP/bad.yaml"
expect_rc 1 "check: accepting without trusted sources is an error" \
    sp check -c "$TMP/bad.yaml"
expect_grep 'metadata.annotations\[svcproxy.io/accept-proxy-protocol\]: Invalid value: "true": ProxyConfig spec.proxyProtocolTrustedSources is empty' \
    "$TMP/err" "check: says which field is missing"
sp resolve -c "$CONF" >"$TMP/resolve.txt" 2>&1
expect_grep "$P1/TCP -> p .*client address by proxy-protocol-v1  accepts proxy-protocol" \
    "$TMP/resolve.txt" "resolve: lbr accepts and sends"

LOG="$TMP/run.log"
sp_start "$LOG" "$TMP/sp.pid" run -c "$CONF" --workers 2
sp_wait_ready "$LOG" "$TMP/sp.pid" 20 || { finish; exit 1; }
listening() { ss -Hltn | awk '{ print $4 }' | grep -qxF "$1"; }
wait_for 20 listening "$HA.1:$HP" || { echo "no haproxy"; cat "$TMP/haproxy.log"; exit 1; }

# ---- 1. behind HAProxy ----
# via NAME SRC FRONT WANT(ok|reset): a line through HAProxy.
via() {
	local out
	out=$(python3 "$TMP/cli.py" "$2" "$3" "$HP" "$(hex 'hi\n')" line \
	    2>&1) || true
	case "$4:$(echo "$out" | awk '{ print $2 ":" $3 }')" in
	ok:eof:6f6b0a) pass "$1" ;;
	# HAProxy passes svcproxy's reset on as a FIN.
	reset:eof:-|reset:reset:-) pass "$1" ;;
	*) fail "$1: got '$out'" ;;
	esac
	LAST_PORT=${out%% *}
}
n0=$(nraw)
via "sourceRanges: $CLI.10 (in the header) gets through" "$CLI.10" "$HA.1" ok
P_OK=$LAST_PORT
wait_for 10 test -s "$TMP/raw.$((n0 + 1))" || true
want=$(hex "PROXY TCP4 $CLI.10 $HA.1 $P_OK $HP\r\nhi\n")
expect "the header sent on: the client and HAProxy's frontend" "$want" \
    "$(cat "$TMP/raw.$((n0 + 1))" 2>/dev/null)"
via "sourceRanges: $CLI.11 (in the header) is refused" "$CLI.11" "$HA.1" reset
via "NetworkPolicy: $CLI.20 (in the header) gets through" "$CLI.20" "$HA.2" ok
via "NetworkPolicy: $CLI.21 (in the header) is refused" "$CLI.21" "$HA.2" reset
expect_grep "client=$CLI.11:[0-9]+ .*reason=source-denied" "$LOG" \
    "the log names the header's client"
expect_grep "client=$CLI.21:[0-9]+ .*reason=policy-denied" "$LOG" \
    "the policy refusal names the header's client"

# ---- 2. straight from a trusted sender ----
# (claiming $CLI.10, which lbr's loadBalancerSourceRanges allow)
n0=$(nraw)
out=$(python3 "$TMP/cli.py" "$TR.1" "$LB.1" "$P1" \
    "$(hex "PROXY TCP4 $CLI.10 198.51.100.1 4242 443\r\nhello\n")" x)
wait_for 10 test -s "$TMP/raw.$((n0 + 1))" || true
expect "a trusted v1 header is believed, the bytes behind it follow" \
    "$(hex "PROXY TCP4 $CLI.10 198.51.100.1 4242 443\r\nhello\n")" \
    "$(cat "$TMP/raw.$((n0 + 1))" 2>/dev/null)"
v2=$(python3 - "$CLI.10" <<'PYEOF'
import socket, struct, sys
h = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12)
h += socket.inet_aton(sys.argv[1]) + socket.inet_aton("198.51.100.2")
print((h + struct.pack("!HH", 1000, 80) + b"v2\n").hex())
PYEOF
)
n0=$(nraw)
out=$(python3 "$TMP/cli.py" "$TR.2" "$LB.1" "$P1" "$v2" x)
wait_for 10 test -s "$TMP/raw.$((n0 + 1))" || true
expect "a trusted v2 header is believed" \
    "$(hex "PROXY TCP4 $CLI.10 198.51.100.2 1000 80\r\nv2\n")" \
    "$(cat "$TMP/raw.$((n0 + 1))" 2>/dev/null)"

# ---- 3. hostile input ----
# hostile NAME SRC HEX MODE: reset, and no connection at the receiver.
hostile() {
	local n0 out
	n0=$(nraw)
	out=$(python3 "$TMP/cli.py" "$2" "$LB.1" "$P1" "$3" "$4" 2>&1) || true
	sleep 0.2
	if [ "$(echo "$out" | awk '{ print $2 }')" = reset ] &&
	    [ "$(nraw)" = "$n0" ]; then
		pass "$1: reset, nothing reached the backend"
	else
		fail "$1: got '$out', receiver connections $n0 -> $(nraw)"
	fi
	HOSTILE_OUT=$out
}
good=$(hex 'PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\r\nhello\n')
hostile "untrusted sender" "$UN.1" "$good" fin
hostile "no header" "$TR.3" "$(hex 'GET / HTTP/1.0\r\n\r\n')" fin
hostile "truncated v1" "$TR.4" "$(hex 'PROXY TCP4 192.0.2.7 198.5')" fin
hostile "oversized v1" "$TR.5" "$(hex "PROXY UNKNOWN $(printf '%0150d' 0)")" hold
hostile "malformed v1 (leading zero)" "$TR.6" \
    "$(hex 'PROXY TCP4 192.0.2.07 198.51.100.1 4242 443\r\n')" fin
hostile "malformed v1 (lone LF)" "$TR.7" \
    "$(hex 'PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\n')" fin
hostile "v2 bad signature" "$TR.8" "${v2/0d0a0d0a000d0a515549540a/0d0a0d0a000d0a515549540b}" fin
hostile "v2 short address block" "$TR.9" \
    "0d0a0d0a000d0a515549540a2111000b0102030405060708000100" fin
hostile "stalled partial header" "$TR.10" "$(hex 'PROXY TCP4 192.0.2.7')" hold
t=$(echo "$HOSTILE_OUT" | awk '{ print $4 }')
if awk -v t="$t" 'BEGIN { exit !(t >= 0.9 && t < 4) }'; then
	pass "the stalled header was closed after the 1s timeout (${t}s)"
else
	fail "the stalled header was closed after ${t}s, not about 1s"
fi
expect_grep "refused $UN.1:[0-9]+: not a trusted PROXY protocol sender" \
    "$LOG" "logged: the untrusted sender"
expect_grep "refused $TR.[0-9]+:[0-9]+: not a valid PROXY protocol header" \
    "$LOG" "logged: a malformed header"
expect_grep "refused $TR.4:[0-9]+: closed before a whole PROXY protocol header" \
    "$LOG" "logged: the header cut short by the client's FIN"
expect_grep "reason=proxy-header-incomplete" "$LOG" "logged: the close, as incomplete"
expect_grep "reason=proxy-header-timeout" "$LOG" "logged: the timeout"
m=$(curl -s --max-time 5 "http://127.0.0.1:$(admin_port "$LOG")/metrics" |
    awk 'index($0, "svcproxy_port_refused_total{") == 1 &&
    index($0, "reason=\"source\"") && index($0, "service=\"lbr\"") {
    print $2 }')
if [ "${m:-0}" -ge 10 ]; then
	pass "counted: $m refused on lbr"
else
	fail "counted: refused_total{reason=source} of lbr is '${m:-}'"
fi

stop_pids "$SP_PID"
finish
