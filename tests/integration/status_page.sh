#!/bin/bash
# The status page (GET / on the admin address) in a real browser:
# Debian's chromium, headless, against a running svcproxy with three
# Services on loopback:
#   - default/web: two backends, TCP health checks every 200 ms;
#   - shop/api: one backend, unchecked;
#   - shop/old: one Pod that is terminating but still serving (draining).
# The rendered DOM (--dump-dom, after the page's script has read
# /status) must show every Service port and endpoint row with its state
# word: up, then down for a killed backend, and the port down (or in
# panic) once both of web's backends are.  The page refreshes itself
# (?refresh=1: several reads, rates shown) without being reloaded, and
# ?filter= hides the other Services.  Without script (curl, as lynx
# reads it) the server's own table says the same in words.  The answer
# carries the security headers; methods but GET and HEAD get 405.
# The badges' computed colours, read through the DevTools protocol
# (cdp.py), show the style ran under the answer's CSP nonce.
# Screenshots go to the test's log directory (status_page*.png).
# A second svcproxy with 3000 endpoints measures the page's render time
# in real time (printed; bounded generously).
#
# Skips (77), saying so, where chromium is not installed; fails instead
# when CI is set (.ci/deps --test installs chromium, so CI runs this test).
# Chromium gets its own temporary profile and is killed by its pid on
# exit; every wait is bounded.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}

CHROMIUM=""
for c in chromium chromium-browser; do
	if command -v "$c" >/dev/null 2>&1; then
		CHROMIUM=$(command -v "$c")
		break
	fi
done
if [ -z "$CHROMIUM" ] && [ -n "${CI:-}" ]; then
	echo "FAIL: status_page.sh: chromium is not installed, and CI must" \
	    "not skip this test (.ci/deps --test installs chromium)"
	exit 1
fi
if [ -z "$CHROMIUM" ]; then
	echo "SKIP: status_page.sh: chromium is not installed (Debian:" \
	    "apt-get install chromium, or .ci/deps --test); the status page is" \
	    "NOT tested in a browser"
	exit 77
fi
if [ "${VALGRIND:-0}" = 1 ]; then
	echo "status_page.sh: not under valgrind (browser timing)"
	exit 77
fi

. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

# The test's log directory: where make check writes status_page.log.
LOGDIR=${top_builddir:+$top_builddir/tests/integration}
LOGDIR=${LOGDIR:-$PWD}
mkdir -p "$LOGDIR"

A=$((RANDOM % 200 + 20))
NET="127.76.$A"
SP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] || { echo "no free port"; exit 1; }

# chrome_gone UD: chromium's helpers (renderer, utility, crashpad
# handler) outlive the browser process by a moment and still write into
# its profile, so rm -rf may find a directory filling again: wait for
# every process naming UD to end (bounded; killed after 5 s), then
# remove it.
chrome_gone() {
	local n=0
	while pgrep -f -- "$1" >/dev/null && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	pkill -KILL -f -- "$1" 2>/dev/null || true
	n=0
	until rm -rf "$1" 2>/dev/null || [ $n -ge 20 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}
# browse OUT URL [FLAGS...]: chromium's DOM of URL after its script ran
# into OUT (the virtual time budget lets the page's reads of /status
# and its refresh timer run; the browser waits for pending fetches).
# Its own profile; killed by pid after 90 s at most.
browse() {
	local out=$1 url=$2 ud n cpid
	shift 2
	ud=$(mktemp -d "$TMP/chrome.XXXXXX")
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
	    --disable-extensions --disable-background-networking \
	    --user-data-dir="$ud" --window-size=1600,900 "$@" "$url" \
	    >"$out" 2>>"$TMP/chrome.err" &
	cpid=$!
	PIDS="$PIDS $cpid"
	n=0
	while alive "$cpid" && [ $n -lt 900 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if alive "$cpid"; then
		echo "# chromium did not finish within 90 s; killed"
		stop_pids "$cpid"
	fi
	wait "$cpid" 2>/dev/null || true
	chrome_gone "$ud"
}
# dom OUT QUERY: the page's DOM with QUERY, after 4 s of its time.
dom() {
	browse "$1" "http://$ADM/$2" --virtual-time-budget=4000 --dump-dom
}
# shot FILE: a screenshot of the page into the log directory.
shot() {
	browse "$TMP/shot.out" "http://$ADM/" --virtual-time-budget=3000 \
	    --screenshot="$LOGDIR/$1"
	if [ -s "$LOGDIR/$1" ]; then
		pass "screenshot $LOGDIR/$1"
	else
		fail "no screenshot at $LOGDIR/$1"
	fi
}
# cdp OUT URL EXPR SECONDS: chromium on URL in real time, EXPR
# evaluated in the page through the DevTools protocol (cdp.py) until it
# gives a value, printed into OUT; chromium killed by its pid after.
cdp() {
	local out=$1 url=$2 ud cpid
	ud=$(mktemp -d "$TMP/chrome.XXXXXX")
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
	    --disable-extensions --disable-background-networking \
	    --user-data-dir="$ud" --remote-debugging-port=0 \
	    --remote-debugging-address=127.0.0.1 --window-size=1600,900 \
	    "$url" >/dev/null 2>>"$TMP/chrome.err" &
	cpid=$!
	PIDS="$PIDS $cpid"
	set +e
	python3 "$top_srcdir/tests/integration/cdp.py" "$ud" "$3" "$4" \
	    >"$out" 2>"$TMP/cdp.err"
	set -e
	stop_pids "$cpid"
	chrome_gone "$ud"
	[ ! -s "$TMP/cdp.err" ] || sed 's/^/#   cdp: /' "$TMP/cdp.err"
}
# row_state FILE ATTR KEY: the data-state of the row whose data-ATTR is
# KEY, as the script drew it ("" when there is none).
row_state() {
	grep -o "data-$2=\"$3\" data-state=\"[a-z]*\"" "$1" | head -1 |
	    sed 's/.*data-state="\([a-z]*\)"/\1/'
}

P1=$(backend b1 "$NET.1")
P2=$(backend b2 "$NET.2")
P3=$(backend b3 "$NET.3")
P4=$(backend b4 "$NET.4")
mkdir -p "$TMP/conf"
cat >"$TMP/conf/all.yaml" <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.77.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
  connectionLog: "off"
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
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
  clusterIP: 127.77.$A.1
  ports: [{port: $SP, targetPort: p}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  clusterIP: 127.77.$A.2
  ports: [{port: $SP, targetPort: p}]
---
apiVersion: v1
kind: Service
metadata: {name: old, namespace: shop}
spec:
  selector: {app: old}
  clusterIP: 127.77.$A.3
  ports: [{port: $SP, targetPort: p}]
---
apiVersion: v1
kind: Pod
metadata: {name: b1, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P1}]}]}
status: {podIP: "$NET.1", conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b2, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P2}]}]}
status: {podIP: "$NET.2", conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b3, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P3}]}]}
status: {podIP: "$NET.3", conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: b4
  namespace: shop
  labels: {app: old}
  deletionTimestamp: "2026-01-01T00:00:00Z"
spec: {containers: [{name: c, ports: [{name: p, containerPort: $P4}]}]}
status: {podIP: "$NET.4", conditions: [{type: Ready, status: "True"}]}
YEOF

LOG="$TMP/run.log"
sp_start "$LOG" "$TMP/pid" run -c "$TMP/conf" --workers 1
sp_wait_ready "$LOG" "$TMP/pid" 20 || exit 1
ADM="127.0.0.1:$(admin_port "$LOG")"
WEB="default/web:$SP/TCP"
API="shop/api:$SP/TCP"
OLD="shop/old:$SP/TCP"

# Health known (both of web's endpoints up) before the browser looks.
status_has() { curl -s --max-time 5 "http://$ADM/status" | grep -q "$1"; }
wait_for 20 eval '[ "$(curl -s --max-time 5 "http://$ADM/status" |
    grep -o "\"health\":\"up\"" | wc -l)" -ge 3 ]' ||
    fail "web's endpoints not up by their checks within 20 s"
# Some traffic, so that counters and rates have something to show.
for i in 1 2 3 4; do
	python3 "$TCPTOOL" echo "127.77.$A.1:$SP" hello >/dev/null 2>&1 ||
	    true
done

# ---- the answer itself: headers, methods, the no-script table ----
curl -s -D "$TMP/h" -o "$TMP/page.html" --max-time 5 "http://$ADM/"
expect_grep '^HTTP/1.1 200' "$TMP/h" "GET / answers 200"
expect_grep '^Content-Type: text/html' "$TMP/h" "GET / is HTML"
N32="'nonce-[0-9a-f]{32}'"
expect_grep "^Content-Security-Policy: default-src 'self'; script-src $N32; style-src $N32;.*frame-ancestors 'none'" \
    "$TMP/h" "Content-Security-Policy: self only, inline by nonce, no framing"
expect_grep '^X-Content-Type-Options: nosniff' "$TMP/h" "nosniff"
expect_grep '^X-Frame-Options: DENY' "$TMP/h" "X-Frame-Options: DENY"
nonce=$(sed -n \
    "s/^Content-Security-Policy:.*script-src 'nonce-\([0-9a-f]*\)'.*/\1/p" \
    "$TMP/h")
expect_grep "<script nonce=\"$nonce\">" "$TMP/page.html" \
    "the script carries the answer's nonce"
if grep -qiE '(src|href|action)="?(https?:)?//|@import|url\(' \
    "$TMP/page.html"; then
	fail "the page loads something from elsewhere"
else
	pass "nothing loaded from elsewhere"
fi
expect_grep "<td>$WEB</td><td><span class=\"st\">up</span>" \
    "$TMP/page.html" "no-script table: web's port up, in words"
expect_grep "<td>$NET.1:$P1 default/b1</td><td><span class=\"st\">up</span>" \
    "$TMP/page.html" "no-script table: endpoint b1 up, in words"
expect_grep '<a href="/status">/status</a>' "$TMP/page.html" \
    "noscript points at /status"
curl -s -D "$TMP/h2" -o /dev/null -X POST --max-time 5 "http://$ADM/"
expect_grep '^HTTP/1.1 405' "$TMP/h2" "POST / is refused (read-only)"
expect_grep '^Allow: GET, HEAD' "$TMP/h2" "405 says GET, HEAD"
curl -s -I --max-time 5 "http://$ADM/" >"$TMP/h3"
expect_grep '^HTTP/1.1 200' "$TMP/h3" "HEAD / answers 200"

# ---- in the browser: rows and states, refresh, filter ----
dom "$TMP/dom1.html" "?refresh=1"
expect "web's port row, drawn by the script" up \
    "$(row_state "$TMP/dom1.html" port "$WEB")"
expect "endpoint b1 up" up "$(row_state "$TMP/dom1.html" ep "$NET.1:$P1")"
expect "endpoint b2 up" up "$(row_state "$TMP/dom1.html" ep "$NET.2:$P2")"
expect "shop/api's port up" up "$(row_state "$TMP/dom1.html" port "$API")"
expect "endpoint b3 up (unchecked)" up \
    "$(row_state "$TMP/dom1.html" ep "$NET.3:$P3")"
expect "endpoint b4 draining (terminating, serving)" draining \
    "$(row_state "$TMP/dom1.html" ep "$NET.4:$P4")"
expect_grep 'class="st">draining<' "$TMP/dom1.html" "the word: draining"
if grep -q 'id="static-ports"' "$TMP/dom1.html"; then
	fail "the script did not replace the server's table"
else
	pass "the script replaced the server's table"
fi
r=$(grep -o 'data-refreshes="[0-9]*"' "$TMP/dom1.html" | grep -o '[0-9]*' ||
    echo 0)
if [ "${r:-0}" -ge 2 ]; then
	pass "?refresh=1 read /status $r times without reloading the page"
else
	fail "?refresh=1: read /status ${r:-0} times in 4 s, want >= 2"
fi
expect_grep '[0-9.]+/s<' "$TMP/dom1.html" "rates shown after two reads"
expect_grep "config <b>[0-9a-f]{16}</b>" "$TMP/dom1.html" "config hash shown"
expect_grep "last reload never" "$TMP/dom1.html" "last reload shown"
shot status_page.png

dom "$TMP/dom2.html" "?filter=shop"
expect "?filter=shop shows 2 ports" 'data-ports-shown="2"' \
    "$(grep -o 'data-ports-shown="[0-9]*"' "$TMP/dom2.html")"
if grep -q "data-port=\"$WEB\"" "$TMP/dom2.html"; then
	fail "?filter=shop still shows default/web"
else
	pass "?filter=shop hides default/web"
fi

# ---- a backend goes down ----
kill_backend b1
wait_for 20 status_has '"health":"down"' ||
    fail "b1 not down in /status within 20 s"
dom "$TMP/dom3.html" ""
expect "b1 down after its backend died" down \
    "$(row_state "$TMP/dom3.html" ep "$NET.1:$P1")"
expect "b2 still up" up "$(row_state "$TMP/dom3.html" ep "$NET.2:$P2")"
expect "web's port still up (one endpoint left)" up \
    "$(row_state "$TMP/dom3.html" port "$WEB")"
expect_grep 'class="ep st-down"' "$TMP/dom3.html" "down row coloured"
# The colours as the browser computes them: the style ran under the
# page's CSP nonce (a blocked style would leave the badges uncoloured).
cdp "$TMP/colours.out" "http://$ADM/" "document.querySelector(
    'tr.ep.st-down .st') && document.querySelector('tr.ep.st-up .st') ?
    getComputedStyle(document.querySelector('tr.ep.st-down .st'))
    .backgroundColor + ' ' + getComputedStyle(document.querySelector(
    'tr.ep.st-up .st')).backgroundColor : null" 30
expect "badges coloured: down red, up green" \
    '"rgb(198, 40, 40) rgb(26, 127, 55)"' "$(cat "$TMP/colours.out")"
kill_backend b2
wait_for 20 eval '[ "$(curl -s --max-time 5 "http://$ADM/status" |
    grep -o "\"health\":\"down\"" | wc -l)" -ge 2 ]' ||
    fail "b2 not down in /status within 20 s"
dom "$TMP/dom4.html" ""
st=$(row_state "$TMP/dom4.html" port "$WEB")
case $st in
down|panic)	pass "web's port $st with both endpoints down" ;;
*)		fail "web's port '$st' with both endpoints down" ;;
esac
expect "shop/api unaffected" up "$(row_state "$TMP/dom4.html" port "$API")"
curl -s --max-time 5 "http://$ADM/" >"$TMP/page2.html"
expect_grep "<td>$NET.1:$P1 default/b1</td><td><span class=\"st\">down</span>" \
    "$TMP/page2.html" "no-script table: b1 down, in words"
shot status_page_down.png

# ---- a few thousand endpoints: rendered at once, render time ----
stop_pids "$SP_PID"
NS=30 NE=100
SPB=$(free_port 20000 29999 127.0.0.1)
{
	cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.78.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: 127.0.0.1:0
YEOF
	s=0
	while [ $s -lt $NS ]; do
		printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d}\nspec:\n  selector: {app: s%d}\n  clusterIP: 127.78.%d.1\n  ports: [{port: %d, targetPort: 9}]\n' \
		    $s $s $((s + 1)) "$SPB"
		e=0
		while [ $e -lt $NE ]; do
			printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d-%d, labels: {app: s%d}}\nstatus: {podIP: "127.79.%d.%d"}\n' \
			    $s $e $s $((s + 1)) $((e + 1))
			e=$((e + 1))
		done
		s=$((s + 1))
	done
} >"$TMP/big.yaml"
rm -rf "$TMP/conf"
mkdir -p "$TMP/conf"
mv "$TMP/big.yaml" "$TMP/conf/"
: >"$LOG"
sp_start "$LOG" "$TMP/pid2" run -c "$TMP/conf" --workers 1
sp_wait_ready "$LOG" "$TMP/pid2" 60 || exit 1
ADM="127.0.0.1:$(admin_port "$LOG")"
# Real time, through the DevTools protocol (dump-dom's virtual time
# stops the clock the page measures with): the page refreshing every
# second, read once it has drawn twice (the second draw has rates).
cdp "$TMP/big.out" "http://$ADM/?refresh=1" \
    "(+document.body.getAttribute('data-refreshes') >= 2) ?
    document.body.getAttribute('data-render-ms') + ' ' +
    document.querySelectorAll('tr[data-ep]').length : null" 60
read -r ms neps <<EOR
$(tr -d '"' <"$TMP/big.out")
EOR
expect "all $((NS * NE)) endpoints drawn" $((NS * NE)) "${neps:-0}"
echo "# render time for $((NS * NE)) endpoints in $NS Service ports:" \
    "${ms:-none} ms (one refresh's draw, style and layout included)"
if [ -n "${ms:-}" ] && awk -v m="$ms" 'BEGIN { exit !(m < 3000) }'; then
	pass "$((NS * NE)) endpoints rendered in $ms ms (bound 3000)"
else
	fail "render of $((NS * NE)) endpoints: '${ms:-none}' ms"
fi
finish
