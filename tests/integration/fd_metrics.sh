#!/bin/bash
# The fd budget on /metrics, against /status "fdBudget", on loopback
# with 1 worker under `ulimit -n 512`: svcproxy_open_fds_limit,
# svcproxy_fd_budget (the fds connections and UDP flows may hold),
# svcproxy_fd_budget_used (held now) and
# svcproxy_fd_budget_exhausted_total{protocol} (TCP accepts left
# waiting, UDP flows dropped) equal openFileLimit, fds, taken,
# acceptsWaited and flowsDropped, at startup on 100 addresses, while
# UDP flows fill the budget, after a reload to 2 addresses raises it,
# and while held TCP connections fill it.  UDP flows after that reload
# stop at the reloaded budget, not at the smaller startup one (the flow
# table was bounded by the startup budget).  The text passes promtool.
# Every wait polls with a bound; every process is stopped by its pid.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"

A=$((RANDOM % 200 + 20))
NET="127.76.$A"
SP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] || { echo "no free port"; exit 1; }
P1=$(backend e1 "$NET.1")
UCIP="127.77.$((A + 1)).251"
python3 "$top_srcdir/tests/integration/udptool.py" serve --host "$NET.2" \
    --name u1 --ready "$TMP/u1.port" >"$TMP/u1.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/u1.port" || fail "the UDP backend did not start"
UPORT=$(cat "$TMP/u1.port")
SVCNET=127.77
WORKERS=1
# u's flows expire after 6 s idle.
U_ANN='{"svcproxy.io/udp-idle-timeout": "6s"}'
. "$top_srcdir/tests/integration/budget_lib.sh"

# /status fdBudget: limit, fds, taken, acceptsWaited, flowsDropped.
FB='s["process"]["fdBudget"]'
st_budget() {
	status "$FB[\"openFileLimit\"], $FB[\"fds\"], $FB[\"taken\"], $FB[\"acceptsWaited\"], $FB[\"flowsDropped\"]"
}
# The same five from /metrics, in that order.
m_budget() {
	curl -sf --max-time 5 "http://$ADM/metrics" >"$TMP/metrics" ||
	    { echo unreachable; return; }
	awk '
	    $1 == "svcproxy_open_fds_limit" { v[1] = $2 }
	    $1 == "svcproxy_fd_budget" { v[2] = $2 }
	    $1 == "svcproxy_fd_budget_used" { v[3] = $2 }
	    $1 == "svcproxy_fd_budget_exhausted_total{protocol=\"TCP\"}" { v[4] = $2 }
	    $1 == "svcproxy_fd_budget_exhausted_total{protocol=\"UDP\"}" { v[5] = $2 }
	    END { for (i = 1; i <= 5; i++) printf "%s%s", (i > 1 ? " " : ""),
		(i in v ? v[i] : "none"); print "" }' "$TMP/metrics"
}
# agree DESC: /metrics and /status say the same; sets MB (metrics).
agree() {
	MB=$(m_budget)
	expect "$1: /metrics agrees with /status" "$(st_budget)" "$MB"
}
field() { echo "$MB" | cut -d' ' -f"$1"; }
used_is() { test "$(m_budget | cut -d' ' -f3)" = "$1"; }
# flows N: N UDP flows from distinct clients; prints how many answered.
# Two rounds (a resend after 1 s), well within the 6 s the answered
# flows stay open, so none makes room for another.
flows() {
	timeout 60 python3 "$top_srcdir/tests/integration/udptool.py" many \
	    --to "$UCIP:$SP" --net 127.78 --n "$1" --secs 2
}
# ---- 100 addresses at startup: the smaller budget ----
start 100
agree "startup"
F0=$(field 2)
case $F0 in
''|*[!0-9]*) fail "no svcproxy_fd_budget on /metrics ($F0)"; finish; exit ;;
esac
expect "the limit is ulimit -n, nothing held or spent yet" "512 0 0 0" \
    "$(field 1) $(field 3) $(field 4) $(field 5)"
expect_grep "open file limit 512: up to $((F0 / 2)) connections .* budget of $F0 fds" \
    "$LOG" "the start log says the same budget"
prom_lint "$TMP/metrics" "/metrics with the fd budget passes promtool"

# UDP flows (1 fd each) fill it: the rest are dropped and counted.
GOT=$(flows $((F0 + 20)))
[ "$GOT" -le "$F0" ] && [ "$GOT" -ge $((F0 - 5)) ] &&
    pass "UDP flows fill the budget ($GOT of $((F0 + 20)), $F0 fds)" ||
    fail "UDP flows: $GOT of $((F0 + 20)) answered, want about $F0"
agree "UDP flows hold the budget"
expect "svcproxy_fd_budget_used: the flows hold every fd" "$F0" "$(field 3)"
D0=$(field 5)
[ "$D0" -ge 20 ] && pass "svcproxy_fd_budget_exhausted_total{UDP} counts the drops ($D0)" ||
    fail "svcproxy_fd_budget_exhausted_total{UDP}: $D0, want at least 20"
expect "no TCP accept waited" 0 "$(field 4)"
wait_for 20 used_is 0 || fail "the flows did not expire: $(m_budget)"

# ---- reload to 2 addresses: the budget rises, /metrics follows ----
conf 2
hup 1 'reload: configuration .* applied'
agree "after the reload"
F1=$(field 2)
echo "# budget $F0 -> $F1 fds"
expect "svcproxy_fd_budget follows the reload: 98 sockets closed" \
    "$((F0 + 98))" "$F1"
expect_grep "reload: open file limit 512: up to $((F1 / 2)) connections .* budget of $F1 fds" \
    "$LOG" "the reload logs the same budget"

# UDP flows stop at the reloaded budget, not at the startup one.
GOT=$(flows $((F1 + 20)))
[ "$GOT" -le "$F1" ] && [ "$GOT" -ge $((F1 - 5)) ] &&
    pass "UDP flows fill the reloaded budget ($GOT of $((F1 + 20)), $F1 fds; $F0 at startup)" ||
    fail "UDP flows after the reload: $GOT of $((F1 + 20)) answered, want about $F1 (startup: $F0)"
agree "UDP flows hold the reloaded budget"
expect "svcproxy_fd_budget_used: every fd of the reloaded budget" "$F1" \
    "$(field 3)"
D1=$(field 5)
[ "$D1" -ge $((D0 + 20)) ] &&
    pass "the drops past the reloaded budget are counted ($D0 -> $D1)" ||
    fail "the drops past the reloaded budget: $D0 -> $D1, want 20 more"
wait_for 20 used_is 0 || fail "the flows did not expire: $(m_budget)"

# ---- held TCP connections (2 fds each) fill it ----
B1=$((F1 / 2))
N=$((B1 + 10))
hold "$N"
wait_for 30 used_is "$F1" || fail "the connections did not fill the budget"
agree "$N connections held"
expect "svcproxy_fd_budget_used: $B1 connections, 2 fds each" "$F1" \
    "$(field 3)"
W=$(field 4)
[ "$W" -ge 1 ] &&
    pass "svcproxy_fd_budget_exhausted_total{TCP} counts the wait ($W)" ||
    fail "svcproxy_fd_budget_exhausted_total{TCP}: $W, want at least 1"
expect "UDP drops unchanged by TCP" "$D1" "$(field 5)"
release
expect "the waiting ones are served once others close" "held $N alive $N" \
    "$(cat "$TMP/hold.out")"
wait_for 20 used_is 0 || fail "fds still held: $(m_budget)"
agree "all closed"
prom_lint "$TMP/metrics" "/metrics after all of it passes promtool"
no_emfile
stop_pids "$SP_PID"
finish
