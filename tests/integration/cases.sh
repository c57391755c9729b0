#!/bin/sh
# cases.sh: every tests/cases/NAME.yaml through `svcproxy resolve -o json`,
# compared with tests/cases/NAME.json.  The comparison parses both with
# python3, so whitespace does not matter but key order, array order and
# every value do (the JSON shape is the interface).  A case fails when
# resolve exits non-zero, prints no JSON, or prints different JSON; the
# difference is shown as a unified diff of the two pretty-printed forms.
#
# CASES_UPDATE=1 rewrites the .json files from the current output (review
# the diff before committing).  No network, no processes left behind.
#
# Environment (set by `make check`): SVCPROXY, top_srcdir.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
SVCPROXY=${SVCPROXY:-${top_builddir:-$top_srcdir}/src/svcproxy}
CASES=$top_srcdir/tests/cases

command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }

tmp=$(mktemp -d /tmp/svcproxy-cases.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# compare GOT WANT: 0 when equal as JSON, key order included; prints a
# diff otherwise.  Python's dicts keep the order keys were read in but
# compare equal in any order, so the two are compared re-serialized.
compare() {
	python3 - "$1" "$2" <<'PY'
import difflib, json, sys
try:
    got = json.load(open(sys.argv[1]))
except ValueError as e:
    print("output is not JSON: %s" % e)
    sys.exit(1)
want = json.load(open(sys.argv[2]))
a = json.dumps(want, indent=2).splitlines()
b = json.dumps(got, indent=2).splitlines()
if a == b:
    sys.exit(0)
if got == want:
    print("same keys and values, but in another order:")
sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
    a, b, "expected", "got", lineterm=""))
sys.exit(1)
PY
}

n=0
fails=0
for yaml in "$CASES"/*.yaml; do
	[ -e "$yaml" ] || continue
	name=$(basename "$yaml" .yaml)
	want=$CASES/$name.json
	n=$((n + 1))
	if ! "$SVCPROXY" resolve -c "$yaml" -o json >"$tmp/out" \
	    2>"$tmp/err"; then
		echo "not ok $n - $name: resolve failed"
		sed 's/^/# /' "$tmp/out" "$tmp/err"
		fails=$((fails + 1))
		continue
	fi
	if [ "${CASES_UPDATE:-0}" = 1 ]; then
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
open(sys.argv[2], "w").write(json.dumps(d, indent=2) + "\n")' \
		    "$tmp/out" "$want"
		echo "ok $n - $name (updated)"
		continue
	fi
	if [ ! -f "$want" ]; then
		echo "not ok $n - $name: no $name.json"
		fails=$((fails + 1))
	elif compare "$tmp/out" "$want" >"$tmp/diff"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name: output differs"
		sed 's/^/# /' "$tmp/diff"
		fails=$((fails + 1))
	fi
done

if [ "$n" -eq 0 ]; then
	echo "not ok - no cases in $CASES"
	exit 1
fi
echo "# $n cases, $fails failed"
[ "$fails" -eq 0 ]
