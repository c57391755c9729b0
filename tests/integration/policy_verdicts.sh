#!/bin/bash
# NetworkPolicy verdicts per client, endpoint and snapshot: what one
# client may reach says nothing of another client or another endpoint,
# and a reload that changes the policies is obeyed by the next
# connection (a freed snapshot's memory is really reused across
# reloads: a verdict kept by address would be stale).  Two endpoints of
# one Service, each isolated by 40 policies that allow nobody here and
# one that allows one client: each client reaches only its own
# endpoint, alternating, many times; a third client is reset.  Five
# reloads then cycle through three sets of allows (swapped, the third
# client in, back): after each, every client reaches only what the new
# policies say.  One worker, so that every connection meets the same
# worker state.  Loopback only, kernel-chosen backend ports, bounded
# waits, every process killed on exit.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
TOOL="$top_srcdir/tests/integration/tcptool.py"
WORK=$(mktemp -d /tmp/svcproxy-polverdicts.XXXXXX)
PIDS=()
FAILED=0
WORKERS=1

. "$top_srcdir/tests/integration/tcp_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

tool() { timeout 30 python3 "$TOOL" --timeout 10 "$@"; }

A=$((RANDOM % 200 + 20))
POD="127.6.$A"
C1="127.7.$A.1"
C2="127.7.$A.2"
C3="127.7.$A.3"
SVCIP="127.1.$A.9"
SP=$(free_port 20000 29999 127.0.0.1 "$SVCIP")
[ -n "$SP" ] || { echo "no free port"; exit 1; }
MIX="$SVCIP:$SP"

P_A=$(backend mix-a id "$POD.31")
P_B=$(backend mix-b id "$POD.32")

# write_conf DIR ALLOW_A ALLOW_B: mix-a admits ALLOW_A, mix-b ALLOW_B.
write_conf() {
	local i
	mkdir -p "$1"
	{
		cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.1.0.0/16
  adminAddress: $ADMIN
  connectTimeout: 2s
  connectionLog: info
---
apiVersion: v1
kind: Service
metadata: {name: mix}
spec:
  selector: {app: mix}
  clusterIP: "$SVCIP"
  ports:
  - {name: main, port: $SP, targetPort: p}
EOF
		pod mix-a mix "$POD.31" "$P_A" | sed 's/labels: {app: mix}/labels: {app: mix, side: a}/'
		pod mix-b mix "$POD.32" "$P_B" | sed 's/labels: {app: mix}/labels: {app: mix, side: b}/'
		for i in $(seq 10 49); do
			cat <<EOF
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: pad-$i}
spec:
  podSelector: {matchLabels: {app: mix}}
  ingress:
  - from:
    - ipBlock: {cidr: 10.$i.0.0/16}
EOF
		done
		cat <<EOF
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: zz-allow-a}
spec:
  podSelector: {matchLabels: {side: a}}
  ingress:
  - from:
    - ipBlock: {cidr: $2/32}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: zz-allow-b}
spec:
  podSelector: {matchLabels: {side: b}}
  ingress:
  - from:
    - ipBlock: {cidr: $3/32}
EOF
	} >"$1/conf.yaml.tmp"
	mv "$1/conf.yaml.tmp" "$1/conf.yaml"
}

# want CLIENT ALLOW_A ALLOW_B: what CLIENT must reach under those allows.
want() {
	if [ "$1" = "$2" ]; then echo mix-a
	elif [ "$1" = "$3" ]; then echo mix-b
	else echo reset; fi
}

# reach CLIENT: the endpoint one connection from CLIENT reached, or
# reset (the connection ended before a line came: the id backend sends
# its name at once).
reach() {
	local out
	out=$(tool --source "$1" id "$MIX" 2>/dev/null)
	echo "${out:-reset}"
}

# check LABEL ALLOW_A ALLOW_B: 4 rounds of C1, C2, C3 in turn, each
# reaching what those allows say (the same verdict asked many times).
check() {
	local i c got="" exp=""
	for i in 1 2 3 4; do
		for c in "$C1" "$C2" "$C3"; do
			got="$got $(reach "$c")"
			exp="$exp $(want "$c" "$2" "$3")"
		done
	done
	expect "$1: each client reaches only what admits it" "$exp" "$got"
}

ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
[ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }
CONF="$WORK/conf"
write_conf "$CONF" "$C1" "$C2"
start_proxy "$CONF" "$WORK/run.log"

check start "$C1" "$C2"
expect "refusals counted" 4 "$(mval "$ADMIN" \
    "$(portm svcproxy_port_refused_total default mix "$SP" 'reason="policy"')")"

# Reload through three sets of allows, twice: the next connections
# follow the new policies each time.  A snapshot of the same shape as a
# freed one can take its memory, and so its endpoints' addresses: any
# verdict kept across picks must be keyed by the snapshot (pointer and
# generation), and two snapshots apart the verdicts differ here.
set -- "$C2 $C1" "$C3 $C2" "$C1 $C2" "$C2 $C1" "$C3 $C2"
n=0
for allows in "$@"; do
	n=$((n + 1))
	a=${allows% *}
	b=${allows#* }
	write_conf "$CONF" "$a" "$b"
	kill -HUP "$PROXY"
	# Taken once a client reaches what the new allows say.
	for i in $(seq 1 100); do
		[ "$(reach "$C2")" = "$(want "$C2" "$a" "$b")" ] &&
		    [ "$(reach "$C1")" = "$(want "$C1" "$a" "$b")" ] && break
		sleep 0.1
	done
	check "reload $n" "$a" "$b"
done

stop_proxy
expect "exit 0" 0 $?

[ $FAILED = 0 ] && echo "policy_verdicts: all passed" || echo "policy_verdicts: FAILED"
exit $FAILED
