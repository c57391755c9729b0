# The fd budget's fixture, for listeners_budget.sh and fd_metrics.sh
# (sourced after lib.sh and ha_lib.sh): svcproxy under `ulimit -n 512`
# on TCP Services s1..sN, each on its own address, and, once UPORT is
# set, one UDP Service u.  Loopback only.  The test sets first:
#   A, NET	its random octet and backend network (backend e1 on NET.1,
#		the UDP one on NET.2)
#   SVCNET	the first two octets of the Services' addresses
#   SP, P1	the Services' port and e1's port
#   WORKERS	workers
#   UPORT, UCIP	the UDP backend's port and u's clusterIP (optional)
#   U_ANN	u's annotations, a flow map (optional)

LOG="$TMP/run.log"
PIDFILE="$TMP/pid"

# conf LAST [DNS]: Services s1..s$LAST, one socket per worker each;
# DNS: spec.dns.listen.
conf() {
	local i out="$TMP/conf/.next" ann='{}'
	[ -z "${U_ANN:-}" ] || ann=$U_ANN
	mkdir -p "$TMP/conf"
	{
		cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: $SVCNET.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  workers: $WORKERS
  connectionLog: "off"
  listenerSockets: PerWorker
YEOF
		[ -z "${2:-}" ] || echo "  dns: {listen: \"$2\"}"
		cat <<YEOF
---
apiVersion: v1
kind: Pod
metadata: {name: e1, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P1}]}]}
status: {phase: Running, podIP: "$NET.1", conditions: [{type: Ready, status: "True"}]}
YEOF
		[ -z "${UPORT:-}" ] || cat <<YEOF
---
apiVersion: v1
kind: Pod
metadata: {name: u1, labels: {app: udp}}
spec: {containers: [{name: c, ports: [{name: u, containerPort: $UPORT, protocol: UDP}]}]}
status: {phase: Running, podIP: "$NET.2", conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: u, annotations: $ann}
spec:
  selector: {app: udp}
  clusterIP: $UCIP
  ports: [{port: $SP, targetPort: u, protocol: UDP}]
YEOF
		for i in $(seq 1 "$1"); do
			cat <<YEOF
---
apiVersion: v1
kind: Service
metadata: {name: s$i}
spec:
  selector: {app: web}
  clusterIP: $SVCNET.$((A + i / 250)).$((i % 250 + 1))
  ports: [{port: $SP, targetPort: p}]
YEOF
		done
	} >"$out"
	mv "$out" "$TMP/conf/web.yaml"
}
# addr N: Service sN's address and port.
addr() { echo "$SVCNET.$((A + $1 / 250)).$(($1 % 250 + 1)):$SP"; }
# status EXPR: EXPR of /status's JSON, s.
status() {
	curl -s --max-time 5 "http://$ADM/status" |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
# hup N WHAT: SIGHUP, then wait for the N-th line WHAT in the log.
hup() {
	kill -HUP "$SP_PID"
	wait_for 30 sh -c "test \$(grep -c '$2' '$LOG') -ge $1" ||
	    { fail "reload $1 not done"; cat "$LOG"; exit 1; }
}
# hold N: N connections to address 1, silent (queued ones count),
# until release; sets HOLD.
hold() {
	rm -f "$TMP/hold.in" "$TMP/hold.ready"
	mkfifo "$TMP/hold.in"
	exec 8<>"$TMP/hold.in"
	timeout 90 python3 "$TCPTOOL" --timeout 30 hold "$(addr 1)" "$1" \
	    "$TMP/hold.ready" silent <"$TMP/hold.in" 8>&- \
	    >"$TMP/hold.out" 2>&1 &
	HOLD=$!
	PIDS="$PIDS $HOLD"
	wait_for 30 test -s "$TMP/hold.ready" ||
	    fail "the $1 connections did not connect"
}
# release: the holder checks each connection and closes it.
release() {
	exec 8>&-
	wait "$HOLD" || true
}
# start LAST: svcproxy under a limit of 512 fds on s1..s$LAST.
start() {
	rm -f "$LOG" "$PIDFILE"
	conf "$1"
	( ulimit -n 512; SVCPROXY="$SVCPROXY" exec "$SVCPROXY" run \
	    -c "$TMP/conf" --pidfile "$PIDFILE" >"$LOG" 2>&1 ) &
	SP_PID=$!
	PIDS="$PIDS $SP_PID"
	wait_for 20 grep -q serving "$LOG" ||
	    { fail "not serving"; cat "$LOG"; exit 1; }
	ADM="127.0.0.1:$(admin_port "$LOG")"
}
# no_emfile: no worker ran out of fds.
no_emfile() {
	if grep -q "Too many open files" "$LOG"; then
		fail "a worker ran out of fds"
		grep "Too many open files" "$LOG" | head -3
	else
		pass "no worker ran out of fds"
	fi
}
