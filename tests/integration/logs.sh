#!/bin/bash
# Logs (ProxyConfig spec.logFormat): json is one object per line, every
# line, with stable keys: a connection (client, service, endpoint,
# bytes up/down, duration, reason), a health transition (endpoint,
# service, state, reason), a reload error (file, line, col of the
# mistake, through a directory name with a quote, a backslash, a tab
# and UTF-8, and a bad value with a control byte), the reload's
# result.  A reload switches the format.  Text lines stay as they were.
# With JOURNAL_STREAM naming stderr (systemd), lines start with their
# syslog priority "<N>"; not when it names another file.  Loopback
# only, bounded waits, every process killed on exit.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=$(realpath "${SVCPROXY:-$top_srcdir/src/svcproxy}")
TOOL="$top_srcdir/tests/integration/tcptool.py"
UDP="$top_srcdir/tests/integration/udptool.py"
WORK=$(mktemp -d /tmp/svcproxy-logs.XXXXXX)
PIDS=()
FAILED=0

. "$top_srcdir/tests/integration/tcp_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

tool() { timeout 30 python3 "$TOOL" --timeout 10 "$@"; }
# wait_log FILE PATTERN: up to 30 s for an ERE in FILE.
wait_log() {
	local i
	for i in $(seq 1 300); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

A=$((RANDOM % 200 + 20))
NET="127.51.$A"
CIP="127.52.$A.1"
SP=$(free_port 20000 29999 "$CIP" "127.52.$A.2")
ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] && [ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }
P1=$(backend web-1 echo "$NET.1")
python3 "$UDP" serve --host "$NET.3" --name u1 --ready "$WORK/u1.port" \
    >"$WORK/u1.log" 2>&1 &
echo $! >"$WORK/u1.pid"
wait_file "$WORK/u1.port" || exit 1
PU=$(cat "$WORK/u1.port")
DEAD=$(dead_port "$NET.2")

# A directory name with a quote, a backslash, a tab and UTF-8: the
# reload error's file key carries it.
CDIR="$WORK/conf \"q\\ 	é"
mkdir -p "$CDIR"
# conf FORMAT [EXTRA-SPEC-LINE]
conf() {
	cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.52.0.0/16
  adminAddress: $ADMIN
  connectionLog: info
  logFormat: $1
  udpIdleTimeout: 1s
${2:-}
---
apiVersion: v1
kind: Service
metadata: {name: udp}
spec:
  selector: {app: udp}
  clusterIP: "127.52.$A.2"
  ports:
  - {name: main, port: $SP, targetPort: p, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata: {name: udp-1, labels: {app: udp}}
spec:
  containers:
  - name: c
    ports: [{name: p, containerPort: $PU, protocol: UDP}]
status:
  phase: Running
  podIP: "$NET.3"
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    svcproxy.io/health-check: tcp
    svcproxy.io/health-check-interval: 200ms
    svcproxy.io/health-check-rise: "1"
    svcproxy.io/health-check-fall: "1"
spec:
  selector: {app: web}
  clusterIP: "$CIP"
  ports:
  - {name: main, port: $SP, targetPort: p}
$(pod web-1 web "$NET.1" "$P1")
$(pod web-2 web "$NET.2" "$DEAD")
YEOF
}

# ---- json ----
echo "# logFormat: json"
conf json >"$CDIR/c.yaml"
LOG="$WORK/json.log"
start_proxy "$CDIR" "$LOG"
wait_log "$LOG" '"event":"health".*"state":"down"' ||
    fail "no health transition to down logged"
expect "a connection echoes" hi "$(tool echo "$CIP:$SP" hi)"
wait_log "$LOG" '"event":"conn"' || fail "no connection logged"
expect "a UDP datagram echoes" "127.52.$A.2:$SP u1:abc" \
    "$(timeout 30 python3 "$UDP" ask --to "127.52.$A.2:$SP" --msg abc)"
# The flow is logged when it closes, idle for 1 s; "abc" up, "u1:abc"
# down.
wait_log "$LOG" '"event":"flow"' || fail "no UDP flow logged"
# A reload with two mistakes: the bad connectionLog value has a quote,
# a backslash, a control byte and UTF-8.
conf json '  workers: -3
  idleTimeout: "x\"\\\x01é"' >"$CDIR/c.yaml"
kill -HUP "$PROXY"
wait_log "$LOG" '"event":"reload".*"result":"failed"' ||
    fail "no failed reload logged"
# The good configuration in text: the format switches at the reload.
conf text >"$CDIR/c.yaml"
kill -HUP "$PROXY"
wait_log "$LOG" 'Z info: reload: configuration [0-9a-f]+ applied' ||
    fail "no text line after the reload to text"
expect "a connection in text" hi "$(tool echo "$CIP:$SP" hi)"
wait_log "$LOG" 'Z info: conn client=127\.0\.0\.1:[0-9]+ service=default/web:'"$SP"' endpoint='"$NET.1:$P1"' up=2 down=2 duration=[0-9]+ms reason=' ||
    fail "no text connection line"
stop_proxy

python3 - "$LOG" "$CDIR/c.yaml" "$NET.1:$P1" "$NET.2:$DEAD" "$SP" <<'PYEOF' >"$WORK/check.out" 2>&1
import json, re, sys
log, path, ep1, ep2, sp = sys.argv[1:]
raw = open(log, "rb").read()
lines = raw.decode("utf-8").split("\n")
assert lines[-1] == "", "the log ends in a newline"
lines = lines[:-1]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
objs, text = [], []
for i, l in enumerate(lines):
    if l.startswith("{"):
        assert not text, "json line %d after text began: %r" % (i, l)
        o = json.loads(l)
        assert isinstance(o, dict), l
        for k in ("time", "level", "event"):
            assert k in o, "line %d lacks %s: %r" % (i, k, l)
        assert TIME.match(o["time"]), o["time"]
        assert o["level"] in ("error", "warning", "info", "debug"), l
        objs.append(o)
    else:
        text.append(l)
print("ok - %d json lines parse, each with time (RFC 3339, ms), level, "
      "event" % len(objs))
assert all(not t.startswith("{") for t in text)
assert text and all(re.match(r"^\d{4}-.*Z (info|warning|error|debug): ", t)
                    for t in text), text
print("ok - after the reload to text: %d text lines, no json" % len(text))
ev = lambda e: [o for o in objs if o["event"] == e]
conn = [o for o in ev("conn") if o.get("endpoint") == ep1]
assert conn, "no conn event"
c = conn[0]
assert re.match(r"^127\.0\.0\.1:\d+$", c["client"]), c
assert c["service"] == "default/web:" + sp, c
assert c["bytes"] == {"up": 2, "down": 2}, c
assert isinstance(c["duration"], int) and c["duration"] >= 0, c
assert c["level"] == "info" and isinstance(c["reason"], str), c
assert "msg" not in c
print("ok - conn: client, service, endpoint, bytes up/down, duration, "
      "reason")
fl = ev("flow")
assert fl, "no flow event"
f = fl[0]
assert f["service"] == "default/udp:" + sp and f["bytes"] == {"up": 3,
    "down": 6} and f["datagrams_up"] == 1 and f["datagrams_down"] == 1, f
assert re.match(r"^127\.0\.0\.1:\d+$", f["client"]) and f["local"] and \
    isinstance(f["duration"], int) and f["reason"], f
print("ok - flow: client, local, service, endpoint, bytes, datagrams, "
      "duration, reason")
h = [o for o in ev("health") if o.get("endpoint") == ep2]
assert h, "no health event for " + ep2
h = h[0]
assert h["state"] == "down" and h["level"] == "warning", h
assert h["service"] == "default/web:%s/TCP" % sp, h
assert h["reason"] == "connection refused", h
assert h["msg"].startswith("endpoint %s (default/web:%s/TCP) is down" %
                           (ep2, sp)), h
print("ok - health: endpoint, service, state, reason, msg")
errs = [o for o in ev("config") if o["level"] == "error"]
assert len(errs) >= 2, errs
fields = {}
for e in errs:
    assert e["file"] == path, (e["file"], path)
    assert isinstance(e["line"], int) and isinstance(e["col"], int), e
    assert e["msg"].startswith("%s:%d:%d: " % (path, e["line"], e["col"])), e
    fields[e["field"]] = e
assert "spec.workers" in fields and "spec.idleTimeout" in fields, fields
assert fields["spec.workers"]["line"] == 10, fields["spec.workers"]
assert fields["spec.idleTimeout"]["line"] == 11, fields["spec.idleTimeout"]
assert 'Invalid value: "x"\\\x01\u00e9"' in fields["spec.idleTimeout"]["msg"], \
    fields["spec.idleTimeout"]["msg"]
print("ok - reload errors: file (quote, backslash, tab, UTF-8), line, "
      "col, field; the bad value's control byte and UTF-8 intact")
r = ev("reload")
assert any(o["result"] == "failed" and o["level"] == "error" and
           o["reason"] == "invalid configuration" for o in r), r
print("ok - reload: result failed, reason")
warn = [o for o in ev("config") if o["level"] == "warning"]
assert warn and all("loopback" in o["msg"] for o in warn), warn
print("ok - the startup warnings are json too (%d)" % len(warn))
PYEOF
rc=$?
cat "$WORK/check.out"
[ $rc = 0 ] || { fail "json log check"; sed 's/^/#   /' "$LOG" | head -30; }

# ---- journal priorities ----
echo "# JOURNAL_STREAM: <N> priorities"
conf text >"$CDIR/c.yaml"
JLOG="$WORK/journal.log"
: >"$JLOG"
DEVINO=$(python3 -c 'import os, sys; s = os.stat(sys.argv[1]); print("%d:%d" % (s.st_dev, s.st_ino))' "$JLOG")
start_proxy "$CDIR" "$JLOG" JOURNAL_STREAM="$DEVINO"
wait_log "$JLOG" '^<4>.* warning: endpoint '"$NET.2:$DEAD"' .* is down' ||
    fail "no <4> health line"
conf text '  workers: -3' >"$CDIR/c.yaml"
kill -HUP "$PROXY"
wait_log "$JLOG" '^<3>.* error: reload failed' || fail "no <3> reload line"
stop_proxy
bad=$(grep -cvE '^<[3467]>' "$JLOG")
expect "every line has a priority prefix" 0 "$bad"
expect_grep() { if grep -qE -- "$1" "$2"; then pass "$3"; else fail "$3"; fi; }
expect_grep '^<6>[0-9-]+T[0-9:.]+Z info: serving ' "$JLOG" "info is <6>"
expect_grep '^<4>[0-9-]+T[0-9:.]+Z warning: ' "$JLOG" "warning is <4>"
expect_grep '^<3>[0-9-]+T[0-9:.]+Z error: .*:[0-9]+:[0-9]+: ' "$JLOG" \
    "error is <3>, file:line:col kept"
# Another file's device and inode: plain lines.
conf text >"$CDIR/c.yaml"
OLOG="$WORK/other.log"
start_proxy "$CDIR" "$OLOG" JOURNAL_STREAM="$DEVINO"
stop_proxy
expect "JOURNAL_STREAM naming another file: no prefix" 0 \
    "$(grep -c '^<' "$OLOG")"

[ "$FAILED" = 0 ] && echo "# all passed"
exit "$FAILED"
