#!/bin/bash
# The PROXY protocol to backends (README, "Client address"), against
# real receivers written by others, on loopback:
#   nginx, `listen ... proxy_protocol`, logging
#     $proxy_protocol_addr:$proxy_protocol_port in an access log, and
#   HAProxy, `bind ... accept-proxy`, logging %ci:%cp to stdout,
# each behind two Services, svcproxy.io/proxy-protocol v1 and v2.
#   1. For v1 and v2, IPv4 and IPv6: a client bound (before connect) to
#      an address of the test's 127.x block, or to ::1, gets the
#      receiver's answer, and the receiver logs that address and the
#      client's own port (not svcproxy's), so the header came first and
#      was whole, also with the request already waiting at the connect.
#   1b. Byte for byte, at a raw receiver that records what it reads: a
#      client that sends its bytes and a FIN at once gets exactly the v1
#      line or the v2 header (source the client, destination the
#      ClusterIP and Service port it connected to), then its bytes; a
#      client that sends nothing until the server speaks gets the
#      header sent alone, at once.
#   2. Health checks of a PROXY protocol Service send the header too:
#      http (v2 LOCAL to nginx, a v1 line to HAProxy), tcp (v2 LOCAL
#      to HAProxy) and https (v2 LOCAL before the TLS handshake, to an
#      nginx `listen ... ssl proxy_protocol`; skipped without openssl or
#      in a build without OpenSSL) keep the endpoints up; the same http
#      and https checks without the header (Services without the
#      annotation, same endpoints) go down, as nginx refuses them.
#   3. `check` refuses a bad value with the API server's wording;
#      `resolve` shows the method per Service port.
# Skips (exit 77) only when nginx or haproxy is not installed
# (.ci/deps --test installs both).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
HAPROXY=$(command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null || true)
if [ -z "$NGINX" ] || [ -z "$HAPROXY" ]; then
	echo "SKIP: nginx and haproxy are needed as PROXY protocol" \
	    "receivers (.ci/deps --test installs them)"
	exit 77
fi

A=$((RANDOM % 200 + 20))
NET="127.70.$A"		# backends
CNET="127.72.$A"	# clusterIPs
CLI="127.71.$A"		# clients
NGP=$(free_port 20000 29999 "$NET.1")
NGSP=$(free_port 20000 29999 "$NET.4")
HAP=$(free_port 20000 29999 "$NET.2")
[ -n "$NGP" ] && [ -n "$NGSP" ] && [ -n "$HAP" ] ||
    { echo "no free port"; exit 1; }
# https checks: a certificate, and a build that can check over TLS.
TLS=0
if command -v openssl >/dev/null &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
    -keyout "$TMP/tls.key" -out "$TMP/tls.pem" -subj /CN=pp.test \
    >/dev/null 2>&1; then
	printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: t\n  %s\n%s\n' \
	    'annotations: {svcproxy.io/health-check: https}' \
	    'spec: {clusterIP: 10.96.0.9, ports: [{port: 443}]}' \
	    >"$TMP/tls-probe.yaml"
	"$SVCPROXY" check -c "$TMP/tls-probe.yaml" >/dev/null 2>&1 && TLS=1
fi
[ "$TLS" = 1 ] || echo "# https checks skipped: no openssl, or no OpenSSL"
# One port per Service: they share ::1 as an externalIP.
PORTS=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	p=$(free_port 20000 29999 ::1 127.0.0.1)
	while [ -n "$p" ] && echo " $PORTS $NGP $HAP " | grep -q " $p "; do
		p=$(free_port 20000 29999 ::1 127.0.0.1)
	done
	[ -n "$p" ] || { echo "no free port"; exit 1; }
	PORTS="$PORTS $p"
done
# shellcheck disable=SC2086
set -- $PORTS
P_NG1=$1 P_NG2=$2 P_HA1=$3 P_HA2=$4 P_HCNG=$5 P_HCHA=$6 P_HCTCP=$7
P_HCNONE=$8 P_RAW1=$9 P_RAW2=${10} P_HCTLS=${11} P_HCTLSNONE=${12}

# ---- the receivers ----
mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx/nginx.conf" <<NEOF
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log info;
events { worker_connections 256; }
http {
	log_format pp '\$proxy_protocol_addr:\$proxy_protocol_port';
	access_log $TMP/nginx/access.log pp;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	server {
		listen $NET.1:$NGP proxy_protocol;
		location / { return 200 "nginx\n"; }
	}
$([ "$TLS" = 1 ] && cat <<TEOF
	server {
		listen $NET.4:$NGSP ssl proxy_protocol;
		ssl_certificate $TMP/tls.pem;
		ssl_certificate_key $TMP/tls.key;
		location / { return 200 "tls\n"; }
	}
TEOF
)
}
NEOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
    -g 'daemon off;' >"$TMP/nginx/out.log" 2>&1 &
PIDS="$PIDS $!"
cat >"$TMP/haproxy.cfg" <<HEOF
defaults
	mode http
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend web
	bind $NET.2:$HAP accept-proxy
	log stdout format raw local0
	log-format "web %ci:%cp %HM"
	http-request return status 200 content-type text/plain string haproxy
HEOF
"$HAPROXY" -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
listening() { ss -Hltn | awk '{ print $4 }' | grep -qxF "$1"; }
wait_for 20 listening "$NET.1:$NGP" ||
    { echo "nginx did not start"; cat "$TMP/nginx/"*.log; exit 1; }
wait_for 20 listening "$NET.2:$HAP" ||
    { echo "haproxy did not start"; cat "$TMP/haproxy.log"; exit 1; }

# The raw receiver: writes what each connection sent (hex) to FILE.N.
cat >"$TMP/raw.py" <<'PYEOF'
import socket, sys, threading
host, ready, out = sys.argv[1], sys.argv[2], sys.argv[3]
ls = socket.socket()
ls.bind((host, 0))
ls.listen(64)
open(ready + ".tmp", "w").write("%d\n" % ls.getsockname()[1])
import os
os.rename(ready + ".tmp", ready)
n = 0
def serve(c, i):
    data = b""
    c.settimeout(10)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
            if data.endswith(b"\r\n"):
                c.sendall(b"ok\n")	# the header alone came
    except OSError:
        pass
    with open("%s.%d.tmp" % (out, i), "w") as f:
        f.write(data.hex() + "\n")
    os.rename("%s.%d.tmp" % (out, i), "%s.%d" % (out, i))
    c.close()
while True:
    c, _ = ls.accept()
    n += 1
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
PYEOF
python3 "$TMP/raw.py" "$NET.3" "$TMP/raw.port" "$TMP/raw" \
    >"$TMP/raw.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/raw.port" ||
    { echo "raw receiver did not start"; cat "$TMP/raw.log"; exit 1; }
RAWP=$(cat "$TMP/raw.port")

# ---- svcproxy ----
CONF="$TMP/conf"
mkdir -p "$CONF"
# svc NAME CLUSTERIP PORT APP ANNOTATION-LINES
svc() {
	cat <<YEOF
---
apiVersion: v1
kind: Service
metadata:
  name: $1
  annotations:
    svcproxy.io/connect-timeout: 2s
$5
spec:
  selector: {app: $4}
  clusterIP: $2
  externalIPs: ["::1"]
  ports: [{port: $3, targetPort: p}]
YEOF
}
# pod NAME APP IP PORT
pod() {
	cat <<YEOF
---
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $2}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $4}]}]}
status: {phase: Running, podIP: "$3", conditions: [{type: Ready, status: "True"}]}
YEOF
}
HC='    svcproxy.io/health-check-interval: 200ms
    svcproxy.io/health-check-rise: "1"
    svcproxy.io/health-check-fall: "1"'
{
	cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: $CNET.0/24
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  connectionLog: info
YEOF
	svc ng1 "$CNET.1" "$P_NG1" ng '    svcproxy.io/proxy-protocol: v1'
	svc ng2 "$CNET.2" "$P_NG2" ng '    svcproxy.io/proxy-protocol: v2'
	svc ha1 "$CNET.3" "$P_HA1" ha '    svcproxy.io/proxy-protocol: v1'
	svc ha2 "$CNET.4" "$P_HA2" ha '    svcproxy.io/proxy-protocol: v2'
	svc hcng "$CNET.5" "$P_HCNG" ng "    svcproxy.io/proxy-protocol: v2
    svcproxy.io/health-check: http
$HC"
	svc hcha "$CNET.6" "$P_HCHA" ha "    svcproxy.io/proxy-protocol: v1
    svcproxy.io/health-check: http
$HC"
	svc hctcp "$CNET.7" "$P_HCTCP" ha "    svcproxy.io/proxy-protocol: v2
    svcproxy.io/health-check: tcp
$HC"
	svc hcnone "$CNET.8" "$P_HCNONE" ng "    svcproxy.io/health-check: http
$HC"
	if [ "$TLS" = 1 ]; then
		svc hctls "$CNET.11" "$P_HCTLS" ngtls "    svcproxy.io/proxy-protocol: v2
    svcproxy.io/health-check: https
$HC"
		svc hctlsnone "$CNET.12" "$P_HCTLSNONE" ngtls "    svcproxy.io/health-check: https
$HC"
		pod ngtls-1 ngtls "$NET.4" "$NGSP"
	fi
	svc raw1 "$CNET.9" "$P_RAW1" raw '    svcproxy.io/proxy-protocol: v1'
	svc raw2 "$CNET.10" "$P_RAW2" raw '    svcproxy.io/proxy-protocol: v2'
	pod raw-1 raw "$NET.3" "$RAWP"
	pod ng-1 ng "$NET.1" "$NGP"
	pod ha-1 ha "$NET.2" "$HAP"
} >"$CONF/all.yaml"

expect_rc 0 "check accepts v1 and v2" sp check -c "$CONF"
sed 's/proxy-protocol: v1$/proxy-protocol: v3/' "$CONF/all.yaml" \
    >"$TMP/bad.yaml"
expect_rc 1 "check refuses v3" sp check -c "$TMP/bad.yaml"
expect_grep 'metadata.annotations\[svcproxy.io/proxy-protocol\]: Unsupported value: "v3": supported values: "none", "v1", "v2"' \
    "$TMP/err" "check: the API server's wording"
sp resolve -c "$CONF" >"$TMP/resolve.txt" 2>&1
expect_grep "$P_NG1/TCP -> p .*client address by proxy-protocol-v1" \
    "$TMP/resolve.txt" "resolve: v1 on ng1's port"
expect_grep "$P_HA2/TCP -> p .*client address by proxy-protocol-v2" \
    "$TMP/resolve.txt" "resolve: v2 on ha2's port"
if grep -q "$P_HCNONE/TCP -> p .*client address" "$TMP/resolve.txt"; then
	fail "resolve: a Service without the annotation shows a method"
else
	pass "resolve: none shown without the annotation"
fi

LOG="$TMP/run.log"
sp_start "$LOG" "$TMP/sp.pid" run -c "$CONF" --workers 2
sp_wait_ready "$LOG" "$TMP/sp.pid" 20 || { finish; exit 1; }
ADM="127.0.0.1:$(admin_port "$LOG")"

# ---- 1. the client's address at the receivers ----
cat >"$TMP/client.py" <<'PYEOF'
import socket, sys
src, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in src else socket.AF_INET)
s.settimeout(10)
s.bind((src, 0))
s.connect((host, port))
# The request at once: it waits in svcproxy while it connects onwards.
s.sendall(b"GET /pp HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(s.getsockname()[1], data.split(b"\r\n")[0].decode(errors="replace"))
PYEOF
# through NAME SRC HOST PORT RECEIVER-LOG FORMAT: one request; the
# receiver logs SRC and the client's port, in a line FORMAT (printf)
# makes of "SRC:PORT".
through() {
	local out cport want
	out=$(python3 "$TMP/client.py" "$2" "$3" "$4" 2>&1) || true
	cport=${out%% *}
	if [ "${out#* }" != "HTTP/1.1 200 OK" ]; then
		fail "$1: answer '$out'"
		return
	fi
	# shellcheck disable=SC2059
	want=$(printf "$6" "$2:$cport")
	if wait_for 10 grep -qxF "$want" "$5"; then
		pass "$1: the receiver logged $2:$cport"
	else
		fail "$1: no '$want' in $5"
		sed 's/^/#   /' "$5" | tail -5
	fi
}
NGL="$TMP/nginx/access.log"
HAL="$TMP/haproxy.log"
through "nginx v1 IPv4" "$CLI.11" "$CNET.1" "$P_NG1" "$NGL" "%s"
through "nginx v2 IPv4" "$CLI.12" "$CNET.2" "$P_NG2" "$NGL" "%s"
through "nginx v1 IPv6" ::1 ::1 "$P_NG1" "$NGL" "%s"
through "nginx v2 IPv6" ::1 ::1 "$P_NG2" "$NGL" "%s"
through "haproxy v1 IPv4" "$CLI.13" "$CNET.3" "$P_HA1" "$HAL" "web %s GET"
through "haproxy v2 IPv4" "$CLI.14" "$CNET.4" "$P_HA2" "$HAL" "web %s GET"
through "haproxy v1 IPv6" ::1 ::1 "$P_HA1" "$HAL" "web %s GET"
through "haproxy v2 IPv6" ::1 ::1 "$P_HA2" "$HAL" "web %s GET"
# Through the ClusterIP on the v4-mapped side too: many at once.
n=0
for i in $(seq 1 20); do
	out=$(python3 "$TMP/client.py" "$CLI.$((20 + i))" "$CNET.2" "$P_NG2" \
	    2>&1) || true
	[ "${out#* }" = "HTTP/1.1 200 OK" ] &&
	    grep -qxF "$CLI.$((20 + i)):${out%% *}" "$NGL" && n=$((n + 1))
done
expect "20 clients, each logged by nginx with its address" 20 "$n"

# ---- 1b. byte for byte ----
cat >"$TMP/rawclient.py" <<'PYEOF'
import socket, sys
src, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.settimeout(10)
s.bind((src, 0))
s.connect((host, port))
s.sendall(b"hello, backend")
s.shutdown(socket.SHUT_WR)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
print(s.getsockname()[1])
PYEOF
# raw NAME SRC VIP PORT N WANT-HEX-COMMAND...: connection N at the raw
# receiver holds what the command prints (given the client's port).
raw() {
	local cport want got
	cport=$(python3 "$TMP/rawclient.py" "$2" "$3" "$4" 2>&1) || true
	want=$("${@:6}" "$cport")
	if wait_for 10 test -s "$TMP/raw.$5"; then
		got=$(cat "$TMP/raw.$5")
	else
		got="(nothing)"
	fi
	expect "$1" "$want" "$got"
}
v1_hex() {
	printf 'PROXY TCP4 %s %s %s %s\r\nhello, backend' "$CLI.41" \
	    "$CNET.9" "$1" "$P_RAW1" | od -An -v -tx1 | tr -d ' \n'
}
v2_hex() {
	python3 -c '
import socket, struct, sys
sig = b"\r\n\r\n\x00\r\nQUIT\n"
h = sig + bytes([0x21, 0x11]) + struct.pack("!H", 12)
h += socket.inet_aton(sys.argv[1]) + socket.inet_aton(sys.argv[2])
h += struct.pack("!HH", int(sys.argv[4]), int(sys.argv[3]))
print((h + b"hello, backend").hex())' "$CLI.42" "$CNET.10" "$P_RAW2" "$1"
}
raw "raw v1: the line, then the client's bytes" "$CLI.41" "$CNET.9" \
    "$P_RAW1" 1 v1_hex
raw "raw v2: the header, then the client's bytes" "$CLI.42" "$CNET.10" \
    "$P_RAW2" 2 v2_hex
# A client that waits for the server to speak first: the header goes
# alone, at once (the receiver answers it), not held for client bytes.
out=$(python3 - "$CLI.43" "$CNET.9" "$P_RAW1" 2>&1 <<'PYEOF'
import socket, sys
s = socket.socket()
s.settimeout(10)
s.bind((sys.argv[1], 0))
s.connect((sys.argv[2], int(sys.argv[3])))
got = b""
try:
    while not got.endswith(b"\n"):
        b = s.recv(100)
        if not b:
            break
        got += b
except OSError:
    pass
print(s.getsockname()[1], got.decode(errors="replace").strip() or "-")
PYEOF
) || true
expect "a silent client: the header is sent alone, answered" ok "${out#* }"
wait_for 10 test -s "$TMP/raw.3" || true
expect "a silent client: the line alone" \
    "$(printf 'PROXY TCP4 %s %s %s %s\r\n' "$CLI.43" "$CNET.9" "${out%% *}" \
    "$P_RAW1" | od -An -v -tx1 | tr -d ' \n')" "$(cat "$TMP/raw.3" 2>/dev/null)"

# ---- 2. health checks with the header ----
# ep_health SVC PORT ENDPOINT: "health|result|reason" in /status.
ep_health() {
	curl -s --max-time 5 "http://$ADM/status" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for l in d["live"]:
    if l["service"] != sys.argv[1]:
        continue
    for e in l.get("endpoints", []):
        if e["address"] == sys.argv[2]:
            c = e.get("check", {})
            print("%s|%s|%s" % (e.get("health"), c.get("result", ""),
                  c.get("reason", "") if c.get("result") == "fail" else ""))
            sys.exit(0)
print("none")' "default/$1:$2" "$3"
}
# health_is SVC PORT ENDPOINT WANT-REGEX: poll up to 15 s.
health_is() {
	local got="" end=$((SECONDS + 15))
	while [ $SECONDS -le $end ]; do
		got=$(ep_health "$1" "$2" "$3" 2>/dev/null || true)
		echo "$got" | grep -qE "^$4\$" && {
			pass "health $1 $3: $got"; return 0; }
		sleep 0.2
	done
	fail "health $1 $3: want /$4/, got '$got'"
}
health_is hcng "$P_HCNG" "$NET.1:$NGP" 'up\|pass\|'
health_is hcha "$P_HCHA" "$NET.2:$HAP" 'up\|pass\|'
health_is hctcp "$P_HCTCP" "$NET.2:$HAP" 'up\|pass\|'
# Without the header nginx refuses the same check ("broken header").
health_is hcnone "$P_HCNONE" "$NET.1:$NGP" 'down\|fail\|.+'
if [ "$TLS" = 1 ]; then
	health_is hctls "$P_HCTLS" "$NET.4:$NGSP" 'up\|pass\|'
	health_is hctlsnone "$P_HCTLSNONE" "$NET.4:$NGSP" 'down\|fail\|.+'
fi
# Still up after several more rounds: every check carried the header.
sleep 1
health_is hcng "$P_HCNG" "$NET.1:$NGP" 'up\|pass\|'
health_is hcha "$P_HCHA" "$NET.2:$HAP" 'up\|pass\|'
health_is hctcp "$P_HCTCP" "$NET.2:$HAP" 'up\|pass\|'
[ "$TLS" = 1 ] && health_is hctls "$P_HCTLS" "$NET.4:$NGSP" 'up\|pass\|'
expect_grep "broken header" "$TMP/nginx/error.log" \
    "nginx: the check without the header was refused as such"
# HAProxy logged the v1 checks' requests under svcproxy's own address
# (the getsockname/getpeername pair of section 2.1), and the tcp checks'
# LOCAL connections, which carry no request.
expect_grep "^web 127\\.0\\.0\\.1:[0-9]+ GET\$" "$HAL" \
    "haproxy: the v1 checks' line names the probe's own address"
expect_grep "^web 127\\.0\\.0\\.1:[0-9]+ <BADREQ>\$" "$HAL" \
    "haproxy: the tcp checks' LOCAL connections, accepted"

stop_pids "$SP_PID"
finish
