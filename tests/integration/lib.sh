# Shared helpers for the integration tests (sourced).
# Every test: set -eu, a private temp dir, and a trap that kills what it
# started.  Loopback only.

: "${SVCPROXY:?SVCPROXY must name the svcproxy binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"

TMP=$(mktemp -d /tmp/svcproxy-test.XXXXXX)
PIDS=""		# processes to stop on exit (not shell wrappers)
PIDFILES=""	# pidfiles whose process to stop on exit (read then)
FAILS=0
PASSES=0

# alive PID: is PID running (and not a zombie)?
alive() {
	kill -0 "$1" 2>/dev/null &&
	    ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# gone PID...: none of them running (for wait_for).
gone() {
	local p
	for p in "$@"; do
		alive "$p" && return 1
	done
	return 0
}

# stop_pids PID...: SIGTERM, a second SIGTERM after 1 s (svcproxy stops
# at once on it while draining), SIGKILL to what still runs after 5 s;
# reap our children.  A pid already gone gets no more signals.
stop_pids() {
	local p n
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for n in $(seq 1 50); do
		gone "$@" && break
		if [ "$n" = 10 ]; then
			for p in "$@"; do
				! alive "$p" || kill -TERM "$p" 2>/dev/null || true
			done
		fi
		sleep 0.1
	done
	for p in "$@"; do
		! alive "$p" || kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

cleanup() {
	local f all="$PIDS"
	for f in $PIDFILES; do
		[ -s "$f" ] && all="$all $(cat "$f")"
	done
	# shellcheck disable=SC2086
	[ -z "${all// /}" ] || stop_pids $all
	[ -n "${KEEP_TMP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
# A signal ends the test (through the EXIT trap): a handler that just
# returned would let the test go on without its files and processes.
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

pass() {
	PASSES=$((PASSES + 1))
	echo "ok - $*"
}

fail() {
	FAILS=$((FAILS + 1))
	echo "not ok - $*"
}

# expect_rc WANT DESC CMD...: run CMD, compare its exit code.
expect_rc() {
	want=$1
	desc=$2
	shift 2
	set +e
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	set -e
	if [ "$rc" -eq "$want" ]; then
		pass "$desc"
	else
		fail "$desc (exit $rc, want $want)"
		sed 's/^/#   /' "$TMP/out" "$TMP/err" | head -20
	fi
}

# expect_grep PATTERN FILE DESC
expect_grep() {
	if grep -qE -- "$1" "$2"; then
		pass "$3"
	else
		fail "$3 (no /$1/ in $2)"
		sed 's/^/#   /' "$2" | head -20
	fi
}

finish() {
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}

# sp ARGS...: run svcproxy in the foreground; under VALGRIND=1, inside
# valgrind, where any memory error or definite leak fails the command
# with exit 99.
sp() {
	if [ "${VALGRIND:-0}" = 1 ]; then
		valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite "$SVCPROXY" "$@"
	else
		"$SVCPROXY" "$@"
	fi
}

# sp_start LOG PIDFILE ARGS...: start `svcproxy ARGS --pidfile PIDFILE`
# in the background (as sp does), output to LOG.  Sets SP_PID to the
# process itself, not a shell around it (valgrind runs in the same
# process), and has cleanup stop it and whatever PIDFILE names then.
# With PREFIX set (e.g. "taskset -c 0"), that runs it: it must exec.
sp_start() {
	local log=$1 pidfile=$2
	shift 2
	if [ "${VALGRIND:-0}" = 1 ]; then
		${PREFIX:-} valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite "$SVCPROXY" "$@" \
		    --pidfile "$pidfile" >"$log" 2>&1 &
	else
		${PREFIX:-} "$SVCPROXY" "$@" --pidfile "$pidfile" >"$log" 2>&1 &
	fi
	SP_PID=$!
	PIDS="$PIDS $SP_PID"
	PIDFILES="$PIDFILES $pidfile"
}

# sp_wait_ready LOG PIDFILE SECONDS: wait for "serving" and the pidfile
# naming SP_PID.  0, or 1 after printing the log.
sp_wait_ready() {
	local n=$(( $3 * 10 ))
	while [ $n -gt 0 ]; do
		if grep -qs "serving" "$1" && [ -s "$2" ]; then
			[ "$(cat "$2")" = "$SP_PID" ] && return 0
			echo "pidfile $2 names $(cat "$2"), not $SP_PID"
			return 1
		fi
		alive "$SP_PID" || break
		sleep 0.1
		n=$((n - 1))
	done
	echo "svcproxy did not start:"
	cat "$1"
	return 1
}
