#!/bin/bash
# NetworkPolicy and loadBalancerSourceRanges on the data path: the real
# svcproxy, backends on 127.6.A.x standing for Pods, clients bound to
# other 127.x addresses standing for Pods (the addresses of Pod objects
# that have no backend) and for outside clients.  Allowed clients echo;
# denied ones are reset at once, counted and logged.  A reload (SIGHUP)
# that adds a deny-all closes the established connections it denies,
# unless keepEstablishedOnPolicyChange keeps them.  Loopback only,
# kernel-chosen backend ports, bounded waits, every process killed on
# exit.  VALGRIND=1 runs the proxy under valgrind for one pass;
# KEEP_WORK=1 keeps the work directory (logs, configurations).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
TOOL="$top_srcdir/tests/integration/tcptool.py"
WORK=$(mktemp -d /tmp/svcproxy-pol.XXXXXX)
PIDS=()
FAILED=0

. "$top_srcdir/tests/integration/tcp_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"
trap tcp_cleanup EXIT
trap 'exit 1' INT TERM

# tool [--source ADDR] ARGS...
tool() { timeout 30 python3 "$TOOL" --timeout 10 "$@"; }
# below NAME VALUE MAX
below() {
	if python3 -c "import sys; sys.exit(not ($2 <= $3))"; then
		pass "$1 ($2 s)"
	else
		fail "$1: $2 s > $3 s"
	fi
}

A=$((RANDOM % 200 + 20))
B=$((RANDOM % 200 + 20))
POD="127.6.$A"			# Pods: backends and client Pods
cip() { echo "127.1.$A.$((B + $1))"; }
LBIP="127.2.$A.$B"
OUT_OK=127.7.1.5		# in db's ipBlock and in lbs's source ranges
OUT_EXCEPT=127.7.9.5		# in db's ipBlock except
OUT_FAR=127.7.2.5		# in db's ipBlock, outside lbs's source ranges
API="$POD.21"			# prod/api-1
WEB="$POD.22"			# prod/web-1
EGR="$POD.23"			# dev/egress-1
SP=$(free_port 20000 29999 127.0.0.1 "$LBIP")
NP=$(free_port 30000 32767 127.0.0.1)
[ -n "$SP" ] && [ -n "$NP" ] || { echo "no free port"; exit 1; }

P_DB=$(backend db echo "$POD.11")
P_MA=$(backend mix-a id "$POD.31")
P_MB=$(backend mix-b id "$POD.32")
P_MC=$(backend mix-c id "$POD.33")
P_OPEN=$(backend open echo "$POD.41")
P_LBS=$(backend lbs echo "$POD.51")
P_GONE=$(backend gone echo "$POD.61")

# pod NS NAME IP LABELS [PORT]: a running, ready Pod.
pod() {
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: $1, labels: {$4}}
spec:
  containers:
  - name: c
EOF
	[ $# -ge 5 ] && echo "    ports: [{name: p, containerPort: $5}]"
	cat <<EOF
status:
  phase: Running
  podIP: "$3"
  conditions: [{type: Ready, status: "True"}]
EOF
}

# svc NS NAME CLUSTERIP APP: a ClusterIP Service on port SP.
svc() {
	cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: $2, namespace: $1}
spec:
  selector: {app: $4}
  clusterIP: "$3"
  ports:
  - {name: main, port: $SP, targetPort: p}
EOF
}

# write_conf DIR KEEP: the base configuration (every scenario's objects);
# sets ADMIN, its admin address (a free port).
write_conf() {
	mkdir -p "$1"
	ADMIN=127.0.0.1:$(free_port 20000 29999 127.0.0.1)
	[ "$ADMIN" != 127.0.0.1: ] || { echo "no free port"; exit 1; }
	{
		cat <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: 127.1.0.0/16
  nodeAddresses: [127.0.0.1]
  adminAddress: $ADMIN
  connectTimeout: 2s
  # Longer than a slow run of this test: the connection to the
  # Service a reload removes must still run when it is checked.
  drainTimeout: 120s
  connectionLog: info
  keepEstablishedOnPolicyChange: $2
---
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {team: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {team: dev}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-allow, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: api}}
    - ipBlock: {cidr: 127.7.0.0/16, except: [127.7.9.0/24]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: mix-locked, namespace: prod}
spec:
  podSelector: {matchLabels: {tier: locked}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: api}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only-mix, namespace: dev}
spec:
  podSelector: {matchLabels: {app: egress}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {team: prod}}
      podSelector: {matchLabels: {app: mix}}
---
apiVersion: v1
kind: Service
metadata: {name: lbs, namespace: prod}
spec:
  type: LoadBalancer
  selector: {app: lbs}
  clusterIP: "$(cip 5)"
  loadBalancerIP: "$LBIP"
  loadBalancerSourceRanges: [127.7.1.0/24]
  ports:
  - {name: main, port: $SP, targetPort: p, nodePort: $NP}
EOF
		svc prod db "$(cip 1)" db
		pod prod db-1 "$POD.11" "app: db" "$P_DB"
		svc prod mix "$(cip 2)" mix
		pod prod mix-a "$POD.31" "app: mix" "$P_MA"
		pod prod mix-b "$POD.32" "app: mix, tier: locked" "$P_MB"
		pod prod mix-c "$POD.33" "app: mix, tier: locked" "$P_MC"
		svc prod open "$(cip 3)" open
		pod prod open-1 "$POD.41" "app: open" "$P_OPEN"
		pod prod lbs-1 "$POD.51" "app: lbs" "$P_LBS"
		pod prod gone-1 "$POD.61" "app: gone" "$P_GONE"
		pod prod api-1 "$API" "app: api"
		pod prod web-1 "$WEB" "app: web"
		pod dev egress-1 "$EGR" "app: egress"
	} >"$1/base.yaml"
	svc prod gone "$(cip 4)" gone >"$1/gone.yaml"
}

PROXY=
# pm NAME NS/SERVICE [EXTRA]: that Service port's series in /metrics.
pm() { portm "$1" "${2%/*}" "${2#*/}" "$SP" "${3:-}"; }
POLICY='reason="policy"'
SOURCE='reason="source"'

# wait_count N PATTERN FILE: poll (up to 10 s) until PATTERN is on N
# lines of FILE (log lines are written as connections close).
wait_count() {
	local i
	for i in $(seq 1 100); do
		[ "$(grep -c -- "$2" "$3")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

DB="$(cip 1):$SP"
MIX="$(cip 2):$SP"
OPEN="$(cip 3):$SP"
GONE="$(cip 4):$SP"

# admission: every verdict of the base configuration; PFX names the pass.
admission() {
	local pfx=$1 log=$2 seq i t0 out

	# Ingress: podSelector and ipBlock with except, on db's endpoint.
	expect "$pfx: Pod allowed by podSelector echoes" hi-api \
	    "$(tool --source "$API" echo "$DB" hi-api)"
	expect "$pfx: outside client in ipBlock echoes" hi-out \
	    "$(tool --source "$OUT_OK" echo "$DB" hi-out)"
	out=$(tool --source "$WEB" reset-time "$DB" x)
	expect "$pfx: Pod not selected by the policy is reset" reset \
	    "${out%% *}"
	below "$pfx: denied at once" "${out#* }" 1.0
	expect "$pfx: ipBlock except is reset" reset \
	    "$(tool --source "$OUT_EXCEPT" expect-reset "$DB" x)"
	expect "$pfx: unknown outside client is reset" reset \
	    "$(tool --source 127.8.0.1 expect-reset "$DB" x)"

	# Only the endpoints a client may reach: web may use mix-a only,
	# api all three in exact rotation.
	seq=""
	for i in 1 2 3 4 5 6; do
		seq="$seq $(tool --source "$WEB" id "$MIX")"
	done
	expect "$pfx: isolated endpoints skipped for web" \
	    " mix-a mix-a mix-a mix-a mix-a mix-a" "$seq"
	seq=""
	for i in 1 2 3 4 5 6; do
		seq="$seq $(tool --source "$API" id "$MIX")"
	done
	expect "$pfx: api visits all three endpoints" 3 \
	    "$(printf '%s\n' $seq | sort -u | wc -l)"
	set -- $seq
	expect "$pfx: api rotation" "$1 $2 $3 $1 $2 $3" "${seq# }"

	# Egress: egress-1 may reach Pods labelled app=mix in prod only.
	expect "$pfx: egress-isolated Pod reaches its allowed endpoint" \
	    mix-a "$(tool --source "$EGR" id "$MIX")"
	expect "$pfx: egress-isolated Pod denied elsewhere" reset \
	    "$(tool --source "$EGR" expect-reset "$OPEN" x)"
	# Fast path: nothing isolated, client not egress-isolated.
	expect "$pfx: unisolated Service open to all" hi-open \
	    "$(tool --source "$WEB" echo "$OPEN" hi-open)"

	# loadBalancerSourceRanges: the LB listener only.
	expect "$pfx: LB listener, client in source ranges" hi-lb \
	    "$(tool --source "$OUT_OK" echo "$LBIP:$SP" hi-lb)"
	expect "$pfx: LB listener, client outside source ranges reset" reset \
	    "$(tool --source "$OUT_FAR" expect-reset "$LBIP:$SP" x)"
	expect "$pfx: ClusterIP of the same Service not restricted" hi-c \
	    "$(tool --source "$OUT_FAR" echo "$(cip 5):$SP" hi-c)"
	expect "$pfx: NodePort of the same Service not restricted" hi-n \
	    "$(tool --source "$OUT_FAR" echo "127.0.0.1:$NP" hi-n)"

	# Counted and logged: client, Service and the reason.
	wait_count 4 'reason=policy-denied' "$log"
	wait_count 1 'reason=source-denied' "$log"
	expect "$pfx: policy refusals logged" 4 \
	    "$(grep -c 'reason=policy-denied' "$log")"
	expect "$pfx: source-range refusal logged" 1 \
	    "$(grep -c "conn client=$OUT_FAR:[0-9]* service=prod/lbs:$SP .*reason=source-denied" "$log")"
	grep -q "conn client=$WEB:[0-9]* service=prod/db:$SP endpoint=- .*reason=policy-denied detail=\"ingress of prod/db-1 not allowed by prod/db-allow\"" "$log" &&
	    pass "$pfx: refusal names client, Service and reason" ||
	    fail "$pfx: refusal log line"
	grep -q "conn client=$EGR:[0-9]* service=prod/open:$SP .*reason=policy-denied detail=\"egress of dev/egress-1 not allowed by dev/egress-only-mix\"" "$log" &&
	    pass "$pfx: egress refusal names the policy" ||
	    fail "$pfx: egress refusal log line"

	# And in /metrics, per Service port: db refused web-1, the except
	# range and the unknown client; open refused egress-1; lbs refused
	# one client by source range, none by policy.
	expect_metric "$pfx: /metrics: db: 3 refused by policy" "$ADMIN" \
	    "$(pm svcproxy_port_refused_total prod/db "$POLICY")" 3
	expect_metric "$pfx: /metrics: db: none refused by source" "$ADMIN" \
	    "$(pm svcproxy_port_refused_total prod/db "$SOURCE")" 0
	expect_metric "$pfx: /metrics: db: 5 connections" "$ADMIN" \
	    "$(pm svcproxy_port_connections_total prod/db)" 5
	expect_metric "$pfx: /metrics: db: 12 bytes up (allowed only)" \
	    "$ADMIN" "$(pm svcproxy_port_bytes_total prod/db 'direction="up"')" 12
	expect_metric "$pfx: /metrics: db: 12 bytes down" "$ADMIN" \
	    "$(pm svcproxy_port_bytes_total prod/db 'direction="down"')" 12
	expect_metric "$pfx: /metrics: db: no connect failure" "$ADMIN" \
	    "$(pm svcproxy_port_connect_failures_total prod/db)" 0
	expect_metric "$pfx: /metrics: open: 1 refused by policy" "$ADMIN" \
	    "$(pm svcproxy_port_refused_total prod/open "$POLICY")" 1
	expect_metric "$pfx: /metrics: mix: none refused" "$ADMIN" \
	    "$(pm svcproxy_port_refused_total prod/mix "$POLICY")" 0
	expect_metric "$pfx: /metrics: mix: 13 connections" "$ADMIN" \
	    "$(pm svcproxy_port_connections_total prod/mix)" 13
	expect_metric "$pfx: /metrics: lbs: 1 refused by source" "$ADMIN" \
	    "$(pm svcproxy_port_refused_total prod/lbs "$SOURCE")" 1
	expect_metric "$pfx: /metrics: lbs: none refused by policy" "$ADMIN" \
	    "$(pm svcproxy_port_refused_total prod/lbs "$POLICY")" 0
	expect_metric "$pfx: /metrics: nothing closed by policy yet" "$ADMIN" \
	    "$(pm svcproxy_port_policy_closed_total prod/open)" 0
}

# persist NAME SOURCE TARGET: hold one echo connection open until
# $WORK/NAME.go exists.
persist() {
	rm -f "$WORK/$1.go" "$WORK/$1.ready"
	timeout 90 python3 "$TOOL" --timeout 10 --source "$2" persist "$3" \
	    "$WORK/$1.ready" "$WORK/$1.go" >"$WORK/$1.out" 2>&1 &
	PIDS+=($!)
	eval "PERSIST_$1=$!"
	wait_file "$WORK/$1.ready"
}

# release NAME: let the holder check its connection and exit (in this
# shell: a command substitution cannot wait for it).
release() {
	local pid
	eval "pid=\$PERSIST_$1"
	touch "$WORK/$1.go"
	wait "$pid"
}

# reload_pass CONF LOG KEEP: hold connections, reload with a deny-all in
# prod and without Service gone; check which survive.
reload_pass() {
	local conf=$1 log=$2 keep=$3 i want

	persist open "$WEB" "$OPEN"	# denied by the deny-all
	persist db "$API" "$DB"		# still allowed by db-allow
	persist gone "$WEB" "$GONE"	# its Service is removed
	cat >"$conf/deny.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: prod}
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF
	rm -f "$conf/gone.yaml"
	r0=$(mval "$ADMIN" "$(pm svcproxy_port_refused_total prod/open "$POLICY")")
	kill -HUP "$PROXY"
	# Published once a new connection is judged by the deny-all.  Each
	# worker re-judges its established connections when it takes the
	# new snapshot, before it accepts under it: 10 refusals in a row
	# (the kernel spreads them over both workers' sockets) say both
	# have, with all but certainty (the batch is tried up to 100 times).
	for i in $(seq 1 100); do
		[ "$(tool --source "$WEB" resets "$OPEN" x 10)" = 10 ] && break
		sleep 0.1
	done
	expect "keep=$keep: reload applies the deny-all to new connections" \
	    reset "$(tool --source "$WEB" expect-reset "$OPEN" x)"
	[ "$keep" = true ] || wait_count 1 'reason=policy-revoked' "$log"
	release open
	release db
	release gone
	want=reset
	[ "$keep" = true ] && want=alive
	expect "keep=$keep: established connection now denied" "$want" \
	    "$(cat "$WORK/open.out")"
	expect "keep=$keep: established connection still allowed" alive \
	    "$(cat "$WORK/db.out")"
	expect "keep=$keep: connection to a removed Service keeps running" \
	    alive "$(cat "$WORK/gone.out")"
	want=1
	[ "$keep" = true ] && want=0
	expect "keep=$keep: revocation logged" "$want" \
	    "$(grep -c "conn client=$WEB:[0-9]* service=prod/open:$SP .*reason=policy-revoked detail=\"ingress of prod/open-1 not allowed by prod/deny-all\"" "$log")"
	expect_metric "keep=$keep: /metrics: revocations counted" "$ADMIN" \
	    "$(pm svcproxy_port_policy_closed_total prod/open)" "$want"
	expect_metric "keep=$keep: /metrics: nothing else revoked" "$ADMIN" \
	    "$(pm svcproxy_port_policy_closed_total prod/db)" 0
	expect_metric_in "keep=$keep: /metrics: refusals after the reload" \
	    "$ADMIN" "$(pm svcproxy_port_refused_total prod/open "$POLICY")" \
	    $((r0 + 11)) $((r0 + 1011))
}

CONF="$WORK/conf"
write_conf "$CONF" false
start_proxy "$CONF" "$WORK/run1.log"
admission run1 "$WORK/run1.log"
reload_pass "$CONF" "$WORK/run1.log" false
stop_proxy
expect "exit 0" 0 $?
CONF2="$WORK/conf2"
write_conf "$CONF2" true
start_proxy "$CONF2" "$WORK/run2.log"
reload_pass "$CONF2" "$WORK/run2.log" true
stop_proxy
expect "keep=true: exit 0" 0 $?

if [ "${VALGRIND:-0}" = 1 ]; then
	WRAP="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --log-file=$WORK/vg.log"
	CONF3="$WORK/conf3"
	write_conf "$CONF3" false
	start_proxy "$CONF3" "$WORK/run3.log"
	WRAP=
	admission valgrind "$WORK/run3.log"
	reload_pass "$CONF3" "$WORK/run3.log" false
	stop_proxy
	valgrind_verdict $?
fi

[ $FAILED = 0 ] && echo "policy_datapath: all passed" || echo "policy_datapath: FAILED"
exit $FAILED
