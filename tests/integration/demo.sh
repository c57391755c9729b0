#!/bin/sh
# demo.sh: the demo of conf/demo.yaml, end to end.  Starts the three demo
# backends (conf/demo-backends.sh), runs `svcproxy run -c conf/demo.yaml`
# with one worker, and checks that three requests through the ClusterIP
# (127.1.0.10:80) and three through the NodePort (127.0.0.1:30080) each
# reach three different Pods: round robin over web-1, web-2, web-3.
#
# The demo's addresses and ports are fixed (127.0.10.1-3:8080,
# 127.1.0.10:80, 127.0.0.1:30080, admin 127.0.0.1:9180): the test checks
# that they are free first and fails saying which one is not.  Binding
# port 80 needs root or CAP_NET_BIND_SERVICE; without it the test is
# skipped (77).  Loopback only; every process started is killed on exit.
#
# Environment (set by `make check`): SVCPROXY, top_srcdir.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
SVCPROXY=${SVCPROXY:-${top_builddir:-$top_srcdir}/src/svcproxy}
CONF=$top_srcdir/conf/demo.yaml
BACKENDS=$top_srcdir/conf/demo-backends.sh

fail() {
	echo "FAIL: demo.sh: $*" >&2
	if [ -n "${tmp:-}" ] && [ -s "$tmp/svcproxy.log" ]; then
		echo "--- svcproxy output:" >&2
		cat "$tmp/svcproxy.log" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: demo.sh: $*" >&2
	exit 77
}

for tool in python3 curl; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -x "$SVCPROXY" ] || fail "no svcproxy binary at $SVCPROXY"
[ -f "$CONF" ] || fail "no $CONF"

# Every fixed address:port must be free: bind it (as the owner would)
# and release it.  Exit 0 free, 1 in use, 77 not permitted.
port_free() {
	python3 - "$1" "$2" <<'PY'
import errno, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError as e:
    sys.exit(77 if e.errno in (errno.EACCES, errno.EPERM) else 1)
sys.exit(0)
PY
}

for ap in 127.0.10.1:8080 127.0.10.2:8080 127.0.10.3:8080 \
    127.1.0.10:80 127.0.0.1:30080 127.0.0.1:9180; do
	port_free "${ap%:*}" "${ap##*:}"
	case $? in
	0)	;;
	77)	skip "not allowed to bind $ap (needs root or" \
		    "CAP_NET_BIND_SERVICE)" ;;
	*)	fail "$ap is in use; the demo needs it free (stop whatever" \
		    "listens there: ss -ltnp | grep ${ap##*:})" ;;
	esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/svcproxy-demo-test.XXXXXX") ||
    fail "mktemp"
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		# Bounded: SIGKILL if it has not gone within 5 s.
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
	fi
	DEMO_RUNDIR=$tmp "$BACKENDS" stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

DEMO_RUNDIR=$tmp "$BACKENDS" start >"$tmp/backends.log" 2>&1 ||
    fail "demo backends did not start: $(cat "$tmp/backends.log")"

"$SVCPROXY" run -c "$CONF" --workers 1 >"$tmp/svcproxy.log" 2>&1 &
pid=$!

# Wait (at most 30 s: a loaded machine is slow) until both listeners
# accept.
wait_listen() {
	i=0
	while [ "$i" -lt 300 ]; do
		kill -0 "$pid" 2>/dev/null ||
		    fail "svcproxy run exited before listening on $1:$2"
		if python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
		    "$1" "$2" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "svcproxy not listening on $1:$2 after 30 s"
}
wait_listen 127.1.0.10 80
wait_listen 127.0.0.1 30080

# Three requests to url: each must come from a demo Pod, and round robin
# over three Pods must give three different ones.
check_rr() {
	: >"$tmp/seen"
	for n in 1 2 3; do
		body=$(curl -sS --max-time 5 "$1") ||
		    fail "request $n to $1 failed"
		case $body in
		"hello from pod web-1"|"hello from pod web-2"|\
		"hello from pod web-3")
			echo "$body" >>"$tmp/seen" ;;
		*)	fail "request $n to $1: unexpected answer \"$body\"" ;;
		esac
	done
	distinct=$(sort -u "$tmp/seen" | wc -l)
	[ "$distinct" -eq 3 ] ||
	    fail "$1: expected 3 different pods (round robin), got:" \
	    "$(tr '\n' ';' <"$tmp/seen")"
	echo "ok: $1 -> $(tr '\n' ';' <"$tmp/seen")"
}

check_rr http://127.1.0.10:80/
check_rr http://127.0.0.1:30080/

kill -0 "$pid" 2>/dev/null || fail "svcproxy exited during the test"
echo "PASS: demo.sh"
exit 0
