#!/bin/bash
# svcproxy.io/proxy-protocol: v2 on a UDP Service port (relay_udp.c):
# every datagram to the endpoint starts with a PROXY v2 header (HAProxy's
# doc/proxy-protocol.txt: the header and the payload in one datagram,
# one header per datagram), command PROXY, family UDP4 or UDP6, source
# the client's address and port, destination the address and port it
# sent to.  The endpoint is a raw receiver that logs each header and
# echoes the payload after it; the client must get its own bytes back.
# Replies carry no header.  `check` warns for v1 on UDP, not for v2.
# Loopback only, bounded waits, every process killed on exit.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=$(realpath "${SVCPROXY:-$top_srcdir/src/svcproxy}")
UDP="$top_srcdir/tests/integration/udptool.py"
WORK=$(mktemp -d /tmp/svcproxy-udppp.XXXXXX)
PIDS=()
FAILED=0

. "$top_srcdir/tests/integration/tcp_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

udp() { timeout 60 python3 "$UDP" "$@"; }

# The endpoint: each datagram's header (when it starts with the v2
# signature: 16 bytes and the length they announce) goes to LOG in hex,
# one line per datagram; the rest is echoed as it is.  Without a
# signature it answers "noheader:" and the datagram, so the client sees
# the difference.
cat >"$WORK/ppserve.py" <<'EOF'
import os, socket, struct, sys
host, log, ready = sys.argv[1:4]
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
    socket.SOCK_DGRAM)
s.bind((host, 0))
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(ready + ".tmp", ready)
while True:
    d, src = s.recvfrom(65536)
    if len(d) >= 16 and d[:12] == SIG:
        n = 16 + struct.unpack("!H", d[14:16])[0]
        hdr, rest = d[:n], d[n:]
    else:
        hdr, rest = b"", b"noheader:" + d
    with open(log, "a") as f:
        f.write((hdr.hex() or "none") + "\n")
    s.sendto(rest, src)
EOF
# ppserve NAME HOST: start an endpoint; prints its port.
ppserve() {
	local ready="$WORK/$1.port"
	python3 "$WORK/ppserve.py" "$2" "$WORK/$1.hdr" "$ready" \
	    >"$WORK/$1.log" 2>&1 &
	echo $! >"$WORK/$1.pid"
	wait_file "$ready" || exit 1
	cat "$ready"
}
# want SRC SPORT DST DPORT: the header the specification asks for, in
# hex, written here from its layout (signature, 0x21 version 2 PROXY,
# 0x12 UDP4 or 0x22 UDP6, length, addresses, ports), not from svcproxy's.
want() {
	python3 - "$@" <<'EOF'
import socket, struct, sys
src, sport, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
if ":" in src:
    fam, proto, alen = socket.AF_INET6, 0x22, 36
else:
    fam, proto, alen = socket.AF_INET, 0x12, 12
h = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, proto]) + struct.pack("!H", alen)
h += socket.inet_pton(fam, src) + socket.inet_pton(fam, dst)
h += struct.pack("!HH", sport, dport)
print(h.hex())
EOF
}
# hdrs NAME: the distinct header lines NAME's endpoint logged.
hdrs() { sort -u "$WORK/$1.hdr" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }

A=$((RANDOM % 200 + 20))
B=$((RANDOM % 200 + 20))
NET4="127.24.$A"		# Pod addresses
CIP="127.21.$A.$B"
CLI="127.25.$A.7"		# the client's own address
SP=$(udp freeport 20000 29999 "$CIP" ::1)
C4=$(udp freeport 40000 49990 "$CLI")
C6=$(udp freeport 40000 49990 ::1)
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ -n "$C4" ] && [ -n "$C6" ] &&
    [ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }

P4=$(ppserve e4 "$NET4.1")
P6=$(ppserve e6 ::1)

# conf FILE VERSION: two UDP Services (IPv4, IPv6) with that header.
conf() {
	cat >"$1" <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.21.0.0/16
  adminAddress: $ADMIN
  udpIdleTimeout: 30s
---
apiVersion: v1
kind: Service
metadata:
  name: four
  annotations: {svcproxy.io/proxy-protocol: "$2"}
spec:
  selector: {app: four}
  clusterIP: $CIP
  ports:
  - {name: main, port: $SP, targetPort: p, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata:
  name: six
  annotations: {svcproxy.io/proxy-protocol: "$2"}
spec:
  selector: {app: six}
  ipFamilies: [IPv6]
  clusterIP: "::1"
  ports:
  - {name: main, port: $SP, targetPort: p, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata: {name: four-1, labels: {app: four}}
spec:
  containers:
  - name: c
    ports: [{name: p, containerPort: $P4, protocol: UDP}]
status:
  phase: Running
  podIP: "$NET4.1"
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Pod
metadata: {name: six-1, labels: {app: six}}
spec:
  containers:
  - name: c
    ports: [{name: p, containerPort: $P6, protocol: UDP}]
status:
  phase: Running
  podIP: "::1"
  conditions: [{type: Ready, status: "True"}]
EOF
}

echo "# check: v2 is honoured on UDP ports, v1 is not"
conf "$WORK/v1.yaml" v1
out=$("$SVCPROXY" check -c "$WORK/v1.yaml" 2>&1)
case $out in
*"v1 has no UDP form"*) pass "check warns for v1 on a UDP port" ;;
*) fail "check does not warn for v1 on a UDP port: $out" ;;
esac
CONF="$WORK/conf.yaml"
conf "$CONF" v2
out=$("$SVCPROXY" check -c "$CONF" 2>&1)
case $out in
*"not honoured"*) fail "check warns for v2 on a UDP port: $out" ;;
*) pass "check accepts v2 on a UDP port without a warning" ;;
esac

WORKERS=2 start_proxy "$CONF" "$WORK/run.log"

echo "# IPv4: client $CLI:$C4 to $CIP:$SP"
W4=$(want "$CLI" "$C4" "$CIP" "$SP")
expect "the client gets its payload back unmodified" "$CIP:$SP hello-4" \
    "$(udp ask --bind "$CLI" --port "$C4" --to "$CIP:$SP" --msg hello-4)"
# The same flow's later datagrams carry the header again.
expect "the flow's second datagram too" "$CIP:$SP again-4" \
    "$(udp ask --bind "$CLI" --port "$C4" --to "$CIP:$SP" --msg again-4)"
BIG=$(head -c 3000 /dev/zero | tr '\0' x)
expect "3000 bytes come back unmodified" "$CIP:$SP $BIG" \
    "$(udp ask --bind "$CLI" --port "$C4" --to "$CIP:$SP" --msg "$BIG")"
expect "every datagram starts with the UDP4 v2 header" "$W4" "$(hdrs e4)"
n=$(grep -cx "$W4" "$WORK/e4.hdr" 2>/dev/null)
[ "${n:-0}" -ge 3 ] && pass "one header per datagram ($n datagrams)" ||
    fail "${n:-0} datagrams had the header, want 3 or more"

echo "# IPv6: client [::1]:$C6 to [::1]:$SP"
W6=$(want ::1 "$C6" ::1 "$SP")
expect "the client gets its payload back unmodified" "[::1]:$SP hello-6" \
    "$(udp ask --bind ::1 --port "$C6" --to "[::1]:$SP" --msg hello-6)"
expect "the datagram starts with the UDP6 v2 header" "$W6" "$(hdrs e6)"

stop_proxy || fail "svcproxy exited non-zero"
exit $FAILED
