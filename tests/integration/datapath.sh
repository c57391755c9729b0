#!/bin/bash
# Data path: the real svcproxy between real backends and clients, all on
# loopback (127.0.0.0/8 and ::1), kernel-chosen backend ports, random
# 127.x addresses and Service ports, every wait bounded, every process
# killed on exit.  VALGRIND=1 also runs one scenario under valgrind.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
TOOL="$top_srcdir/tests/integration/tcptool.py"
WORK=$(mktemp -d /tmp/svcproxy-dp.XXXXXX)
PIDS=()
FAILED=0
# Concurrent connections held at once: 8000 wants 2 fds each in the
# proxy plus room for the rest (2,000).  A lower hard limit shrinks the
# check, and says so; below NCONC_MIN it cannot mean much and is
# skipped, visibly.  Under CI (CI set, as CI services do) nothing may
# shrink: its machines allow 20,000 fds (ulimit -Hn).
NCONC_FULL=8000
NCONC=${NCONC:-$NCONC_FULL}
NCONC_MIN=1000
NCONC_WHY=
[ "$NCONC" != "$NCONC_FULL" ] && NCONC_WHY="NCONC=$NCONC in the environment"
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ $((2 * NCONC + 2000)) -gt "$hard" ]; then
	NCONC=$(( (hard - 2000) / 2 / 2 * 2 ))
	[ "$NCONC" -lt 0 ] && NCONC=0
	NCONC_WHY="open file hard limit $hard (ulimit -Hn) allows $NCONC of $NCONC_FULL connections"
	echo "# $NCONC_WHY"
fi

. "$top_srcdir/tests/integration/tcp_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

tool() { timeout 60 python3 "$TOOL" "$@"; }


# queued ADDR:PORT: connections waiting in the accept queues of the
# listening sockets on ADDR:PORT (a listener's Recv-Q).
queued() {
	ss -Hltn | awk -v a="$1" '$4 == a { n += $2 } END { print n + 0 }'
}

A=$((RANDOM % 200 + 20))
B=$((RANDOM % 200 + 20))
NET4="127.4.$A"			# Pod addresses
CIP="127.1.$A.$B"		# ClusterIPs: CIP, then the next few
LBIP="127.2.$A.$B"
EXTIP="127.3.$A.$B"
cip() { echo "127.1.$A.$((B + $1))"; }
SP=$(free_port 20000 29999 ::1 127.0.0.1)
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
SP6=$(free_port 20000 29999 ::1)
NP=$(free_port 30000 32767 127.0.0.1)
[ -n "$SP" ] && [ -n "$NP" ] && [ -n "$SP6" ] && [ "$ADMIN" != 127.0.0.1: ] ||
    { echo "no free port"; exit 1; }
# pm NAME SERVICE [EXTRA]: a default/SERVICE:SP series of /metrics.
pm() { portm "$1" default "$2" "$SP" "${3:-}"; }
# pe NAME SERVICE ENDPOINT: an endpoint's series.
pe() { epm "$1" default "$2" "$SP" "$3"; }
UP='direction="up"'
DOWN='direction="down"'

P_ECHO=$(backend echo echo "$NET4.1")
P_A=$(backend a id "$NET4.2")
P_B=$(backend b id "$NET4.3")
P_C=$(backend c id "$NET4.4")
P_HALF=$(backend half eofreply "$NET4.5")
P_RST=$(backend rst rst "$NET4.6")
P_WATCH=$(backend watch watch "$NET4.7")
P_RETRY=$(backend retry echo "$NET4.11")
P_IDLE=$(backend idle echo "$NET4.9")
P_SIX=$(backend six echo ::1)
P_LIM=$(backend lim echo "$NET4.14")
P_DEAD1=$(dead_port)
P_DEAD2=$(dead_port)
python3 "$TOOL" blackhole --host "$NET4.10" --ready "$WORK/bh.port" \
    >"$WORK/bh.log" 2>&1 &
PIDS+=($!)
wait_file "$WORK/bh.port" || exit 1
P_BH=$(cat "$WORK/bh.port")

CONF="$WORK/conf"
mkdir -p "$CONF"
{
	cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.1.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: $ADMIN
  connectTimeout: 2s
  # Longer than a slow run of the 8000 held connections, half of them
  # silent until the end (the idle Service has its own 1s).
  idleTimeout: 300s
  drainTimeout: 5s
  connectionLog: info
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  type: LoadBalancer
  selector: {app: echo}
  clusterIP: $CIP
  externalIPs: [$EXTIP, "::1"]
  loadBalancerIP: $LBIP
  ports:
  - {name: main, port: $SP, targetPort: p, nodePort: $NP}
EOF
	pod echo-1 echo "$NET4.1" "$P_ECHO"
	svc rr "$(cip 1)"
	pod rr-a rr "$NET4.2" "$P_A"
	pod rr-b rr "$NET4.3" "$P_B"
	pod rr-c rr "$NET4.4" "$P_C"
	svc half "$(cip 2)"
	pod half-1 half "$NET4.5" "$P_HALF"
	svc rst "$(cip 3)"
	pod rst-1 rst "$NET4.6" "$P_RST"
	svc watch "$(cip 4)"
	pod watch-1 watch "$NET4.7" "$P_WATCH"
	svc retry "$(cip 5)"
	pod retry-0 retry "$NET4.8" "$P_DEAD1"
	pod retry-1 retry "$NET4.11" "$P_RETRY"
	svc down "$(cip 6)"
	pod down-0 down "$NET4.12" "$P_DEAD1"
	pod down-1 down "$NET4.13" "$P_DEAD2"
	svc ctmo "$(cip 7)" "svcproxy.io/connect-timeout: 300ms"
	pod ctmo-0 ctmo "$NET4.10" "$P_BH"
	svc idle "$(cip 8)" "svcproxy.io/idle-timeout: 1s"
	pod idle-1 idle "$NET4.9" "$P_IDLE"
	svc empty "$(cip 9)"
	svc lim "$(cip 11)" 'svcproxy.io/max-connections: "2"'
	pod lim-1 lim "$NET4.14" "$P_LIM"
	cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: six}
spec:
  selector: {app: six}
  ipFamilies: [IPv6]
  clusterIP: "::1"
  ports:
  - {name: main, port: $SP6, targetPort: p}
EOF
	pod six-1 six ::1 "$P_SIX"
	cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  clusterIP: $(cip 10)
  ports:
  - {name: dns, port: $SP, protocol: UDP}
EOF
} >"$CONF/services.yaml"

PROXY=

# ---- startup errors ----
bad="$WORK/bad.yaml"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: "Bad_Name"}\nspec:\n  ports: [{port: 99999, targetPort: 80}]\n' >"$bad"
timeout 10 "$SVCPROXY" run -c "$bad" >"$WORK/bad.log" 2>&1
expect "invalid configuration exits 1" 1 $?
expect "every diagnostic printed" 2 "$(grep -c '^error:' "$WORK/bad.log")"

# An address someone else listens on: a clear error, naming the Service.
busy="127.1.$A.250"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen()
open(sys.argv[3], "w").write("ok"); time.sleep(30)' "$busy" "$SP" \
    "$WORK/busy.ready" &
BUSY=$!
PIDS+=($BUSY)
wait_file "$WORK/busy.ready"
mkdir -p "$WORK/busy"
{
	printf 'apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n'
	printf 'metadata: {name: c}\nspec: {adminAddress: "127.0.0.1:0"}\n'
	svc taken "$busy"
} >"$WORK/busy/services.yaml"
timeout 10 "$SVCPROXY" run -c "$WORK/busy" >"$WORK/busy.log" 2>&1
expect "address in use: exits 1" 1 $?
grep -q "Service default/taken:$SP (ClusterIP): cannot listen on $busy:$SP: bind: Address already in use" \
    "$WORK/busy.log" && pass "address in use: the error names the Service and address" ||
    { fail "address in use: no clear error"; cat "$WORK/busy.log"; }
kill "$BUSY" 2>/dev/null

start_proxy "$CONF" "$WORK/run1.log"
LOG1="$WORK/run1.log"
expect "pidfile holds the pid" "$PROXY" "$(cat "$WORK/pid")"
grep -q "open file limit" "$LOG1" && pass "fd limit logged" ||
    fail "fd limit not logged"
# UDP is served (udp.sh tests it): no warning for a UDP port any more.
expect "UDP port not warned" 0 \
    "$(grep -c 'Service default/dns: spec.ports\[[0-9]*\].protocol: UDP' "$LOG1")"

# ---- listeners of every kind, IPv6 ----
expect "ClusterIP" hello-c "$(tool echo "$CIP:$SP" hello-c)"
expect "NodePort" hello-n "$(tool echo "127.0.0.1:$NP" hello-n)"
expect "LoadBalancer" hello-l "$(tool echo "$LBIP:$SP" hello-l)"
expect "externalIPs" hello-e "$(tool echo "$EXTIP:$SP" hello-e)"
expect "externalIP ::1" hello-6 "$(tool echo "[::1]:$SP" hello-6)"
expect "IPv6 Service and endpoint" hello-66 \
    "$(tool echo "[::1]:$SP6" hello-66)"

# ---- integrity: 256 MiB each way at once ----
up0=$(mval "$ADMIN" "$(pm svcproxy_port_bytes_total echo "$UP")")
down0=$(mval "$ADMIN" "$(pm svcproxy_port_bytes_total echo "$DOWN")")
n0=$(mval "$ADMIN" "$(pm svcproxy_port_connections_total echo)")
out=$(tool bulk "$CIP:$SP" 256)
expect "256 MiB both ways, SHA-256" ok "${out%% *}"
echo "  $out"
expect_metric_delta "/metrics: 256 MiB counted up" "$ADMIN" \
    "$(pm svcproxy_port_bytes_total echo "$UP")" "$up0" 268435456
expect_metric_delta "/metrics: 256 MiB counted down" "$ADMIN" \
    "$(pm svcproxy_port_bytes_total echo "$DOWN")" "$down0" 268435456
expect_metric_delta "/metrics: one connection counted" "$ADMIN" \
    "$(pm svcproxy_port_connections_total echo)" "$n0" 1

# ---- half-close ----
expect "half-close: reply after client FIN" \
    "got 5 $(printf hello | sha256sum | cut -d' ' -f1)" \
    "$(tool halfclose "$(cip 2):$SP" hello)"
expect_metric "/metrics: half-close bytes up" "$ADMIN" \
    "$(pm svcproxy_port_bytes_total half "$UP")" 5
expect_metric "/metrics: half-close bytes down" "$ADMIN" \
    "$(pm svcproxy_port_bytes_total half "$DOWN")" 71

# ---- many connections of mixed sizes, each half-closed ----
# Sizes cross the 16 KiB copy-to-splice switch; every connection checks
# its echo byte for byte.  The seed is printed to replay a failure.
mixed() {
	local seed=$RANDOM out up0 down0 n0 bytes
	up0=$(mval "$ADMIN" "$(pm svcproxy_port_bytes_total echo "$UP")")
	down0=$(mval "$ADMIN" "$(pm svcproxy_port_bytes_total echo "$DOWN")")
	n0=$(mval "$ADMIN" "$(pm svcproxy_port_connections_total echo)")
	out=$(tool mixed "$CIP:$SP" 2000 50 "$seed")
	echo "mixed (seed $seed): $out" | head -7 | sed 's/^/# /'
	expect "$1: 2000 mixed echo connections, 50 at once" "ok 2000 fail 0" \
	    "$(echo "$out" | head -1)"
	bytes=$(echo "$out" | sed -n 's/^bytes //p')
	expect_metric_delta "$1: /metrics: 2000 connections counted" \
	    "$ADMIN" "$(pm svcproxy_port_connections_total echo)" "$n0" 2000
	expect_metric_delta "$1: /metrics: $bytes bytes counted up" \
	    "$ADMIN" "$(pm svcproxy_port_bytes_total echo "$UP")" "$up0" \
	    "${bytes:-x}"
	expect_metric_delta "$1: /metrics: $bytes bytes counted down" \
	    "$ADMIN" "$(pm svcproxy_port_bytes_total echo "$DOWN")" "$down0" \
	    "${bytes:-x}"
}
mixed "splice"

# ---- resets both ways ----
expect "backend reset reaches the client" reset \
    "$(tool expect-reset "$(cip 3):$SP" hi)"
tool rst "$(cip 4):$SP" >/dev/null
for i in $(seq 1 100); do [ -s "$WORK/watch.watch" ] && break; sleep 0.1; done
expect "client reset reaches the backend" reset "$(cat "$WORK/watch.watch")"

# ---- round robin, exact rotation ----
seq=""
for i in $(seq 1 9); do seq="$seq $(tool id "$(cip 1):$SP")"; done
set -- $seq
expect "round robin visits three endpoints" 3 \
    "$(printf '%s\n' $seq | sort -u | wc -l)"
expect "round robin rotation" "$1 $2 $3 $1 $2 $3 $1 $2 $3" "${seq# }"

# ---- retry on refusal ----
ok=0
for i in $(seq 1 6); do
	[ "$(tool echo "$(cip 5):$SP" r$i)" = "r$i" ] && ok=$((ok + 1))
done
expect "refused endpoint retried: 6 of 6 served" 6 $ok
# The dead endpoint sorts first by name and address; round robin moves
# two steps per connection (dead, then live), so each one hits it until
# passive outlier detection (default: 5 failures in a row) ejects it:
# the sixth goes straight to the live one.
n=$(grep -c "connect to $NET4.8:$P_DEAD1 for default/retry:$SP failed: Connection refused (attempt 1 of 3)" "$LOG1")
expect "refusals logged on the dead endpoint until ejected" 5 "$n"
expect "the dead endpoint ejected once, after 5 failures" 1 \
    "$(grep -c "endpoint $NET4.8:$P_DEAD1 of default/retry:$SP.* ejected for 30000ms after 5 " "$LOG1")"
expect_metric "/metrics: 5 connect failures" "$ADMIN" \
    "$(pm svcproxy_port_connect_failures_total retry)" 5
expect_metric "/metrics: 5 retries" "$ADMIN" \
    "$(pm svcproxy_port_connect_retries_total retry)" 5
expect_metric "/metrics: the dead endpoint failed 5 times" "$ADMIN" \
    "$(pe svcproxy_endpoint_connect_failures_total retry "$NET4.8:$P_DEAD1")" 5
expect_metric "/metrics: the dead endpoint ejected once" "$ADMIN" \
    "$(pe svcproxy_endpoint_ejections_total retry "$NET4.8:$P_DEAD1")" 1
expect_metric "/metrics: the live endpoint never failed" "$ADMIN" \
    "$(pe svcproxy_endpoint_connect_failures_total retry "$NET4.11:$P_RETRY")" 0
expect_metric "/metrics: the live endpoint served 6" "$ADMIN" \
    "$(pe svcproxy_endpoint_connections_total retry "$NET4.11:$P_RETRY")" 6
expect_metric "/metrics: 12 bytes up after retries" "$ADMIN" \
    "$(pm svcproxy_port_bytes_total retry "$UP")" 12

# ---- all endpoints down, no endpoints ----
out=$(tool reset-time "$(cip 6):$SP" hi)
expect "all endpoints down: client reset" reset "${out%% *}"
between "all endpoints down: prompt" "${out#* }" 0 1.0
expect_metric "/metrics: all down: 2 connect failures" "$ADMIN" \
    "$(pm svcproxy_port_connect_failures_total down)" 2
expect_metric "/metrics: all down: 1 retry" "$ADMIN" \
    "$(pm svcproxy_port_connect_retries_total down)" 1
expect_metric "/metrics: all down: not counted as no endpoint" "$ADMIN" \
    "$(pm svcproxy_port_no_endpoint_total down)" 0
expect "no endpoints: client reset" reset \
    "$(tool expect-reset "$(cip 9):$SP" hi)"
expect_metric "/metrics: no endpoints counted" "$ADMIN" \
    "$(pm svcproxy_port_no_endpoint_total empty)" 1
expect_metric "/metrics: no endpoints: no connect failure" "$ADMIN" \
    "$(pm svcproxy_port_connect_failures_total empty)" 0

# ---- connect timeout ----
out=$(tool reset-time "$(cip 7):$SP" hi)
expect "connect timeout: client reset" reset "${out%% *}"
# Well below the ProxyConfig's 2s: the annotation's 300ms applies.
between "connect timeout after 300ms" "${out#* }" 0.29 1.5
grep -q "service=default/ctmo:$SP endpoint=$NET4.10:$P_BH .*reason=connect-failed error=\"Connection timed out\"" "$LOG1" &&
    pass "connect timeout logged" || fail "connect timeout not logged"
expect_metric "/metrics: connect timeout counted as a failure" "$ADMIN" \
    "$(pm svcproxy_port_connect_failures_total ctmo)" 1
expect_metric "/metrics: connect timeout: no retry (one endpoint)" "$ADMIN" \
    "$(pm svcproxy_port_connect_retries_total ctmo)" 0

# ---- idle timeout ----
out=$(tool idle "$(cip 8):$SP")
expect "idle timeout closes with FIN" eof "${out%% *}"
# The upper bound allows a loaded machine a second late; the
# ProxyConfig default it must not fall back to is 300s.
between "idle timeout after 1s" "${out#* }" 0.9 3.0

# ---- connection log ----
grep -q "conn client=127.0.0.1:[0-9]* service=default/half:$SP endpoint=$NET4.5:$P_HALF up=5 down=71 duration=[0-9]*ms reason=done" "$LOG1" &&
    pass "connection log line" || fail "connection log line"

# ---- per-Service limit: the third connection waits, is not dropped ----
mkfifo "$WORK/lim.in"
exec 8<>"$WORK/lim.in"
timeout 60 python3 "$TOOL" hold "$(cip 11):$SP" 2 "$WORK/lim.ready" \
    <"$WORK/lim.in" 8>&- >"$WORK/lim.out" 2>&1 &
LIMH=$!
PIDS+=($LIMH)
wait_file "$WORK/lim.ready"
expect "at max-connections: not served" timeout \
    "$(tool --timeout 1 echo "$(cip 11):$SP" x)"
tool --connected "$WORK/lim3.conn" echo "$(cip 11):$SP" waited 8>&- \
    >"$WORK/lim3.out" &
LIM3=$!
PIDS+=($LIM3)
# Established by the kernel, queued, not accepted: then the holders go.
wait_file "$WORK/lim3.conn"
exec 8>&-	# the two holders close
wait $LIMH
wait $LIM3
expect "below max-connections again: the waiting client is served" \
    waited "$(cat "$WORK/lim3.out")"
# Each worker counts the times it paused accepting (not connections):
# at least once, a few times at most.
expect_metric_in "/metrics: max-connections pauses counted" "$ADMIN" \
    "$(pm svcproxy_port_limited_total lim)" 1 10
expect_metric "/metrics: no pause on an unlimited Service" "$ADMIN" \
    "$(pm svcproxy_port_limited_total echo)" 0

# ---- concurrent connections held at once ----
if [ -n "$NCONC_WHY" ] && [ -n "${CI:-}" ]; then
	fail "$NCONC_FULL connections at once: CI must run it at full size: $NCONC_WHY"
elif [ "$NCONC" -lt "$NCONC_MIN" ]; then
	skip "$NCONC_FULL connections at once: $NCONC_WHY"
else
	[ -n "$NCONC_WHY" ] &&
	    echo "# holding $NCONC connections, not $NCONC_FULL: $NCONC_WHY"
	half=$((NCONC / 2))
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY/status")
	mkfifo "$WORK/hold.in"
	exec 7<>"$WORK/hold.in"
	# Half echo once, half send nothing until the end: neither kind
	# may keep a buffer while idle.
	for k in 1 2; do
		quiet=; [ $k = 2 ] && quiet=silent
		timeout 300 python3 "$TOOL" --timeout 60 hold "$CIP:$SP" $half \
		    "$WORK/hold$k.ready" $quiet <"$WORK/hold.in" 7>&- \
		    >"$WORK/hold$k.out" 2>&1 &
		PIDS+=($!)
		eval "HOLD$k=$!"
	done
	t0=$(now)
	for i in $(seq 1 600); do
		[ -s "$WORK/hold1.ready" ] && [ -s "$WORK/hold2.ready" ] && break
		kill -0 $HOLD1 2>/dev/null && kill -0 $HOLD2 2>/dev/null || break
		sleep 0.1
	done
	held=$(( $(cat "$WORK/hold1.ready" 2>/dev/null || echo 0) + \
	    $(cat "$WORK/hold2.ready" 2>/dev/null || echo 0) ))
	expect "$NCONC connections open at once" "$NCONC" "$held"
	echo "# $held connections opened in $(since "$t0") s"
	# The silent ones are established by the kernel before the proxy
	# accepts them: poll until it has.
	for i in $(seq 1 300); do
		fds=$(ls /proc/$PROXY/fd | wc -l)
		[ "$fds" -ge $((2 * NCONC)) ] && break
		sleep 0.1
	done
	[ "$fds" -ge $((2 * NCONC)) ] && pass "proxy holds $fds fds" ||
	    fail "proxy holds only $fds fds"
	# Userspace memory per idle connection (the relay struct; kernel
	# socket buffers aside).  ASan's allocator pads every block.
	rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY/status")
	per=$(( (rss1 - rss0) * 1024 / NCONC ))
	echo "# RSS $rss0 -> $rss1 KiB with $NCONC held: $per bytes each"
	if nm "$SVCPROXY" 2>/dev/null | grep -q __asan_init; then
		skip "memory per idle connection (ASan build)"
	else
		[ "$per" -le 1024 ] &&
		    pass "$per bytes of userspace memory per idle connection" ||
		    fail "$per bytes per idle connection (more than 1 KiB)"
	fi
	exec 7>&-	# EOF on the clients' stdin: check and close
	wait $HOLD1; r1=$?
	wait $HOLD2; r2=$?
	expect "all $NCONC still echo" "0 0 held $half alive $half" \
	    "$r1 $r2 $(cat "$WORK/hold1.out")"
	rm -f "$WORK/hold.in"
fi

# ---- drain on SIGTERM ----
tool slow "$CIP:$SP" 1.5 >"$WORK/slow.out" &
SLOW=$!
for i in $(seq 1 100); do grep -q started "$WORK/slow.out" && break; sleep 0.1; done
kill -TERM "$PROXY"
# The workers close their listeners once they see the signal: poll.
for i in $(seq 1 100); do
	[ "$(tool echo "$CIP:$SP" x)" = refused ] && break
	sleep 0.1
done
expect "new connections refused while draining" refused \
    "$(tool echo "$CIP:$SP" x)"
wait $SLOW
expect "open connection finishes during drain" "started ok" \
    "$(echo $(cat "$WORK/slow.out"))"
for i in $(seq 1 100); do kill -0 "$PROXY" 2>/dev/null || break; sleep 0.1; done
wait "$PROXY"
expect "exit 0 after drain" 0 $?
[ -e "$WORK/pid" ] && fail "pidfile left behind" || pass "pidfile removed"

# ---- copy path (no splice) ----
start_proxy "$CONF" "$WORK/run2.log" SVCPROXY_NO_SPLICE=1
out=$(tool bulk "$CIP:$SP" 64)
expect "copy path: 64 MiB both ways" ok "${out%% *}"
expect "copy path: half-close" \
    "got 5 $(printf hello | sha256sum | cut -d' ' -f1)" \
    "$(tool halfclose "$(cip 2):$SP" hello)"
mixed "copy path"
stop_proxy
expect "copy path: exit 0" 0 $?

# ---- out of file descriptors: back-pressure, no spinning ----
# A 200-fd limit leaves room for a few dozen connections (the log says
# how many); hold 10 more, sending nothing.  The extra ones wait in the
# kernel's queue while the proxy sleeps, then get served once others
# close.  Every one echoes in the end.
WRAP="prlimit --nofile=200:200" start_proxy "$CONF" "$WORK/run4.log"
lim=$(sed -n 's/.*open file limit 200: up to \([0-9]*\) connections.*/\1/p' \
    "$WORK/run4.log")
if [ -z "$lim" ]; then
	fail "fd limit: no 'up to N connections' in the log"
else
	n=$((lim + 10))
	rm -f "$WORK/fd.in"
	mkfifo "$WORK/fd.in"
	exec 8<>"$WORK/fd.in"
	timeout 60 python3 "$TOOL" --timeout 20 hold "$CIP:$SP" $n \
	    "$WORK/fd.ready" silent <"$WORK/fd.in" 8>&- >"$WORK/fd.out" 2>&1 &
	FDH=$!
	PIDS+=($FDH)
	wait_file "$WORK/fd.ready"
	# Accepted up to the limit, the rest queued: wait for that state.
	for i in $(seq 1 100); do
		[ "$(queued "$CIP:$SP")" -ge 10 ] && break
		sleep 0.1
	done
	expect "fd limit: 10 connections wait in the kernel's queue" 10 \
	    "$(queued "$CIP:$SP")"
	# A measuring interval, not a wait: CPU ticks over 2 s at the limit.
	t0=$(awk '{ print $14 + $15 }' "/proc/$PROXY/stat")
	expect "fd limit: one more connection waits" timeout \
	    "$(tool --timeout 1 echo "$CIP:$SP" hi)"
	sleep 1
	t1=$(awk '{ print $14 + $15 }' "/proc/$PROXY/stat")
	[ $((t1 - t0)) -le 10 ] &&
	    pass "fd limit: the proxy sleeps at its limit ($((t1 - t0)) ticks in 2 s)" ||
	    fail "fd limit: $((t1 - t0)) CPU ticks in 2 s at the limit"
	exec 8>&-
	wait $FDH
	expect "fd limit: $n held ($lim at a time), all echo in the end" \
	    "held $n alive $n" "$(cat "$WORK/fd.out")"
	expect_metric_in "fd limit: /metrics: pauses at the limit counted" \
	    "$ADMIN" "$(pm svcproxy_port_limited_total echo)" 1 20
fi
stop_proxy
expect "fd limit: exit 0" 0 $?

# ---- accept(2) out of fds: paused, and the warning rate-limited ----
# The connection cap above keeps accept(2) from ever failing; here the
# limit is lowered under the running proxy to its lowest free fd, so
# every accept fails with EMFILE and each worker pauses every 100 ms.
# A measuring interval of 2 s: a few warnings per worker, not 20.
start_proxy "$CONF" "$WORK/run5.log"
low=$(ls "/proc/$PROXY/fd" | sort -n |
    awk '$1 != NR - 1 { print NR - 1; f = 1; exit } END { if (!f) print NR }')
prlimit --pid "$PROXY" --nofile="$low":"$low"
tool --timeout 2 echo "$CIP:$SP" hi >/dev/null || true
np=$(grep -c 'accept: Too many open files; pausing accepts' \
    "$WORK/run5.log" || true)
[ "$np" -ge 1 ] && [ "$np" -le $((2 * 3)) ] &&
    pass "accept EMFILE: $np pause warnings in 2 s (at most 3 per worker)" ||
    fail "accept EMFILE: $np pause warnings in 2 s, want 1 to 6"
stop_proxy
expect "accept EMFILE: exit 0" 0 $?

# ---- valgrind ----
if [ "${VALGRIND:-0}" = 1 ]; then
	WRAP="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --log-file=$WORK/vg.log"
	start_proxy "$CONF" "$WORK/run3.log"
	WRAP=
	expect "valgrind: echo" hi "$(tool echo "$CIP:$SP" hi)"
	out=$(tool bulk "$CIP:$SP" 16)
	expect "valgrind: 16 MiB" ok "${out%% *}"
	expect "valgrind: reset" reset "$(tool expect-reset "$(cip 3):$SP" hi)"
	expect "valgrind: retry" r "$(tool echo "$(cip 5):$SP" r)"
	expect "valgrind: no endpoints" reset \
	    "$(tool expect-reset "$(cip 9):$SP" hi)"
	stop_proxy
	valgrind_verdict $?
fi

[ $FAILED = 0 ] && echo "datapath: all passed" || echo "datapath: FAILED"
exit $FAILED
