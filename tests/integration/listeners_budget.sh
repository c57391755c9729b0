#!/bin/bash
# The fd budget follows the listener sockets across reloads, on
# loopback with 2 workers under `ulimit -n 512`: the connections the
# workers may hold are what the open file limit leaves once the
# listener sockets, pipes and the reserve are counted (worker.h), and
# a reload that opens or closes many sockets splits it again.  A
# reload from 2 to 100 per-worker addresses (4 to 200 sockets) lowers
# it: held connections stop at the new budget, the rest wait queued,
# none fails for want of an fd.  A process started on 100 addresses
# and reloaded to 2 serves the connections its old budget would have
# kept queued.  /status "fdBudget" and the log say so.  A reload that
# fails after the listeners prepared (the DNS address is taken) leaves
# the budget as it was.  UDP flows, one fd each from the same budget,
# stop at the budget a reload split again.  /metrics' svcproxy_fd_budget
# follows the reload, and svcproxy_fd_budget_exhausted_total counts the
# TCP waits and the UDP drops.  Every wait polls with a bound; every
# process is stopped by its own pid.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ha_lib.sh"

A=$((RANDOM % 200 + 20))
NET="127.72.$A"
SP=$(free_port 20000 29999 127.0.0.1)
[ -n "$SP" ] || { echo "no free port"; exit 1; }
P1=$(backend e1 "$NET.1")
SVCNET=127.73
WORKERS=2
. "$top_srcdir/tests/integration/budget_lib.sh"

budget() { status 's["process"]["fdBudget"]["connections"]'; }
active() { status 's["process"]["connectionsActive"]'; }
active_ge() { test "$(active)" -ge "$1"; }
active_is() { test "$(active)" = "$1"; }
# settles_at WANT: connectionsActive reaches WANT and stays there for
# 1 s (the workers retry a paused accept every 100 ms).
settles_at() {
	local got n
	wait_for 30 active_ge "$1" || true
	for n in 1 2 3 4 5; do
		got=$(active)
		[ "$got" = "$1" ] || break
		sleep 0.2
	done
	echo "$got"
}

start 2
B0=$(budget)
# 196 more sockets take 98 connections' fds.
B1=$((B0 - 98))
echo "# 2 addresses, 4 sockets: a budget of $B0 connections"
expect "/status: the budget counts 4 listener sockets" "512 4 $((B0 * 2))" \
    "$(status 's["process"]["fdBudget"]["openFileLimit"], s["process"]["fdBudget"]["listenerSockets"], s["process"]["fdBudget"]["fds"]')"
expect_grep "open file limit 512: up to $B0 connections .* \\(4 listener sockets open\\)" \
    "$LOG" "the start log says the same budget"

# ---- 100 addresses: 196 more sockets, 98 fewer connections ----
conf 100
hup 1 'reload: configuration .* applied'
echo "# 100 addresses, 200 sockets: a budget of $(budget) connections"
expect "more sockets: the budget shrinks by 196 fds" "$B1" "$(budget)"
expect "/status: 200 listener sockets counted" "200 $((B1 * 2))" \
    "$(status 's["process"]["fdBudget"]["listenerSockets"], s["process"]["fdBudget"]["fds"]')"
expect_grep "reload: open file limit 512: up to $B1 connections .* \\(200 listener sockets open\\)" \
    "$LOG" "the reload logs the new budget"
expect "/metrics svcproxy_fd_budget follows the reload" "$((B1 * 2))" \
    "$(metric "$ADM" svcproxy_fd_budget)"
# More than the new budget, fewer than the old one: the workers stop
# at the new one and leave the rest queued.
N=$((B1 + 30))
hold "$N"
expect "held $N: the workers serve the budget's $B1, the rest wait" \
    "$B1" "$(settles_at "$B1")"
expect "/metrics: the budget is all used" "$((B1 * 2)) $((B1 * 2))" \
    "$(metric "$ADM" svcproxy_fd_budget) $(metric "$ADM" svcproxy_fd_budget_used)"
W=$(metric "$ADM" 'svcproxy_fd_budget_exhausted_total{protocol="TCP"}')
[ "${W:-0}" -ge 1 ] &&
    pass "/metrics: the waits are counted ($W)" ||
    fail "/metrics: svcproxy_fd_budget_exhausted_total{TCP} is '$W'"
release
expect "the queued ones are served once others close" "held $N alive $N" \
    "$(cat "$TMP/hold.out")"
wait_for 20 active_is 0 || fail "connections still active: $(active)"

# ---- back to 2 addresses: the budget grows again ----
conf 2
hup 2 'reload: configuration .* applied'
expect "fewer sockets: the budget is back" "$B0" "$(budget)"

# ---- a reload that fails after the listeners prepared ----
# 98 more addresses would shrink the budget, but the DNS server cannot
# bind the backend's address: the reload fails and the budget stays.
conf 100 "$NET.1:$P1"
hup 1 'reload failed'
expect "failed reload: the budget is as it was" "$B0 4 $((B0 * 2))" \
    "$(status 's["process"]["fdBudget"]["connections"], s["process"]["fdBudget"]["listenerSockets"], s["process"]["fdBudget"]["fds"]')"
no_emfile
stop_pids "$SP_PID"

# ---- from 100 addresses down to 2: room for more connections ----
start 100
expect "100 addresses at startup: the smaller budget" "$B1" "$(budget)"
conf 2
hup 1 'reload: configuration .* applied'
expect "fewer sockets: the budget grows" "$B0" "$(budget)"
N=$((B1 + 40))
hold "$N"
expect "held $N, more than the old budget: all served" "$N" \
    "$(settles_at "$N")"
release
expect "all echoed" "held $N alive $N" "$(cat "$TMP/hold.out")"
no_emfile
stop_pids "$SP_PID"

# ---- UDP flows take from the budget a reload split again ----
# One fd per flow from the same budget: after the reload to 100
# addresses, flows stop at the new budget's fds, not the startup one's.
UCIP="127.73.$((A + 1)).251"
python3 "$top_srcdir/tests/integration/udptool.py" serve --host "$NET.2" \
    --name u1 --ready "$TMP/u1.port" >"$TMP/u1.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 test -s "$TMP/u1.port" || fail "the UDP backend did not start"
UPORT=$(cat "$TMP/u1.port")
start 2
UB0=$(budget)
conf 100
hup 1 'reload: configuration .* applied'
UB1=$(budget)
F=$((UB1 * 2))
GOT=$(timeout 60 python3 "$top_srcdir/tests/integration/udptool.py" many \
    --to "$UCIP:$SP" --net 127.75 --n $((F + 40)) --secs 3)
echo "# UDP: budget $UB0 -> $UB1 connections ($F fds); $GOT of $((F + 40)) flows answered"
[ "$GOT" -le "$F" ] && [ "$GOT" -ge $((F - 5)) ] &&
    pass "UDP flows stop at the reloaded budget ($GOT of $((F + 40)), $F fds)" ||
    fail "UDP flows: $GOT of $((F + 40)) answered, want about $F (the reloaded budget)"
D=$(metric "$ADM" 'svcproxy_fd_budget_exhausted_total{protocol="UDP"}')
[ "${D:-0}" -ge 40 ] &&
    pass "/metrics: the flows past the budget are counted ($D)" ||
    fail "/metrics: svcproxy_fd_budget_exhausted_total{UDP} is '$D', want at least 40"
no_emfile
stop_pids "$SP_PID"
finish
