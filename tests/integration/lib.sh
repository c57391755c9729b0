# Shared helpers for the integration tests (sourced).
# Every test: set -eu, a private temp dir, and a trap that kills what it
# started.  Loopback only.

: "${SVCPROXY:?SVCPROXY must name the svcproxy binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"

TMP=$(mktemp -d /tmp/svcproxy-test.XXXXXX)
PIDS=""
FAILS=0
PASSES=0

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

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

# sp ARGS...: run svcproxy; under VALGRIND=1, inside valgrind, where any
# memory error or definite leak fails the command with exit 99.
sp() {
	if [ "${VALGRIND:-0}" = 1 ]; then
		valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite "$SVCPROXY" "$@"
	else
		"$SVCPROXY" "$@"
	fi
}
