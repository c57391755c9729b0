# Reload churn under traffic, for reload_churn.sh and parse_parallel.sh
# (sourced after lib.sh and ha_lib.sh): a configuration that flips
# between a version with a second Service and one without, a SIGHUP
# after each flip, then waiting until the reloads stop.  Loopback only.

# churn_proxyconfig CIDR: the ProxyConfig both versions run with (admin
# on a kernel-chosen port, no connection log).
churn_proxyconfig() {
	cat <<YEOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata: {name: config}
spec:
  serviceCIDR: $1
  adminAddress: 127.0.0.1:0
  drainTimeout: 5s
  connectTimeout: 2s
  connectionLog: "off"
YEOF
}

# churn_svc NAME CLUSTERIP PORT BACKEND-IP BACKEND-PORT: Service NAME on
# CLUSTERIP:PORT and its one ready Pod, whose port `p` is the backend.
churn_svc() {
	cat <<YEOF
---
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $1}
  clusterIP: "$2"
  ports: [{port: $3, targetPort: p}]
---
apiVersion: v1
kind: Pod
metadata: {name: $1-0, labels: {app: $1}}
spec: {containers: [{name: c, ports: [{name: p, containerPort: $5}]}]}
status: {phase: Running, podIP: "$4", conditions: [{type: Ready, status: "True"}]}
YEOF
}

# churn_setup NET16: sets A (random), the clusterIPs ONE (NET16.A.1,
# kept) and TWO (NET16.A.2, flipped) of two Services, SP (a port free on
# both), and P1 and P2, the ports of two echo backends on NET.1 and NET.2
# (NET: 127.64.A).
churn_setup() {
	A=$((RANDOM % 200 + 20))
	NET="127.64.$A"
	ONE="$1.$A.1"
	TWO="$1.$A.2"
	SP=$(free_port 20000 29999 "$ONE" "$TWO")
	[ -n "$SP" ] || { echo "no free port"; exit 1; }
	P1=$(backend b1 "$NET.1")
	P2=$(backend b2 "$NET.2")
}

# churn_gen NAME CIDR [EXTRA [two]]: $TMP/NAME.yaml, churn_setup's
# Service one (and two when asked) after the ProxyConfig of serviceCIDR
# CIDR and the objects of file EXTRA (none when empty).
churn_gen() {
	{
		churn_proxyconfig "$2"
		[ -z "${3:-}" ] || cat "$3"
		churn_svc one "$ONE" "$SP" "$NET.1" "$P1"
		if [ "${4:-}" = two ]; then
			churn_svc two "$TWO" "$SP" "$NET.2" "$P2"
		fi
	} >"$TMP/$1.yaml"
}

# reloads_total ADDR: every reload the admin server at ADDR counted so far,
# whatever its result.
reloads_total() {
	curl -s --max-time 5 "http://$1/metrics" |
	    awk '/^svcproxy_reloads_total\{/ { n += $2 } END { print n + 0 }'
}
# For wait_for (its polls re-read them):
# reloads_above ADDR N; metric_above ADDR NAME N.
reloads_above() { [ "$(reloads_total "$1")" -gt "$2" ]; }
metric_above() { [ "$(metric "$1" "$2")" -gt "$3" ] 2>/dev/null; }

# port_total ADDR SERVICE PORT: connections so far to SERVICE's PORT (in
# namespace default).
port_total() {
	metric "$1" "svcproxy_port_connections_total{namespace=\"default\",service=\"$2\",port=\"$3\",protocol=\"TCP\"}"
}

# churn_flip PID N DIR: N flips of DIR/conf/services.yaml, renamed into
# place, odd ones to DIR/both.yaml and even ones to DIR/single.yaml
# (from "both", the first is a no-op and an even N ends on "single"),
# with a SIGHUP to PID 1 ms after each.  In Python: a shell's cp, mv
# and sleep would space the flips 20 ms apart, not 1 ms.
churn_flip() {
	python3 - "$1" "$2" "$3" <<'PYEOF'
import os, signal, sys, time
pid, n, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conf = {v: open("%s/%s.yaml" % (tmp, v), "rb").read()
        for v in ("both", "single")}
for i in range(1, n + 1):
    with open(tmp + "/conf/.next", "wb") as f:
        f.write(conf["both" if i % 2 else "single"])
    os.rename(tmp + "/conf/.next", tmp + "/conf/services.yaml")
    os.kill(pid, signal.SIGHUP)
    time.sleep(0.001)
PYEOF
}

# churn_settle ADDR TRIES: poll the reload count every 0.25 s (at most
# TRIES times) until it holds still for 4 polls: SIGHUPs that arrive
# during a reload collapse into one more reload after it.  Prints the
# last count; fails when it never held still.
churn_settle() {
	local last=-1 same=0 n i
	for i in $(seq 1 "$2"); do
		n=$(reloads_total "$1")
		if [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ $same -ge 4 ] && break
		else
			same=0
		fi
		last=$n
		sleep 0.25
	done
	echo "$last"
	[ $same -ge 4 ]
}

# churn_unchanged ADDR PID SECONDS: one more SIGHUP to PID must find
# what runs equal to the file: a reload counted "unchanged".
churn_unchanged() {
	local u0
	u0=$(metric "$1" 'svcproxy_reloads_total{result="unchanged"}')
	kill -HUP "$2"
	wait_for "$3" metric_above "$1" \
	    'svcproxy_reloads_total{result="unchanged"}' "${u0:-0}"
}
