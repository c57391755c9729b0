#!/bin/bash
# Hostile configuration input, on loopback:
#   a. a FIFO, a socket or a device named *.yaml, in the configuration
#      directory or given with -c: `check` refuses it by name at once
#      (opening a FIFO used to wait for a writer forever);
#   b. the same FIFO added under a running svcproxy, then SIGHUP: the
#      reload fails with that error, the old configuration keeps
#      serving, /healthz answers within 1 s, and SIGTERM stops it;
#   c. the shapes that once made parsing quadratic (a million levels of
#      nesting in a Pod's field svcproxy drops, 50,000 anchors each
#      aliased, 100,000 keys before an object's kind): `check` gives the
#      right result well within a bound, and so does a SIGHUP reload.
# svcproxy is stopped by the pid it writes to its pidfile, also when a
# check fails.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

BOUND=20	# seconds: a check or reload that takes longer fails (they take
	# about 1 s, and took minutes or forever before the fixes)
PIDFILE="$TMP/pid"

# Stop svcproxy by the pid it reported: SIGTERM, then SIGKILL after a
# bounded wait (a main thread stuck in open() ignores SIGTERM).
stop_svcproxy() {
	local pid
	pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}
trap 'stop_svcproxy; ha_cleanup' EXIT INT TERM

# timed SECONDS CMD...: run CMD, killed after SECONDS; leaves its exit
# code in $TMP/rc, its seconds in $TMP/secs, its output in $TMP/out and
# $TMP/err.
timed() {
	local t=$1 t0 rc=0
	shift
	t0=$(date +%s.%N)
	timeout -s KILL "$t" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	echo "$rc" >"$TMP/rc"
	python3 -c "print('%.2f' % ($(date +%s.%N) - $t0))" >"$TMP/secs"
}

# expect_timed DESC WANT_RC CMD...: CMD exits WANT_RC within BOUND.
expect_timed() {
	local desc=$1 want=$2
	shift 2
	timed $((BOUND * 3)) "$@"
	if [ "$(cat "$TMP/rc")" = "$want" ] && python3 -c \
	    "import sys; sys.exit(not $(cat "$TMP/secs") < $BOUND)"; then
		pass "$desc ($(cat "$TMP/secs") s)"
	else
		fail "$desc: exit $(cat "$TMP/rc") after $(cat "$TMP/secs") s, want $want within $BOUND s"
		sed 's/^/#   /' "$TMP/out" "$TMP/err" | cut -c1-200 | head -10
	fi
}

A=$((RANDOM % 200 + 20))
NET="127.62.$A"			# Pods
CIP="127.63.$A.1"		# the Service's ClusterIP
SP=$(free_port 20000 29999 127.0.0.1)
AP=$(free_port 20000 29999 127.0.0.1)
if [ -z "$SP" ] || [ -z "$AP" ] || [ "$SP" = "$AP" ]; then
	echo "no free port"
	exit 1
fi
ADM="127.0.0.1:$AP"
P1=$(backend e1 "$NET.1")

mkdir -p "$TMP/conf"
cat >"$TMP/conf/10-web.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.63.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: $ADM
  connectionLog: "off"
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  clusterIP: "$CIP"
  ports: [{port: $SP, targetPort: $P1}]
---
apiVersion: v1
kind: Pod
metadata: {name: e1, labels: {app: web}}
status:
  phase: Running
  podIP: "$NET.1"
  conditions: [{type: Ready, status: "True"}]
YEOF

# The slow shapes, generated (a few MB in all).
python3 - "$TMP" <<'PY'
import os, sys
d = sys.argv[1]
pod = "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n"
n = 1000000
with open(os.path.join(d, "deep.yaml"), "w") as f:
    f.write(pod % "deep" + "spec:\n  affinity: " + "[" * n + "]" * n + "\n")
n = 50000
with open(os.path.join(d, "anchors.yaml"), "w") as f:
    f.write(pod % "anchors" + "  labels:\n")
    f.write("".join("    a%d: &x%d v%d\n" % (i, i, i) for i in range(n)))
    f.write("".join("    b%d: *x%d\n" % (i, i) for i in range(n)))
n = 100000
with open(os.path.join(d, "late-kind.yaml"), "w") as f:
    f.write("---\napiVersion: v1\n" +
            "".join("k%d: 1\n" % i for i in range(n)) +
            "kind: Service\nmetadata: {name: late}\n")
PY

# ---- a. check refuses what is not a regular file ----
expect_timed "check: a valid directory" 0 "$SVCPROXY" check -c "$TMP/conf"
mkdir -p "$TMP/fifodir"
cp "$TMP/conf/10-web.yaml" "$TMP/fifodir/"
mkfifo "$TMP/fifodir/x.yaml"
expect_timed "check: a FIFO named x.yaml in the directory is refused" 1 \
	"$SVCPROXY" check -c "$TMP/fifodir"
expect_grep "^error: $TMP/fifodir/x.yaml: cannot read: is a FIFO \(named pipe\), not a regular file" \
	"$TMP/err" "check: the FIFO's error names the file and what it is"
expect_grep "test failed: 1 errors" "$TMP/err" \
	"check: the FIFO is the only error"
expect_timed "check -o json: the FIFO" 1 \
	"$SVCPROXY" check -c "$TMP/fifodir" -o json
if python3 - "$TMP/out" "$TMP/fifodir/x.yaml" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["errors"]
assert len(e) == 1, e
assert e[0]["file"] == sys.argv[2], e[0]
assert e[0]["reason"] == "FileUnreadable", e[0]
assert e[0]["message"].startswith(
    "cannot read: is a FIFO (named pipe), not a regular file"), e[0]
PY
then pass "check -o json: the FIFO is FileUnreadable"
else fail "check -o json: the FIFO is FileUnreadable"; fi
expect_timed "check -c FIFO" 1 "$SVCPROXY" check -c "$TMP/fifodir/x.yaml"
expect_grep "x.yaml: cannot read: is a FIFO" "$TMP/err" \
	"check -c FIFO: refused by name"
expect_timed "check -c a character device" 1 "$SVCPROXY" check -c /dev/zero
expect_grep "^error: /dev/zero: cannot read: is a character device, not a regular file" \
	"$TMP/err" "check -c /dev/zero: refused by name"
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/sock.yaml"
expect_timed "check -c a socket" 1 "$SVCPROXY" check -c "$TMP/sock.yaml"
expect_grep "sock.yaml: cannot read: is a socket, not a regular file" \
	"$TMP/err" "check -c socket: refused by name"

# ---- c. the slow shapes under check ----
expect_timed "check: a million levels of nesting in a Pod's dropped field" \
	1 "$SVCPROXY" check -c "$TMP/deep.yaml"
expect_grep "^error: $TMP/deep.yaml:7:75: invalid YAML: nesting deeper than 64 levels" \
	"$TMP/err" "check: deep nesting: the error and where the 65th level opens"
expect_timed "check: 50,000 anchors, each aliased" 0 \
	"$SVCPROXY" check -c "$TMP/anchors.yaml"
expect_grep "anchors.yaml is ok: .* 1 pods" "$TMP/out" \
	"check: the anchors' Pod is valid"
expect_timed "check: 100,000 keys before an object's kind" 1 \
	"$SVCPROXY" check -c "$TMP/late-kind.yaml"
expect_grep "late-kind.yaml:3:1: Service default/late: k0: unknown field \"k0\"" \
	"$TMP/err" "check: late kind: each unknown key reported"

# ---- b. a FIFO under a running svcproxy, then SIGHUP ----
"$SVCPROXY" run -c "$TMP/conf" --workers 1 --pidfile "$PIDFILE" \
	>"$TMP/run.log" 2>&1 &
PIDS="$PIDS $!"
if ! wait_for 20 grep -q "serving" "$TMP/run.log" ||
    ! wait_for 10 test -s "$PIDFILE"; then
	echo "svcproxy did not start"
	cat "$TMP/run.log"
	exit 1
fi
PID=$(cat "$PIDFILE")
echo "# svcproxy pid $PID, admin $ADM, Service $CIP:$SP"
healthz() { curl -s -m 1 "http://$ADM/healthz"; }
# A stuck main thread must not stretch the bounds: 1 s per request.
reloads() {
	curl -s -m 1 "http://$ADM/metrics" | awk \
	    -v m="svcproxy_reloads_total{result=\"$1\"}" \
	    'index($0, m " ") == 1 { print $2 }'
}
reloads_are() { test "$(reloads "$1")" = "$2"; }
# until_for SECONDS CMD...: poll CMD until it succeeds, for SECONDS of
# wall time however long each try takes.
until_for() {
	local end=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
expect "run: healthz" ok "$(healthz)"
expect "run: a connection through the Service" hi \
	"$(python3 "$TCPTOOL" --timeout 5 echo "$CIP:$SP" hi)"

# reload_to RESULT N DESC: SIGHUP; the Nth reload of RESULT (ok,
# failed) is counted within BOUND s, and healthz answered meanwhile.
reload_to() {
	local t0
	t0=$(date +%s.%N)
	kill -HUP "$PID"
	if until_for "$BOUND" reloads_are "$1" "$2"; then
		pass "$3: reload $1 ($(python3 -c "print('%.2f' % ($(date +%s.%N) - $t0))") s)"
	else
		fail "$3: no reload $1 within $BOUND s (ok $(reloads ok), failed $(reloads failed))"
		tail -5 "$TMP/run.log" | cut -c1-200
	fi
}

mkfifo "$TMP/conf/x.yaml"
reload_to failed 1 "run: a FIFO named x.yaml, SIGHUP"
expect_grep "error: $TMP/conf/x.yaml: cannot read: is a FIFO \(named pipe\), not a regular file" \
	"$TMP/run.log" "run: the reload's error names the FIFO"
expect_grep "reload failed: invalid configuration: still serving" \
	"$TMP/run.log" "run: the running configuration is kept"
expect "run: healthz answers within 1 s after the failed reload" ok \
	"$(healthz)"
expect "run: the old configuration still serves" hi \
	"$(python3 "$TCPTOOL" --timeout 5 echo "$CIP:$SP" hi)"
rm "$TMP/conf/x.yaml"

# ---- c. the slow shapes as a reload ----
cp "$TMP/deep.yaml" "$TMP/conf/20-deep.yaml"
reload_to failed 2 "run: deep nesting, SIGHUP"
expect_grep "20-deep.yaml:7:75: invalid YAML: nesting deeper than 64 levels" \
	"$TMP/run.log" "run: deep nesting: the reload's error"
expect "run: healthz after the deep nesting" ok "$(healthz)"
rm "$TMP/conf/20-deep.yaml"
cp "$TMP/anchors.yaml" "$TMP/conf/20-anchors.yaml"
reload_to ok 1 "run: 50,000 anchors, SIGHUP"
expect "run: healthz after the anchors" ok "$(healthz)"
expect "run: the Service serves after the anchors" hi \
	"$(python3 "$TCPTOOL" --timeout 5 echo "$CIP:$SP" hi)"
rm "$TMP/conf/20-anchors.yaml"
cp "$TMP/late-kind.yaml" "$TMP/conf/20-late-kind.yaml"
reload_to failed 3 "run: 100,000 keys before kind, SIGHUP"
expect "run: healthz after the late kind" ok "$(healthz)"
expect "run: the Service serves after the late kind" hi \
	"$(python3 "$TCPTOOL" --timeout 5 echo "$CIP:$SP" hi)"

# ---- SIGTERM stops it ----
kill -TERM "$PID"
if until_for "$BOUND" gone "$PID"; then
	pass "run: SIGTERM stops svcproxy"
else
	fail "run: svcproxy still running $BOUND s after SIGTERM"
fi

finish
