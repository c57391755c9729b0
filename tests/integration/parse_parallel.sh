#!/bin/bash
# One large file parsed in pieces on several threads (load.c, ysplit.c)
# against the serial parse (SVCPROXY_PARSE_SERIAL=1, which exists for
# this comparison):
#   - a generated configuration of a few megabytes as one multi-document
#     file and as one `kind: List` file (as `kubectl get -A -o yaml`
#     writes it): it is cut (SVCPROXY_TIMINGS says into how many
#     pieces), and `check` and `resolve -o json` print byte for byte what
#     the serial parse makes them print;
#   - the same with errors deep in the file (in the last document, in the
#     last item, a duplicate Pod, a YAML syntax error): the same
#     diagnostics, and the last error names its own file:line:col;
#   - reload under traffic with the large file: svcproxy runs it, the
#     file flips between a version with a second Service and one without
#     (SIGHUP 1 ms after each flip), the kept Service loses no connection
#     and the last version is what runs.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
. "$top_srcdir/tests/integration/churn_lib.sh"

command -v python3 >/dev/null || { echo "parse_parallel.sh: no python3"; exit 77; }
NFLIP=${NFLIP:-40}
GEN="$top_srcdir/bench/gen_config.py"
# No NodePorts or LoadBalancers: the generated Services then listen only
# on their own 127.192/12 clusterIPs, never on 127.0.0.1.
GENARGS="--services 40 --pods 3000 --netpols 20 --namespaces 4 --nodeport-pct 0 --lb-pct 0"

# same NAME FILE ARGS...: svcproxy ARGS -c FILE, serially and in pieces:
# the same exit status, stdout and stderr.
same() {
	local name=$1 file=$2 rc1 rc2
	shift 2
	set +e
	SVCPROXY_PARSE_SERIAL=1 sp "$@" -c "$file" >"$TMP/s.out" 2>"$TMP/s.err"
	rc1=$?
	sp "$@" -c "$file" >"$TMP/p.out" 2>"$TMP/p.err"
	rc2=$?
	set -e
	if [ "$rc1" = "$rc2" ] && cmp -s "$TMP/s.out" "$TMP/p.out" &&
	    cmp -s "$TMP/s.err" "$TMP/p.err"; then
		pass "$name: the same output serially and in pieces (exit $rc1," \
		    "$(wc -l <"$TMP/p.err") lines of diagnostics)"
	else
		fail "$name: serial and parallel differ (exit $rc1 / $rc2)"
		diff "$TMP/s.out" "$TMP/p.out" | head -5 | sed 's/^/#   /'
		diff "$TMP/s.err" "$TMP/p.err" | head -5 | sed 's/^/#   /'
	fi
}

# pieces FILE: how many pieces `check` parsed FILE in (SVCPROXY_TIMINGS).
pieces() {
	SVCPROXY_TIMINGS=1 sp check -c "$1" 2>&1 >/dev/null |
	    sed -n 's/.* \([0-9]*\) pieces on threads.*/\1/p'
}

# ---- the two forms, clean ----
for form in multi list; do
	f="$TMP/$form.yaml"
	python3 "$GEN" -o "$f" --form "$form" $GENARGS >/dev/null
	n=$(pieces "$f")
	[ "${n:-0}" -ge 2 ] && pass "$form: $(($(wc -c <"$f") / 1024)) KiB cut into $n pieces" ||
	    fail "$form: the file was not cut (pieces: ${n:-none})"
	same "$form check" "$f" check
	expect_grep "is ok: 40 services" "$TMP/p.out" "$form: check says ok"
	same "$form resolve -o json" "$f" resolve -o json
done

# ---- errors deep in the file ----
bad_svc='apiVersion: v1
kind: Service
metadata: {name: broken, namespace: deep}
spec:
  ports: [{port: 80}]
  bogusField: 1'
dup_pod=$(awk '/^kind: Pod$/ { p = 1 } p && /^  name: / { print $2; exit }' \
    "$TMP/multi.yaml")
{
	cat "$TMP/multi.yaml"
	echo "---"
	echo "apiVersion: v1"
	echo "kind: Pod"
	echo "metadata: {name: $dup_pod, namespace: platform-prod-000}"
	echo "---"
	echo "$bad_svc"
} >"$TMP/multi-bad.yaml"
line=$(grep -n '^  bogusField: 1$' "$TMP/multi-bad.yaml" | cut -d: -f1)
same "multi, errors in the last documents" "$TMP/multi-bad.yaml" check
expect_grep "multi-bad.yaml:$line:3: Service deep/broken: spec.bogusField" \
    "$TMP/p.err" "multi: the last document's error at its own line:col ($line:3)"
expect_grep "Duplicate value: \"$dup_pod\"" "$TMP/p.err" \
    "multi: the duplicate Pod far from the first is found"

# The List: an error in its last item, before `kind: List`.
awk -v bad="$bad_svc" '
    /^kind: List$/ {
	n = split(bad, l, "\n")
	for (i = 1; i <= n; i++) print (i == 1 ? "- " : "  ") l[i]
    }
    { print }' "$TMP/list.yaml" >"$TMP/list-bad.yaml"
line=$(grep -n '^    bogusField: 1$' "$TMP/list-bad.yaml" | cut -d: -f1)
same "list, an error in the last item" "$TMP/list-bad.yaml" check
expect_grep "list-bad.yaml:$line:5: Service deep/broken: spec.bogusField" \
    "$TMP/p.err" "list: the last item's error at its own line:col ($line:5)"

# A syntax error two thirds in: no object of the file, one error.
total=$(wc -l <"$TMP/list.yaml")
awk -v at=$((total * 2 / 3)) 'NR > at && !done && /^    labels:$/ {
	print "    labels: [oops"; done = 1; next } { print }' \
    "$TMP/list.yaml" >"$TMP/list-syntax.yaml"
same "list, a syntax error" "$TMP/list-syntax.yaml" check
expect_grep "invalid YAML" "$TMP/p.err" "list: the syntax error is reported"

# ---- reload under traffic, one large file ----
churn_setup 127.207		# clusterIPs outside the generated ones
# The generated objects without their ProxyConfig (the first document).
awk 'p; /^---$/ && !p { p = 1; print }' "$TMP/multi.yaml" >"$TMP/objects.yaml"
churn_gen both 127.192.0.0/12 "$TMP/objects.yaml" two
churn_gen single 127.192.0.0/12 "$TMP/objects.yaml"
n=$(pieces "$TMP/both.yaml")
[ "${n:-0}" -ge 2 ] && pass "the served file is cut into $n pieces" ||
    fail "the served file is not cut"
same "the served file" "$TMP/both.yaml" check
mkdir -p "$TMP/conf"
cp "$TMP/both.yaml" "$TMP/conf/services.yaml"

LOG="$TMP/run.log"
PIDFILE="$TMP/pid"
sp_start "$LOG" "$PIDFILE" run -c "$TMP/conf" --workers 2
sp_wait_ready "$LOG" "$PIDFILE" 60 || exit 1
PID=$SP_PID
ADM="127.0.0.1:$(admin_port "$LOG")"
echo "# svcproxy pid $PID, admin $ADM, Services $ONE:$SP $TWO:$SP"
expect "Service one serves" hi "$(python3 "$TCPTOOL" echo "$ONE:$SP" hi)"
expect "Service two serves" hi "$(python3 "$TCPTOOL" echo "$TWO:$SP" hi)"

STOP="$TMP/stop"
python3 "$LOADGEN" short "$ONE:$SP" --threads 2 --stop "$STOP" \
    --out "$TMP/one.out" --ready "$TMP/one.ready" &
L1=$!
PIDS="$PIDS $L1"
wait_for 20 test -s "$TMP/one.ready" || fail "load did not start"
flows() { [ "$(port_total "$ADM" one "$SP")" -ge 20 ]; } 2>/dev/null
wait_for 30 flows || fail "traffic to Service one did not start"
churn_flip "$PID" "$NFLIP" "$TMP"
# Bounded: 60 s.
settled=0
last=$(churn_settle "$ADM" 240) && settled=1
touch "$STOP"
wait $L1 || true
echo "# $NFLIP flips: $last reloads (ok $(metric "$ADM" 'svcproxy_reloads_total{result="ok"}'), failed $(metric "$ADM" 'svcproxy_reloads_total{result="failed"}'))"
echo "# Service one: $(head -1 "$TMP/one.out")"
[ $settled = 1 ] && pass "reloads settled" || fail "reloads still running"
churn_unchanged "$ADM" "$PID" 30 &&
    pass "the last version (without Service two) runs" ||
    fail "the last configuration did not take effect"
expect "no reload failed" 0 \
    "$(metric "$ADM" 'svcproxy_reloads_total{result="failed"}' || echo 0)"
expect "the removed Service's address refuses" refused \
    "$(python3 "$TCPTOOL" --timeout 3 echo "$TWO:$SP" hi)"
expect "Service one: no connection failed during the flips" 0 \
    "$(awk 'NR == 1 { print $4 }' "$TMP/one.out")"
expect "Service one still serves" hi \
    "$(python3 "$TCPTOOL" --timeout 5 echo "$ONE:$SP" hi)"

kill -TERM "$PID"
wait_for 30 gone "$PID" &&
    pass "svcproxy exits on SIGTERM" || fail "svcproxy still running"
expect_exit "svcproxy exit status (sanitizers: no error, no leak)" "$PID" \
    "$LOG"
finish
