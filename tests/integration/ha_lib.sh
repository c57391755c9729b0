# Helpers for reload.sh, upgrade.sh and failover.sh (sourced after
# lib.sh).  Loopback only, except failover.sh's private namespaces.

TCPTOOL="$top_srcdir/tests/integration/tcptool.py"

# lib.sh's cleanup, plus the backends (started in command substitutions).
ha_cleanup() {
	local f
	for f in "$TMP"/*.bpid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	cleanup
}
trap ha_cleanup EXIT
LOADGEN="$top_srcdir/tests/integration/loadgen.py"

# expect NAME WANT GOT
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi
}

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds.
wait_for() {
	local n=$(( $1 * 20 ))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

. "$top_srcdir/tests/integration/port_lib.sh"

# backend NAME HOST [PREFIX...]: an echo server (PREFIX: e.g. `ip netns
# exec NS`); prints its kernel-chosen port.
backend() {
	local name=$1 host=$2 ready="$TMP/$1.port"
	shift 2
	"$@" python3 "$TCPTOOL" serve --mode echo --host "$host" --name "$name" \
	    --ready "$ready" >"$TMP/$name.log" 2>&1 &
	# Called as $(backend ...): PIDS would not reach the caller.
	echo $! >"$TMP/$name.bpid"
	wait_for 20 test -s "$ready" || { echo "backend $name did not start" >&2; exit 1; }
	cat "$ready"
}

# idbackend NAME HOST [PORT]: a server that first sends its name, then
# echoes; prints its port (kernel-chosen unless PORT).  Called again
# with the same NAME (and its old PORT) it starts NAME anew.
idbackend() {
	local ready="$TMP/$1.port"
	rm -f "$ready"
	python3 "$TCPTOOL" serve --mode id --host "$2" --name "$1" \
	    --port "${3:-0}" --ready "$ready" >>"$TMP/$1.log" 2>&1 &
	echo $! >"$TMP/$1.bpid"
	wait_for 20 test -s "$ready" ||
	    { echo "backend $1 did not start" >&2; exit 1; }
	cat "$ready"
}

# kill_backend NAME: SIGKILL a backend or idbackend, and wait until it is
# gone.
kill_backend() {
	local p
	p=$(cat "$TMP/$1.bpid")
	kill -KILL "$p"
	wait_for 10 gone "$p" || true
	rm -f "$TMP/$1.bpid"	# the cleanup's kill would fail on it
}

# admin_port LOG: the port `svcproxy run` logged for its admin server.
admin_port() {
	grep -o 'admin: listening on [0-9.]*:[0-9]*' "$1" | tail -1 |
	    sed 's/.*://'
}

# metric ADDR NAME_WITH_LABELS: one value from /metrics (empty: none).
metric() {
	curl -s --max-time 5 "http://$1/metrics" | awk -v m="$2" \
	    'index($0, m " ") == 1 { print $2 }'
}

# expect_exit NAME PID LOG: reap PID, a child of this shell, and expect
# exit status 0 (sanitizers and valgrind fail it on an error or a leak);
# on another, the tail of LOG.
expect_exit() {
	local rc
	set +e
	wait "$2"
	rc=$?
	set -e
	expect "$1" 0 "$rc"
	[ "$rc" = 0 ] || tail -30 "$3"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
# nfds_settled PID: the fd count once it holds still for 0.3 s (at most
# 3 s): a connection the admin server or a draining relay is closing,
# or a config file a reload thread still has open, is not a leak.
nfds_settled() {
	local a b n=10
	a=$(nfds "$1")
	while [ $n -gt 0 ]; do
		sleep 0.3
		b=$(nfds "$1")
		[ "$a" = "$b" ] && break
		a=$b
		n=$((n - 1))
	done
	echo "$a"
}
# fd_list PID: what each open fd is, for a failure's diff.
fd_list() {
	local f
	for f in /proc/$1/fd/*; do
		printf '%s %s\n' "${f##*/}" "$(readlink "$f" 2>/dev/null)"
	done
}
