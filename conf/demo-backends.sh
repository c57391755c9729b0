#!/bin/sh
# demo-backends.sh: the three "Pods" of conf/demo.yaml, as tiny HTTP
# servers on 127.0.10.1:8080, 127.0.10.2:8080 and 127.0.10.3:8080.  Each
# answers every GET with its own identity ("hello from pod web-2"), so
# a client can see which Pod svcproxy picked.
#
#   conf/demo-backends.sh start    # start all three, wait until they answer
#   conf/demo-backends.sh status
#   conf/demo-backends.sh stop
#
# Pid files go to $DEMO_RUNDIR (default /tmp/svcproxy-demo-$(id -u)).
# Loopback only: nothing here listens outside 127.0.0.0/8.

set -u

RUNDIR=${DEMO_RUNDIR:-${TMPDIR:-/tmp}/svcproxy-demo-$(id -u)}
PYTHON=${PYTHON:-python3}
PODS="web-1:127.0.10.1 web-2:127.0.10.2 web-3:127.0.10.3"
PORT=8080

# One backend: argv is address, port, pod name.
SERVER='
import http.server, sys
addr, port, pod = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = ("hello from pod %s\n" % pod).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Pod", pod)
        self.end_headers()
        self.wfile.write(body)
    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Pod", pod)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer((addr, port), H).serve_forever()
'

# Exit 0 once addr:port accepts a connection, 1 after about 5 seconds.
wait_port() {
	"$PYTHON" - "$1" "$2" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

do_stop() {
	for p in $PODS; do
		pod=${p%%:*}
		f="$RUNDIR/$pod.pid"
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	return 0
}

do_start() {
	mkdir -p "$RUNDIR" || exit 1
	for p in $PODS; do
		pod=${p%%:*}
		addr=${p#*:}
		f="$RUNDIR/$pod.pid"
		if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
			echo "demo-backends: $pod already running" \
			    "(pid $(cat "$f"))" >&2
			continue
		fi
		"$PYTHON" -c "$SERVER" "$addr" "$PORT" "$pod" \
		    >"$RUNDIR/$pod.log" 2>&1 &
		echo $! >"$f"
	done
	for p in $PODS; do
		pod=${p%%:*}
		addr=${p#*:}
		if ! wait_port "$addr" "$PORT"; then
			echo "demo-backends: $pod did not start on" \
			    "$addr:$PORT:" >&2
			cat "$RUNDIR/$pod.log" >&2
			do_stop
			exit 1
		fi
		echo "demo-backends: $pod on $addr:$PORT" \
		    "(pid $(cat "$RUNDIR/$pod.pid"))"
	done
}

do_status() {
	rc=0
	for p in $PODS; do
		pod=${p%%:*}
		f="$RUNDIR/$pod.pid"
		if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
			echo "$pod: running (pid $(cat "$f"))"
		else
			echo "$pod: stopped"
			rc=1
		fi
	done
	return $rc
}

case "${1:-}" in
start)	do_start ;;
stop)	do_stop ;;
status)	do_status ;;
*)	echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
