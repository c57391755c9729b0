#!/bin/bash
# The socket options a relayed connection runs with, on both of its
# sockets, read from the running svcproxy (pidfd_getfd(2) copies each
# of its sockets into this test; getsockopt there): TCP_NODELAY and
# SO_KEEPALIVE on the client's socket (set once on the listener, which
# accepted sockets inherit: no system call per connection) and on the
# backend's (set per connection, relay_sockopts).  Skipped where
# pidfd_getfd is missing or not permitted (Linux < 5.6, no ptrace
# right over the proxy).  Loopback only, kernel-chosen backend port,
# bounded waits, every process killed on exit.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
TOOL="$top_srcdir/tests/integration/tcptool.py"
WORK=$(mktemp -d /tmp/svcproxy-sockopts.XXXXXX)
PIDS=()
FAILED=0
WORKERS=1

. "$top_srcdir/tests/integration/tcp_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

A=$((RANDOM % 200 + 20))
BE="127.6.$A.21"
CLIENT="127.7.$A.1"
SVCIP="127.1.$A.9"
SP=$(free_port 20000 29999 127.0.0.1 "$SVCIP")
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }
P_BE=$(backend be echo "$BE")

mkdir -p "$WORK/conf"
{
	cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.1.0.0/16
  adminAddress: $ADMIN
EOF
	svc be "$SVCIP"
	pod be-1 be "$BE" "$P_BE"
} >"$WORK/conf/conf.yaml"
start_proxy "$WORK/conf" "$WORK/run.log"

# One connection held open through the proxy while its sockets are read.
timeout 90 python3 "$TOOL" --timeout 10 --source "$CLIENT" persist \
    "$SVCIP:$SP" "$WORK/c.ready" "$WORK/c.go" >"$WORK/c.out" 2>&1 &
HOLDER=$!
PIDS+=($HOLDER)
wait_file "$WORK/c.ready" || exit 1

# sockopts PID CLIENT BACKEND: "client N K" and "backend N K" (TCP_NODELAY,
# SO_KEEPALIVE) of PID's sockets peered with CLIENT and BACKEND (host:port;
# the client's port any), or "skip REASON".
sockopts() {
	python3 - "$@" <<'EOF'
import ctypes, errno, os, socket, sys

pid, client, backend = int(sys.argv[1]), sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_getfd = 438		# the same on every architecture
try:
    pidfd = os.pidfd_open(pid)
except (AttributeError, OSError) as e:
    print("skip pidfd_open: %s" % e)
    sys.exit(0)
found = {}
for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
    try:
        if not os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(
                "socket:"):
            continue
    except OSError:
        continue
    mine = libc.syscall(SYS_pidfd_getfd, pidfd, int(fd), 0)
    if mine < 0:
        err = ctypes.get_errno()
        print("skip pidfd_getfd: %s" % os.strerror(err))
        sys.exit(0)
    try:
        s = socket.socket(fileno=mine)
    except OSError:
        os.close(mine)
        continue
    try:
        if s.type != socket.SOCK_STREAM or s.family != socket.AF_INET:
            continue
        try:
            peer = s.getpeername()
        except OSError:
            continue
        side = None
        if "%s:%d" % peer == backend:
            side = "backend"
        elif peer[0] == client:
            side = "client"
        if side:
            found[side] = "%s %d %d" % (
                side,
                s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
                s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0)
    finally:
        s.close()
for side in ("client", "backend"):
    print(found.get(side, "%s none" % side))
EOF
}

out=$(sockopts "$PROXY" "$CLIENT" "$BE:$P_BE")
case "$out" in
skip*)	skip "$out" ;;
*)
	expect "client socket: TCP_NODELAY and SO_KEEPALIVE" "client 1 1" \
	    "$(echo "$out" | grep '^client')"
	expect "backend socket: TCP_NODELAY and SO_KEEPALIVE" "backend 1 1" \
	    "$(echo "$out" | grep '^backend')"
	;;
esac
touch "$WORK/c.go"
wait "$HOLDER"
expect "the held connection still echoes" alive "$(cat "$WORK/c.out")"

stop_proxy
expect "exit 0" 0 $?

[ $FAILED = 0 ] && echo "relay_sockopts: all passed" || echo "relay_sockopts: FAILED"
exit $FAILED
