#!/bin/bash
# Cluster DNS (ProxyConfig spec.dns) against the real binary, with dig,
# on loopback: A, AAAA, SRV, PTR, the ExternalName CNAME, the
# dns-version TXT, NXDOMAIN and REFUSED; a headless Service's addresses
# and per-endpoint names (EndpointSlice hostnames, and selected Pods'
# spec.hostname under a spec.subdomain naming the Service); a headless Service with 200 endpoints over UDP
# (TC set, the message within 512 bytes, rotated between questions) and
# over TCP (all 200); a SIGHUP that adds a Service, whose name then
# resolves with no restart; SIGHUPs that move spec.dns.listen to another
# port, to a port another process holds (the reload fails, the running
# server answers on), off and on again; /metrics counts it all
# (promtool clean);
# SIGTERM stops the server.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"

for tool in dig curl python3; do
	command -v "$tool" >/dev/null || { echo "not ok - $tool is needed" \
	    "(.ci/deps --test installs bind9-dnsutils; not skipped: CI needs it)"
	    exit 1; }
done

A=$((RANDOM % 200 + 20))
cip() { echo "127.67.$A.$1"; }	# ClusterIPs
DIP="127.53.$A.1"		# the DNS server
DP=$(free_port 20000 29999 "$DIP")
SP=$(free_port 20000 29999 "$(cip 1)")
SP2=$(free_port 20000 29999 "$(cip 3)" ::1)	# the dual-stack Service
[ -n "$DP" ] && [ -n "$SP" ] && [ -n "$SP2" ] ||
    { echo "no free port"; exit 1; }
D="z.default.svc.cluster.local"	# (shorthand below: NAME.$NS)
NS="default.svc.cluster.local"

# q ARGS...: dig against the server, one try, no recursion asked.
q() { dig +norec +time=3 +tries=1 -p "$DP" "@$DIP" "$@"; }
# short ARGS...: the answer's data, sorted, on one line.
short() { q +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
# status ARGS...: the response code.
status() { q "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }

svc() {		# NAME SPEC-LINES
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n%s\n' "$1" "$2"
}
pod() {		# NAME IP SPEC-LINES
	printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, labels: {app: sts}}\nspec:\n  containers: [{name: c, ports: [{name: pg, containerPort: 5432}]}]\n%s\nstatus: {podIP: %s}\n' "$1" "$3" "$2"
}
slice() {	# NAME SVC TYPE ENDPOINT-LINES
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: %s\n  labels: {kubernetes.io/service-name: %s}\naddressType: %s\nports: [{name: pg, port: 5432}]\nendpoints:\n%s\n' "$1" "$2" "$3" "$4"
}
LISTEN="$DIP:$DP"	# spec.dns.listen; DNSOFF=1: no spec.dns
DNSOFF=
conf() {	# [extra Service]
	cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.67.0.0/16
  adminAddress: 127.0.0.1:0
  connectionLog: "off"
  workers: 1
YEOF
	[ -n "$DNSOFF" ] || echo "  dns: {listen: \"$LISTEN\", ttl: 7}"
	svc web "  clusterIP: $(cip 1)
  ports: [{name: http, port: $SP}]"
	svc dual "  clusterIP: $(cip 3)
  clusterIPs: [$(cip 3), \"::1\"]
  ipFamilyPolicy: PreferDualStack
  ports: [{name: http, port: $SP2}]"
	svc ext "  type: ExternalName
  externalName: www.example.com"
	svc db "  clusterIP: None
  ports: [{name: pg, port: 5432}]"
	slice db-1 db IPv4 "- addresses: [10.1.0.1]
  hostname: db-0
- addresses: [10.1.0.2]
- addresses: [10.1.0.3]
  conditions: {ready: false}"
	svc sts "  clusterIP: None
  selector: {app: sts}
  ports: [{name: pg, port: 5432}]"
	pod sts-0 10.2.0.1 "  hostname: sts-0
  subdomain: sts"
	pod sts-1 10.2.0.2 "  hostname: sts-1
  subdomain: other"
	svc six "  clusterIP: None
  ipFamilies: [IPv6]
  ports: [{name: pg, port: 5432}]"
	slice six-1 six IPv6 "- addresses: [\"fd00::1\"]"
	svc big "  clusterIP: None
  ports: [{name: pg, port: 5432}]"
	slice big-1 big IPv4 "$(for i in $(seq 1 200); do
		echo "- addresses: [10.9.$((i / 100)).$((i % 100 + 1))]"
	done)"
	[ -z "${1:-}" ] || svc "$1" "  clusterIP: $(cip 2)
  ports: [{name: http, port: $SP}]"
}
mkdir "$TMP/conf"
conf >"$TMP/conf/x.yaml"

sp_start "$TMP/log" "$TMP/pid" run -c "$TMP/conf"
sp_wait_ready "$TMP/log" "$TMP/pid" 30 || exit 1
ADDR="127.0.0.1:$(admin_port "$TMP/log")"
# The server starts after "serving": poll for its line.
wait_for 30 grep -q "dns: listening" "$TMP/log" || true
expect_grep "dns: listening on $DIP:$DP \(udp, tcp\) for cluster.local" \
    "$TMP/log" "the DNS server says where it listens"

# ---- the records ----
out=$(q web.$NS A)
expect "A: the ClusterIP" "$(cip 1)" "$(short web.$NS A)"
case "$out" in
*"flags: qr aa;"*) pass "authoritative, no recursion offered" ;;
*) fail "flags: $(echo "$out" | grep flags:)" ;;
esac
expect "TTL is spec.dns.ttl" "7" \
    "$(echo "$out" | awk '$4 == "A" { print $2 }')"
expect "names compare case-insensitively" "$(cip 1)" \
    "$(short WEB.Default.SVC.cluster.LOCAL A)"
expect "SRV of a named port" "0 100 $SP web.$NS." \
    "$(short _http._tcp.web.$NS SRV)"
expect "PTR of the ClusterIP" "web.$NS." "$(short -x "$(cip 1)")"
expect "dual-stack: A is the IPv4 clusterIP" "$(cip 3)" "$(short dual.$NS A)"
expect "dual-stack: AAAA is the IPv6 clusterIP" "::1" \
    "$(short dual.$NS AAAA)"
expect "dual-stack: PTR of the IPv4 one" "dual.$NS." "$(short -x "$(cip 3)")"
expect "dual-stack: PTR of the IPv6 one" "dual.$NS." "$(short -x ::1)"
# A listener accepts (and, with no endpoint, resets: on a busy machine
# the reset can reach connect() itself); no listener refuses.
expect "dual-stack: the IPv6 clusterIP is served too" "served" \
    "$(python3 -c 'import errno, socket, sys
s = socket.socket(socket.AF_INET6)
s.settimeout(5)
try:
    s.connect(("::1", int(sys.argv[1]))); print("served")
except OSError as e:
    print("served" if e.errno == errno.ECONNRESET else e)' "$SP2")"
expect "ExternalName: CNAME" "www.example.com." "$(short ext.$NS A)"
expect "ExternalName: CNAME asked" "www.example.com." \
    "$(short ext.$NS CNAME)"
expect "dns-version TXT" '"1.1.0"' "$(short dns-version.cluster.local TXT)"
expect "unknown name in the domain: NXDOMAIN" NXDOMAIN \
    "$(status nope.$NS A)"
expect "name outside the domain: REFUSED" REFUSED "$(status example.com A)"
soa="ns.dns.cluster.local. hostmaster.cluster.local."
for t in "" +tcp; do
	expect "NXDOMAIN ${t:-+udp}: the SOA in authority, minimum 7" \
	    "cluster.local. 7 SOA $soa 7200 1800 86400 7" \
	    "$(q $t nope.$NS A | awk '$4 == "SOA" { $5 = $5; print $1, $2, $4, $5, $6, $8, $9, $10, $11 }')"
done
expect "the apex's SOA" "$soa" \
    "$(short cluster.local SOA | awk '{ print $1, $2 }')"
expect "TCP asks the same zone" "$(cip 1)" "$(short +tcp web.$NS A)"
# A TCP client that shuts its side right after its question still gets
# the answer (RFC 7766 framing, by hand).
tcp_eof=$(python3 - "$DIP" "$DP" "web.$NS" <<'PYEOF'
import socket, struct, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
qn = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
m = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + qn + struct.pack(">HH", 1, 1)
s = socket.create_connection((host, port), timeout=5)
s.sendall(struct.pack(">H", len(m)) + m)
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
if len(data) < 2 + 12:
    print("no answer")
else:
    n = struct.unpack(">H", data[8:10])[0]
    print("ancount %d, %s" % (n, socket.inet_ntoa(data[-4:])))
PYEOF
)
expect "TCP: answered after the client's EOF" "ancount 1, $(cip 1)" "$tcp_eof"

# ---- headless ----
expect "headless: ready endpoint addresses" "10.1.0.1 10.1.0.2" \
    "$(short db.$NS A)"
expect "headless: an endpoint's hostname" "10.1.0.1" \
    "$(short db-0.db.$NS A)"
expect "headless: an endpoint without one, by address" "10.1.0.2" \
    "$(short 10-1-0-2.db.$NS A)"
expect "headless: not ready, no name" NXDOMAIN \
    "$(status 10-1-0-3.db.$NS A)"
expect "headless: SRV per endpoint" \
    "0 100 5432 10-1-0-2.db.$NS. 0 100 5432 db-0.db.$NS." \
    "$(short _pg._tcp.db.$NS SRV)"
expect "headless: PTR to the hostname" "db-0.db.$NS." "$(short -x 10.1.0.1)"
expect "Pod spec.hostname under its subdomain: A" "10.2.0.1" \
    "$(short sts-0.sts.$NS A)"
expect "Pod spec.hostname under another subdomain: no name" NXDOMAIN \
    "$(status sts-1.sts.$NS A)"
expect "that Pod goes by its address" "10.2.0.2" \
    "$(short 10-2-0-2.sts.$NS A)"
expect "Pod hostnames: SRV targets" \
    "0 100 5432 10-2-0-2.sts.$NS. 0 100 5432 sts-0.sts.$NS." \
    "$(short _pg._tcp.sts.$NS SRV)"
expect "Pod hostnames: PTR" "sts-0.sts.$NS." "$(short -x 10.2.0.1)"
expect "AAAA of an IPv6 headless Service" "fd00::1" "$(short six.$NS AAAA)"
expect "no A for it: NOERROR, no records" "NOERROR:" \
    "$(status six.$NS A):$(short six.$NS A)"

# ---- 200 endpoints: UDP truncated and rotated, TCP whole ----
u1=$(q +ignore +noedns big.$NS A)
u2=$(q +ignore +noedns big.$NS A)
n1=$(echo "$u1" | awk '$4 == "A"' | wc -l)
size=$(echo "$u1" | sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p')
case "$u1" in
*"flags: qr aa tc;"*) pass "UDP: TC set on 200 addresses" ;;
*) fail "UDP: no TC: $(echo "$u1" | grep flags:)" ;;
esac
if [ "$n1" -gt 10 ] && [ "$n1" -lt 200 ] && [ "${size:-999}" -le 512 ]; then
	pass "UDP: $n1 records in $size bytes (at most 512)"
else
	fail "UDP: $n1 records in ${size:-?} bytes"
fi
case "$u1" in
*malformed*|*"extra bytes"*) fail "UDP: a malformed message" ;;
*"ANSWER: $n1,"*) pass "UDP: the header counts the $n1 records sent" ;;
*) fail "UDP: header and records disagree: $(echo "$u1" | grep ANSWER:)" ;;
esac
f1=$(echo "$u1" | awk '$4 == "A" { print $5; exit }')
f2=$(echo "$u2" | awk '$4 == "A" { print $5; exit }')
if [ -n "$f1" ] && [ "$f1" != "$f2" ]; then
	pass "UDP: successive answers rotate ($f1, then $f2)"
else
	fail "UDP: the same first record twice ($f1, $f2)"
fi
expect "TCP: all 200 addresses" 200 \
    "$(q +tcp big.$NS A | awk '$4 == "A"' | sort -u | wc -l)"
expect "TCP: all 200 SRV" 200 \
    "$(q +tcp _pg._tcp.big.$NS SRV | awk '$4 == "SRV"' | wc -l)"
expect "dig retries a truncated answer over TCP by itself" 200 \
    "$(q big.$NS A | awk '$4 == "A"' | wc -l)"

# ---- reload: a new Service resolves, no restart ----
expect "before SIGHUP: unknown" NXDOMAIN "$(status late.$NS A)"
conf late >"$TMP/conf/x.yaml"
kill -HUP "$SP_PID"
if wait_for 20 sh -c "[ \"\$(dig +norec +short +time=1 +tries=1 -p $DP @$DIP late.$NS A)\" = $(cip 2) ]"; then
	pass "after SIGHUP: the new Service resolves"
else
	fail "after SIGHUP: late.$NS is $(short late.$NS A)"
fi
expect "after SIGHUP: still the same process" "$SP_PID" "$(cat "$TMP/pid")"

# ---- IPv6: a second process listening on [::1] ----
DP6=$(free_port 20000 29999 ::1)
mkdir "$TMP/conf6"
sed -e "s/listen: \"$DIP:$DP\"/listen: \"[::1]:$DP6\"/" \
    -e "s/^  serviceCIDR:.*/  serviceCIDR: 127.68.0.0\/16/" \
    -e "s/127\.67\.$A\./127.68.$A./" -e 's/"::1"/"fd00:68::1"/' \
    "$TMP/conf/x.yaml" >"$TMP/conf6/x.yaml"
pid1=$SP_PID
sp_start "$TMP/log6" "$TMP/pid6" run -c "$TMP/conf6"
if [ -n "$DP6" ] && sp_wait_ready "$TMP/log6" "$TMP/pid6" 30 &&
    wait_for 30 grep -q "dns: listening" "$TMP/log6"; then
	expect "a server on [::1]: A over UDP" "127.68.$A.1" \
	    "$(dig +norec +short +time=3 +tries=1 -p "$DP6" @::1 web.$NS A)"
	expect "a server on [::1]: over TCP" "127.68.$A.1" \
	    "$(dig +norec +short +tcp +time=3 +tries=1 -p "$DP6" @::1 web.$NS A)"
else
	fail "no server on [::1]:$DP6"
fi
stop_pids "$SP_PID"
SP_PID=$pid1

# ---- reload: spec.dns.listen moves, stops, starts; no restart ----
# at PORT ARGS...: the answer's data from the server on $DIP:PORT.
at() { local p=$1; shift
	dig +norec +short +time=2 +tries=1 -p "$p" "@$DIP" "$@" 2>/dev/null |
	    grep -v '^;' || true; }
answers() { [ "$(at "$1" web.$NS A)" = "$(cip 1)" ]; }
silent() { [ -z "$(at "$1" web.$NS A)" ]; }
# within SECONDS CMD...: poll CMD (a dig, up to 2 s each) for SECONDS.
within() { local end=$((SECONDS + $1)); shift
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1; }
DP2=$(free_port 20000 29999 "$DIP")
DP3=$(free_port 20000 29999 "$DIP")
reloads() { mval "$ADDR" "svcproxy_reloads_total{result=\"$1\"}"; }
line0=$(wc -l <"$TMP/log")
LISTEN="$DIP:$DP2"
conf late >"$TMP/conf/x.yaml"
kill -HUP "$SP_PID"
if [ -n "$DP2" ] && within 20 answers "$DP2"; then
	pass "listen moved by SIGHUP: answers on the new port"
else
	fail "listen moved by SIGHUP: nothing on $DIP:$DP2"
fi
expect "listen moved: the old port is closed" "" "$(at "$DP" web.$NS A)"
expect "listen moved: logged" 1 "$(tail -n +$((line0 + 1)) "$TMP/log" |
    grep -c "dns: listening on $DIP:$DP2 (udp, tcp) for cluster.local: .* (moved)")"
expect "listen moved: the same process" "$SP_PID" "$(cat "$TMP/pid")"

# A port another process holds (no SO_REUSEPORT): the bind fails in
# prepare, so the reload fails and the running server stays.
python3 - "$DIP" "$DP3" "$TMP/held" <<'PYEOF' &
import socket, sys, time, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], "w").write("held\n")
for _ in range(1200):		# 120 s at most; killed before
    if not os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)
PYEOF
PIDS="$PIDS $!"
holder=$!
wait_for 20 test -s "$TMP/held" || fail "no process holds $DIP:$DP3"
nfail=$(reloads failed)
line0=$(wc -l <"$TMP/log")
LISTEN="$DIP:$DP3"
conf late >"$TMP/conf/x.yaml"
kill -HUP "$SP_PID"
failed_is() { [ "$(reloads failed)" = "$1" ]; }
if wait_for 20 failed_is $((nfail + 1)); then
	pass "held port: the reload fails"
else
	fail "held port: reloads failed is $(reloads failed), was $nfail"
fi
expect "held port: the DNS part is named" 1 "$(tail -n +$((line0 + 1)) \
    "$TMP/log" | grep -c 'reload failed: cannot prepare the dns: still serving')"
expect "held port: the cause names the address" 1 "$(tail -n +$((line0 + 1)) \
    "$TMP/log" | grep -c "dns: cannot listen on $DIP:$DP3 (udp): ")"
if answers "$DP2"; then
	pass "held port: the running server still answers"
else
	fail "held port: $DIP:$DP2 gives '$(at "$DP2" web.$NS A)'"
fi
rm -f "$TMP/held"
stop_pids "$holder"

# Off, then on again at the first address.
DNSOFF=1
conf late >"$TMP/conf/x.yaml"
kill -HUP "$SP_PID"
if within 20 silent "$DP2"; then
	pass "spec.dns removed: the server stops"
else
	fail "spec.dns removed: $DIP:$DP2 still answers"
fi
expect_grep "dns: stopped" "$TMP/log" "spec.dns removed: logged"
expect "spec.dns removed: /metrics shows no DNS counters" none \
    "$(mval "$ADDR" 'svcproxy_dns_queries_total{type="A",rcode="NOERROR"}')"
DNSOFF=
LISTEN="$DIP:$DP"
conf late >"$TMP/conf/x.yaml"
kill -HUP "$SP_PID"
if within 20 answers "$DP"; then
	pass "spec.dns back: answers again, no restart"
else
	fail "spec.dns back: nothing on $DIP:$DP"
fi
expect "spec.dns back: the same process" "$SP_PID" "$(cat "$TMP/pid")"
expect "spec.dns back: its zone is the running one" "$(cip 2)" \
    "$(short late.$NS A)"

# ---- /metrics ----
curl -sf --max-time 5 "http://$ADDR/metrics" >"$TMP/metrics"
a_ok=$(mval "$ADDR" 'svcproxy_dns_queries_total{type="A",rcode="NOERROR"}')
if [ "$a_ok" != none ] && [ "$a_ok" -ge 10 ]; then
	pass "/metrics: A NOERROR counted ($a_ok)"
else
	fail "/metrics: A NOERROR is $a_ok"
fi
expect "/metrics: REFUSED counted" 1 \
    "$(mval "$ADDR" 'svcproxy_dns_queries_total{type="A",rcode="REFUSED"}')"
tr=$(mval "$ADDR" svcproxy_dns_truncated_total)
if [ "$tr" != none ] && [ "$tr" -ge 3 ]; then
	pass "/metrics: truncated answers counted ($tr)"
else
	fail "/metrics: truncated is $tr"
fi
prom_lint "$TMP/metrics" "/metrics with DNS counters passes promtool"

# ---- SIGTERM ----
# Exit status 0: under VALGRIND=1, no memory error and no definite
# leak (zones, TCP connections, the thread) at stop either.
kill -TERM "$SP_PID"
if wait_for 60 gone "$SP_PID"; then
	rc=0
	wait "$SP_PID" || rc=$?
	expect "SIGTERM stops it, exit status 0" 0 "$rc"
else
	fail "still running after SIGTERM"
fi
if q web.$NS A >/dev/null 2>&1; then
	fail "the DNS server still answers after SIGTERM"
else
	pass "the DNS server is gone with the process"
fi
finish
