#!/bin/bash
# How the relay moves bytes (relay_pump), where datapath.sh's bulk and
# half-close checks do not reach:
#  - a direction whose pipe fills up with many small page fragments
#    (one pipe slot each, far fewer bytes than the pipe holds) still
#    delivers every byte while the client sends nothing more and keeps
#    the connection open: a short splice must not be taken for an empty
#    socket; nor, when the client's FIN is known, for the end of the
#    data;
#  - data with the FIN right behind it, around the copy buffer's size
#    (16 KiB) and beyond, each way (the client's half-close, then the
#    echo backend's): byte-exact, and the FIN passed on;
#  - the same with splicing refused (SVCPROXY_NO_SPLICE: copy only).
# Loopback only (127.13.A.x Pods, 127.14.A.B ClusterIPs), kernel-chosen
# backend ports, bounded waits, every process killed on exit.
# KEEP_WORK=1 keeps the work directory.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
TOOL="$top_srcdir/tests/integration/tcptool.py"
RTOOL="$top_srcdir/tests/integration/relaytool.py"
WORK=$(mktemp -d /tmp/svcproxy-bytes.XXXXXX)
PIDS=()
FAILED=0

. "$top_srcdir/tests/integration/tcp_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

rtool() { timeout 60 python3 "$RTOOL" --timeout 20 "$@"; }

A=$((RANDOM % 200 + 20))
B=$((RANDOM % 200 + 20))
POD="127.13.$A"
cip() { echo "127.14.$A.$((B + $1))"; }
SP=$(free_port 20000 29999 127.0.0.1)
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }

# The fragments backend: reads nothing of a connection until the client
# creates $WORK/go.
python3 "$RTOOL" --timeout 20 serve --host "$POD.1" \
    --ready "$WORK/frag.port" --go "$WORK/go" >"$WORK/frag.log" 2>&1 &
echo $! >"$WORK/frag.pid"
wait_file "$WORK/frag.port" || exit 1
P_FRAG=$(cat "$WORK/frag.port")
P_ECHO=$(backend echo echo "$POD.2")

CONF="$WORK/conf"
mkdir -p "$CONF"
{
	cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.14.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: $ADMIN
  connectionLog: "off"
EOF
	svc frag "$(cip 1)"
	pod frag-1 frag "$POD.1" "$P_FRAG"
	svc echo "$(cip 2)"
	pod echo-1 echo "$POD.2" "$P_ECHO"
} >"$CONF/all.yaml"

run_checks() {
	local how=$1 size out spec
	# ---- small fragments fill the pipe by its slots ----
	# sendfile calls of 200 or 1000 bytes, each from its own page, while
	# the backend reads nothing: the proxy's socket from the client
	# fills with them; then the backend reads, and the last of them
	# must come through though the client sends nothing more.  (Smaller
	# ones the kernel packs together under memory pressure.)  Then the
	# same with the client's FIN right behind the last fragment: known
	# to the relay while pipes' worth of fragments still wait in front
	# of it, it must not end the data early.
	for spec in 20000x200 8000x1000 20000x200:fin; do
		set -- $(echo "$spec" | tr 'x:' '  ')
		rm -f "$WORK/go"
		out=$(rtool fragments "$(cip 1):$SP" "$1" "$2" "$WORK/go" \
		    ${3:-})
		expect "$how: $1 fragments of $2 bytes${3:+, then the FIN}: all delivered, byte-exact" \
		    "ok $(($1 * $2))" "$out"
	done
	# ---- the FIN right behind the data, each way ----
	for size in 1 16383 16384 16385 32768 100000 1048576; do
		out=$(rtool burst "$(cip 2):$SP" "$size")
		expect "$how: $size bytes and the FIN behind them, echoed to EOF" \
		    "ok $size" "$out"
	done
}

WORKERS=1 start_proxy "$CONF" "$WORK/run.log"
run_checks splice
stop_proxy
WORKERS=1 start_proxy "$CONF" "$WORK/run-copy.log" SVCPROXY_NO_SPLICE=1
run_checks copy
stop_proxy

exit $FAILED
