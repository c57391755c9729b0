# Shared harness of the data-path tests (sourced by datapath.sh and
# policy_datapath.sh after they set SVCPROXY, TOOL, WORK, PIDS and
# FAILED).
# Backends are started inside $(...), so their pids go to $WORK/NAME.pid
# files rather than to PIDS, and tcp_cleanup kills both.

tcp_cleanup() {
	local p
	for p in "${PIDS[@]}" $(cat "$WORK"/*.pid 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

pass() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; FAILED=1; }
skip() { echo "ok - # SKIP $*"; }
# expect NAME WANT GOT
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi
}
now() { date +%s.%N; }
since() { python3 -c "print('%.2f' % ($(now) - $1))"; }

# wait_file FILE: up to 30 s for FILE to exist and be non-empty.
wait_file() {
	local i
	for i in $(seq 1 300); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# backend NAME MODE HOST: start a tcptool server; prints its port.
backend() {
	local ready="$WORK/$1.port"
	python3 "$TOOL" serve --mode "$2" --host "$3" --name "$1" \
	    --watch "$WORK/$1.watch" --ready "$ready" \
	    >"$WORK/$1.log" 2>&1 &
	echo $! >"$WORK/$1.pid"
	wait_file "$ready" || exit 1
	cat "$ready"
}

. "$top_srcdir/tests/integration/port_lib.sh"

# start_proxy CONF LOG [ENV=VALUE...]: run svcproxy (under $WRAP, if
# set) with $WORKERS (default 2) workers and a pidfile; wait until it
# serves.  Sets PROXY.
start_proxy() {
	local conf=$1 log=$2 i
	shift 2
	rm -f "$WORK/pid"
	env "$@" ${WRAP:-} "$SVCPROXY" run -c "$conf" --workers "${WORKERS:-2}" \
	    --pidfile "$WORK/pid" >"$log" 2>&1 &
	PROXY=$!
	PIDS+=($PROXY)
	for i in $(seq 1 300); do
		grep -q "serving" "$log" && [ -s "$WORK/pid" ] && return 0
		kill -0 "$PROXY" 2>/dev/null || break
		sleep 0.1
	done
	echo "svcproxy did not start:"; cat "$log"
	exit 1
}

# stop_proxy: SIGTERM and wait (bounded) for exit; returns its status.
stop_proxy() {
	local i
	kill -TERM "$PROXY"
	for i in $(seq 1 300); do
		kill -0 "$PROXY" 2>/dev/null || break
		sleep 0.1
	done
	wait "$PROXY"
}

# valgrind_verdict RC: svcproxy ran under valgrind (log $WORK/vg.log)
# and stop_proxy returned RC.
valgrind_verdict() {
	expect "valgrind: clean exit" 0 "$1"
	expect "valgrind: no errors" 1 \
	    "$(grep -c 'ERROR SUMMARY: 0 errors' "$WORK/vg.log")"
	[ "$1" = 0 ] || cat "$WORK/vg.log"
}

# between NAME VALUE LO HI: pass when LO <= VALUE <= HI (seconds).
between() {
	if python3 -c "import sys; sys.exit(not ($3 <= $2 <= $4))"; then
		pass "$1 ($2 s)"
	else
		fail "$1: $2 s not in [$3, $4]"
	fi
}

# dead_port [ADDR]: a port nothing listens on at ADDR (127.0.0.1):
# connects to it are refused.
dead_port() {
	python3 -c 'import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' \
	    "${1:-127.0.0.1}"
}

# pod NAME APP IP PORT: a ready Pod serving container port "p" on PORT.
pod() {
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $2}}
spec:
  containers:
  - name: c
    ports: [{name: p, containerPort: $4}]
status:
  phase: Running
  podIP: "$3"
  conditions: [{type: Ready, status: "True"}]
EOF
}

# svc NAME CLUSTERIP [ANNOTATION...]: a ClusterIP Service selecting
# app=NAME on port $SP (the caller's), target port "p".
svc() {
	local name=$1 ip=$2 a
	shift 2
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n' \
	    "$name"
	if [ $# -gt 0 ]; then
		echo "  annotations:"
		for a in "$@"; do echo "    $a"; done
	fi
	cat <<EOF
spec:
  selector: {app: $name}
  clusterIP: "$ip"
  ports:
  - {name: main, port: $SP, targetPort: p}
EOF
}
