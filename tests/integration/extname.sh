#!/bin/bash
# ExternalName proxying (extname.c): a Service of type ExternalName with
# svcproxy.io/proxy-external-name: "true" is served on its externalIPs,
# TCP and UDP, to the A and AAAA records of its name, asked of a real
# DNS server this test runs (NSD, on a 127.x address and a free port,
# with a zone it writes).  Covers: check and resolve; both families as
# endpoints; the zone changed (short TTL) moves traffic with no SIGHUP,
# a held connection staying up; SIGHUP while a query hangs (NSD
# stopped with SIGSTOP); the DNS server gone: the last good answer
# kept, the failure counted and shown; holdOnFailure dropping it.
# Loopback only, bounded waits, every process killed on exit.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=$(realpath "${SVCPROXY:-$top_srcdir/src/svcproxy}")
TOOL="$top_srcdir/tests/integration/tcptool.py"
UDP="$top_srcdir/tests/integration/udptool.py"
WORK=$(mktemp -d /tmp/svcproxy-extname.XXXXXX)
PIDS=()
FAILED=0

. "$top_srcdir/tests/integration/tcp_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"
NSD_PID=
# NSD's processes: the one in its pidfile and its descendants (the
# server that answers is a grandchild), by parent pid.
nsd_procs() {
	local all="" next=$NSD_PID p
	while [ -n "$next" ]; do
		all="$all $next"
		p=$(echo $next | tr ' ' ',')
		next=$(pgrep -P "$p" | tr '\n' ' ')
	done
	echo $all
}
xn_cleanup() {
	local p
	for p in $(nsd_procs); do
		kill -CONT "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	tcp_cleanup
}
trap xn_cleanup EXIT
trap 'exit 1' INT TERM

NSD=$(command -v nsd || echo /usr/sbin/nsd)
if [ ! -x "$NSD" ]; then
	echo "ok - # SKIP nsd is not installed (.ci/deps --test installs it)"
	exit 77
fi

tool() { timeout 30 python3 "$TOOL" "$@"; }
udp() { timeout 60 python3 "$UDP" "$@"; }

# A port free for both TCP and UDP on address $1 (kernel-chosen).
both_free() {
	python3 - "$1" <<'EOF'
import socket, sys
for _ in range(50):
    u = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((sys.argv[1], 0))
    p = u.getsockname()[1]
    t = socket.socket(u.family, socket.SOCK_STREAM)
    try:
        t.bind((sys.argv[1], p))
    except OSError:
        continue
    print(p)
    break
EOF
}

A=$((RANDOM % 200 + 20))
B=$((RANDOM % 200 + 20))
NS="127.53.$A.9"		# the DNS server
B1="127.54.$A.1"		# backends
B2="127.54.$A.2"
EXT="127.55.$A.$B"		# the Service's externalIP
EXT2="127.55.$A.$((B + 1))"
NAME=billing.svcproxy.test
NSPORT=$(both_free "$NS")
TP=$(both_free ::1)		# backends' port, on every address
SP=$(both_free "$EXT")
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
[ -n "$NSPORT" ] && [ -n "$TP" ] && [ -n "$SP" ] &&
    [ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }

# ---- the DNS server ----

ZONE="$WORK/svcproxy.test.zone"
SERIAL=1
# zone RECORDS...: write the zone ("billing A 1.2.3.4" lines), TTL 1 s,
# with an mtime past the last one, since NSD reloads a zone file only
# when its mtime moved.
zone() {
	local r
	SERIAL=$((SERIAL + 1))
	{
		echo "\$ORIGIN svcproxy.test."
		echo "\$TTL 1"
		echo "@ IN SOA ns.svcproxy.test. admin.svcproxy.test. $SERIAL 60 60 60 1"
		echo "@ IN NS ns"
		echo "ns IN A $NS"
		for r in "$@"; do echo "$r"; done
	} >"$ZONE"
	touch -d "@$(( $(date +%s) + SERIAL ))" "$ZONE"
}
cat >"$WORK/nsd.conf" <<EOF
server:
  ip-address: $NS@$NSPORT
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$WORK"
  database: ""
  zonelistfile: "$WORK/zone.list"
  xfrdfile: "$WORK/xfrd.state"
  xfrdir: "$WORK"
  pidfile: "$WORK/nsd.pid"
  logfile: "$WORK/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "svcproxy.test"
  zonefile: "svcproxy.test.zone"
EOF
start_nsd() {
	rm -f "$WORK/nsd.pid"
	"$NSD" -c "$WORK/nsd.conf" || { cat "$WORK/nsd.log"; exit 1; }
	wait_file "$WORK/nsd.pid" || exit 1
	NSD_PID=$(cat "$WORK/nsd.pid")
}

# ---- backends: each says its name, then echoes ----

for b in b1:$B1 b2:$B2 b6:::1; do
	python3 "$TOOL" serve --mode id --host "${b#*:}" --port "$TP" \
	    --name "${b%%:*}" --ready "$WORK/${b%%:*}.port" \
	    >"$WORK/${b%%:*}.log" 2>&1 &
	echo $! >"$WORK/${b%%:*}.pid"
done
for u in u1:$B1 u2:$B2 u6:::1; do
	python3 "$UDP" serve --host "${u#*:}" --port "$TP" --name "${u%%:*}" \
	    --ready "$WORK/${u%%:*}.port" >"$WORK/${u%%:*}.log" 2>&1 &
	echo $! >"$WORK/${u%%:*}.pid"
done
for f in b1 b2 b6 u1 u2 u6; do wait_file "$WORK/$f.port" || exit 1; done

# ---- configuration ----

# conf HOLD [EXTRA_SERVICE]: ProxyConfig and the Services.
conf() {
	cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  adminAddress: $ADMIN
  connectionLog: info
  externalName:
    nameservers: ["$NS:$NSPORT"]
    minTTL: 1s
    maxTTL: 2s
    holdOnFailure: $1
---
apiVersion: v1
kind: Service
metadata:
  name: billing
  annotations: {svcproxy.io/proxy-external-name: "true"}
spec:
  type: ExternalName
  externalName: $NAME
  externalIPs: ["$EXT"]
  ports:
  - {name: t, port: $SP, targetPort: $TP}
  - {name: u, port: $SP, targetPort: $TP, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata:
  name: noaddr
  annotations: {svcproxy.io/proxy-external-name: "true"}
spec:
  type: ExternalName
  externalName: $NAME
  ports:
  - {name: t, port: $SP}
EOF
	[ -z "${2:-}" ] || cat <<EOF
---
apiVersion: v1
kind: Service
metadata:
  name: other
  annotations: {svcproxy.io/proxy-external-name: "true"}
spec:
  type: ExternalName
  externalName: other.svcproxy.test.
  externalIPs: ["$EXT2"]
  ports:
  - {name: t, port: $SP, targetPort: $TP}
EOF
}
CONF="$WORK/conf.yaml"
conf 60s >"$CONF"

# ---- check and resolve ----

out=$("$SVCPROXY" check -c "$CONF" 2>&1)
expect "check: accepted" 0 $?
expect "check: billing proxied to its name" 1 "$(printf '%s\n' "$out" |
    grep -c "ExternalName default/billing: proxied to $NAME ")"
expect "check: noaddr not proxied, and why" 1 "$(printf '%s\n' "$out" |
    grep -c "ExternalName default/noaddr: not proxied: it has no spec.externalIPs")"
expect "check: the warning says where" 1 "$(printf '%s\n' "$out" |
    grep -c "conf.yaml:[0-9]*:[0-9]*: Service default/noaddr: metadata.annotations\[svcproxy.io/proxy-external-name\]: not proxied")"
out=$("$SVCPROXY" resolve -c "$CONF" 2>/dev/null)
expect "resolve: billing" 1 "$(printf '%s\n' "$out" | grep -c "proxied to $NAME: its A and AAAA")"
expect "resolve: listens on the externalIP, TCP and UDP" 2 \
    "$(printf '%s\n' "$out" | grep -c "listen    $EXT:$SP .*ExternalIP")"
out=$("$SVCPROXY" resolve -c "$CONF" -o json 2>/dev/null)
expect "resolve json: to" 1 "$(printf '%s\n' "$out" | grep -c "\"externalNameProxy\":{\"to\":\"$NAME\",\"notProxiedBecause\":null}")"
sed 's/proxy-external-name: "true"/proxy-external-name: "yes"/' "$CONF" \
    >"$WORK/bad.yaml"
out=$("$SVCPROXY" check -c "$WORK/bad.yaml" 2>&1)
expect "check: a bad annotation value is an error" 1 $?
expect "check: its wording" 2 "$(printf '%s\n' "$out" |
    grep -c 'Unsupported value: "yes": supported values: "false", "true"')"

sed -e "s/nameservers: \[.*\]/nameservers: [\"$NS:$NSPORT\", \"nope\"]/" \
    -e 's/minTTL: 1s/minTTL: 10s/' "$CONF" >"$WORK/bad.yaml"
out=$("$SVCPROXY" check -c "$WORK/bad.yaml" 2>&1)
expect "check: bad resolver settings are errors" 1 $?
expect "check: a bad nameserver named" 1 "$(printf '%s\n' "$out" |
    grep -c 'spec.externalName.nameservers\[1\]: Invalid value: "nope"')"
expect "check: minTTL over maxTTL" 1 "$(printf '%s\n' "$out" |
    grep -c 'spec.externalName.minTTL: Invalid value: "10s": must not be greater than spec.externalName.maxTTL')"

# ---- served ----

zone "billing IN A $B1" "billing IN AAAA ::1" "other IN A $B1"
start_nsd
start_proxy "$CONF" "$WORK/sp.log"

# status_addrs NAME: the addresses /status shows for NAME, space-separated.
status_addrs() {
	curl -sf --max-time 5 "http://$ADMIN/status" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)["externalNames"]
except Exception:
    print("unreachable"); sys.exit()
for n in d["names"]:
    if n["name"] == sys.argv[1]:
        print(" ".join(n["addresses"])); break
else:
    print("absent")' "$1"
}
# status_field NAME FIELD
status_field() {
	curl -sf --max-time 5 "http://$ADMIN/status" | python3 -c '
import json, sys
for n in json.load(sys.stdin)["externalNames"]["names"]:
    if n["name"] == sys.argv[1]:
        print(n[sys.argv[2]])' "$1" "$2"
}
# wait_addrs NAME WANT [SECONDS]: poll /status until NAME has WANT.
wait_addrs() {
	local i v
	for i in $(seq 1 $(( ${3:-15} * 10 ))); do
		v=$(status_addrs "$1")
		[ "$v" = "$2" ] && break
		sleep 0.1
	done
	echo "$v"
}
# ids N TARGET: the backends N connections reach, sorted and counted.
ids() {
	local i
	for i in $(seq 1 "$1"); do tool id "$2"; done | sort | uniq -c |
	    awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1}'
}
# uids N TARGET: the same for UDP, one flow (source port) each.
uids() {
	local i
	for i in $(seq 1 "$1"); do
		udp ask --to "$2" --msg "m$i" | awk '{print $2}' | cut -d: -f1
	done | sort | uniq -c | awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1}'
}

expect "resolved: A and AAAA" "$B1 ::1" "$(wait_addrs $NAME "$B1 ::1")"
expect "TCP: both answers are endpoints" "b1=5 b6=5" "$(ids 10 "$EXT:$SP")"
expect "UDP: both answers are endpoints" "u1=2 u6=2" "$(uids 4 "$EXT:$SP")"
expect "/status: TTL as the record's, clamped" 1000 "$(status_field $NAME ttlMs)"
EPM=$(portm svcproxy_port_endpoints default billing "$SP" 'state="ready"')
expect_metric "metrics: the answers are the port's endpoints" "$ADMIN" \
    "$EPM" 2
expect_metric "metrics: no failure" "$ADMIN" \
    svcproxy_external_name_failures_total 0

# ---- the answer changes: traffic moves, no SIGHUP, no file read ----

# A connection to b1 held across the change stays up.
cat >"$WORK/held.py" <<'EOF'
import os, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
for _ in range(20):
    s = socket.create_connection((host, int(port)), timeout=10)
    f = s.makefile("rb")
    if f.readline().strip() == b"b1":
        break
    s.close()
else:
    print("no b1"); sys.exit(1)
open(sys.argv[2], "w").write("1\n")
for _ in range(600):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)
s.sendall(b"two")
print("alive" if f.read(3) == b"two" else "dead")
EOF
timeout 90 python3 "$WORK/held.py" "$EXT:$SP" "$WORK/held.ready" \
    "$WORK/held.go" >"$WORK/held.out" 2>&1 &
HELD=$!
PIDS+=($HELD)
wait_file "$WORK/held.ready" || exit 1
reloads0=$(grep -c "reload:" "$WORK/sp.log")
zone "billing IN A $B2" "other IN A $B1"
kill -HUP "$NSD_PID"
t0=$(now)
expect "new answer seen" "$B2" "$(wait_addrs $NAME "$B2")"
between "within the TTL and a query" "$(since "$t0")" 0 5
expect "TCP: traffic moved" "b2=6" "$(ids 6 "$EXT:$SP")"
expect "UDP: traffic moved" "u2=3" "$(uids 3 "$EXT:$SP")"
expect "no reload" "$reloads0" "$(grep -c "reload:" "$WORK/sp.log")"
expect_metric "metrics: the port's endpoints follow" "$ADMIN" "$EPM" 1
expect "log: the change" 1 "$(grep -c "external name $NAME: $B2 (was $B1 ::1" "$WORK/sp.log")"
expect "log: built with no file read" 1 \
    "$(grep -c "endpoints updated in .* (no file read)" "$WORK/sp.log" | awk '{print ($1 >= 2)}')"
touch "$WORK/held.go"
wait "$HELD"
expect "held connection to the old address stays up" alive "$(cat "$WORK/held.out")"
v=$(mval "$ADMIN" svcproxy_external_name_changes_total)
expect "metrics: changes counted" 1 "$( [ "$v" != none ] && [ "$v" -ge 2 ] && echo 1)"

# ---- SIGHUP while a query hangs ----

# NSD stopped, not gone: the queries of the next round wait for their
# timeout, and the reloads below happen while they are out.  The new
# Service's name cannot resolve meanwhile, so no rebuild follows the
# reload: its own snapshot must have the answers.
NSD_STOPPED=$(nsd_procs)
kill -STOP $NSD_STOPPED
sleep 1.5			# past the 1 s TTL: a round is out
# applied N: wait until N reloads have been applied in all.
applied() {
	local i
	for i in $(seq 1 150); do
		[ "$(grep -c "reload: configuration .* applied" "$WORK/sp.log")" -ge "$1" ] &&
		    { echo 1; return; }
		sleep 0.1
	done
	echo 0
}
# Add a Service (its name's query hangs), drop it while that query is
# out, add it again: the dropped entry waits for its answer to be freed.
conf 60s other >"$CONF"
kill -HUP "$PROXY"
expect "reload applied while a query hangs" 1 "$(applied 1)"
conf 60s >"$CONF"
kill -HUP "$PROXY"
expect "reload dropping a name whose query is out" 1 "$(applied 2)"
conf 60s other >"$CONF"
kill -HUP "$PROXY"
expect "reload adding it again" 1 "$(applied 3)"
expect "still serving the last good answer" "b2=3" "$(ids 3 "$EXT:$SP")"
expect "the new Service: no answer yet" "" "$(status_addrs other.svcproxy.test)"
kill -CONT $NSD_STOPPED
expect "the new Service's name resolved after" "$B1" "$(wait_addrs other.svcproxy.test "$B1" 20)"
expect "/status: the name listed once" 1 "$(curl -sf "http://$ADMIN/status" |
    grep -o '"name":"other.svcproxy.test"' | wc -l)"
expect "the new Service is served" "b1=2" "$(ids 2 "$EXT2:$SP")"
expect "svcproxy alive" 1 "$(kill -0 "$PROXY" 2>/dev/null && echo 1)"

# ---- the DNS server gone: the last good answer is kept ----

f0=$(mval "$ADMIN" svcproxy_external_name_failures_total)
kill -TERM "$NSD_PID"
for i in $(seq 1 100); do kill -0 "$NSD_PID" 2>/dev/null || break; sleep 0.1; done
NSD_PID=
ok=0
for i in $(seq 1 150); do
	v=$(mval "$ADMIN" svcproxy_external_name_failures_total)
	n=$(status_field $NAME failingInARow)
	[ "$v" -gt "$f0" ] 2>/dev/null && [ "$n" -ge 1 ] 2>/dev/null &&
	    { ok=1; break; }
	sleep 0.1
done
expect "failure counted (/metrics) and shown (/status failingInARow)" 1 "$ok"
err=$(status_field $NAME lastError)
expect "/status: last error shown" 1 "$( [ -n "$err" ] && [ "$err" != None ] && echo 1)"
expect "/status: last good answer kept" "$B2" "$(status_addrs $NAME)"
expect "TCP: still served" "b2=3" "$(ids 3 "$EXT:$SP")"
expect "UDP: still served" "u2=2" "$(uids 2 "$EXT:$SP")"
expect "log: the failure, rate-limited" 1 \
    "$(grep -c "external name $NAME: .*the last good answer is kept" "$WORK/sp.log" | awk '{print ($1 >= 1 && $1 <= 6)}')"

# ---- holdOnFailure: the last good answer is dropped after it ----

conf 2s other >"$CONF"
kill -HUP "$PROXY"
expect "dropped after holdOnFailure" "" "$(wait_addrs $NAME "" 20)"
expect_metric "metrics: expiry counted" "$ADMIN" \
    svcproxy_external_name_expired_total 2
out=$(tool id "$EXT:$SP")
expect "no endpoint: the connection is closed" 1 \
    "$(printf '%s' "$out" | grep -vc "b[126]")"

stop_proxy
expect "clean exit" 0 $?
expect "no error logged" 0 "$(grep -c " error: " "$WORK/sp.log")"
[ "$FAILED" = 0 ] || { echo "--- svcproxy log"; cat "$WORK/sp.log"; }
exit "$FAILED"
