#!/bin/bash
# svcproxy policy: verdicts, explanations, JSON shape and exit codes
# (0 either verdict, 1 config errors, 2 bad query).  No network.
set -eu
. "$(dirname "$0")/lib.sh"

cat >"$TMP/cluster.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec:
  containers:
  - name: c
    ports: [{name: http, containerPort: 8080}]
status: {podIP: 10.0.0.10, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: shop, labels: {app: web}}
spec:
  containers:
  - name: c
    ports: [{name: http, containerPort: 9090}]
status: {podIP: 10.0.0.11, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {role: client}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.20}
---
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: prod, labels: {role: batch}}
spec: {containers: [{name: c}]}
status:
  podIP: 10.1.0.5
  podIPs: [{ip: 10.1.0.5}, {ip: "fd00::5"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - podSelector: {matchLabels: {role: client}}
    ports: [{port: 8080}]
  - from:
    - namespaceSelector: {matchLabels: {env: prod}}
    - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: batch-egress, namespace: prod}
spec:
  podSelector: {matchLabels: {role: batch}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: "fd00::/64"}}]
YAML
C="$TMP/cluster.yaml"

expect_rc 0 "pod to pod, allowed" \
	sp policy -c "$C" --from shop/client --to shop/web-1 --port 8080
expect_grep "^ALLOW$" "$TMP/out" "first line is ALLOW"
want="^ingress: shop/web-1 isolated by shop/allow-web, shop/default-deny;"
want="$want allowed by shop/allow-web ingress\\[0\\]\$"
expect_grep "$want" "$TMP/out" \
	"text names the isolating policies and the rule"
expect_grep "^egress: not isolated" "$TMP/out" "client egress not isolated"

expect_rc 0 "denied is still exit 0" \
	sp policy -c "$C" --from shop/client --to shop/web-1 --port 8081
expect_grep "^DENY$" "$TMP/out" "first line is DENY"
expect_grep "no ingress rule allows it" "$TMP/out" "text says no rule allowed"

expect_rc 0 "address in ipBlock" \
	sp policy -c "$C" --from 192.0.2.9 --to 10.0.0.10 --port 1
expect_grep "^ALLOW$" "$TMP/out" "ipBlock allows 192.0.2.9"
expect_grep "allowed by shop/allow-web ingress\[1\]" "$TMP/out" \
	"second rule allowed it"
expect_rc 0 "address in except" \
	sp policy -c "$C" --from 192.0.2.200 --to 10.0.0.10 --port 1
expect_grep "^DENY$" "$TMP/out" "except denies 192.0.2.200"

expect_rc 0 "json verdict" \
	sp policy -c "$C" --from prod/batch --to shop/web-2 --port 9090 -o json
python3 - "$TMP/out" <<'PY' && pass "json values" || fail "json values"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["allowed"] is False, v
assert v["from"] == {"pod": "prod/batch", "ip": "10.1.0.5"}, v["from"]
assert v["to"] == {"pod": "shop/web-2", "ip": "10.0.0.11"}, v["to"]
assert v["port"] == 9090 and v["protocol"] == "TCP"
i, e = v["ingress"], v["egress"]
assert i == {"pod": "shop/web-2", "isolated": True, "allowed": True,
    "policies": ["shop/allow-web", "shop/default-deny"],
    "allowedBy": {"policy": "shop/allow-web", "rule": 1}}, i
assert e == {"pod": "prod/batch", "isolated": True, "allowed": False,
    "policies": ["prod/batch-egress"], "allowedBy": None}, e
PY

# Two endpoints behind one named targetPort, on different numbers: the
# policy's port 8080 admits web-1 only.
expect_rc 0 "service endpoints" \
	sp policy -c "$C" --from shop/client --service shop/web --port 80 \
	-o json
python3 - "$TMP/out" <<'PY' && pass "service json" || fail "service json"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["allowed"] is True, v
eps = {e["pod"]: e for e in v["endpoints"]}
assert len(v["endpoints"]) == 2, v
assert eps["shop/web-1"]["ip"] == "10.0.0.10"
assert eps["shop/web-1"]["port"] == 8080
assert eps["shop/web-1"]["allowed"] is True
assert eps["shop/web-1"]["ingress"]["allowedBy"] == \
    {"policy": "shop/allow-web", "rule": 0}
assert eps["shop/web-2"]["port"] == 9090
assert eps["shop/web-2"]["allowed"] is False
assert eps["shop/web-2"]["ingress"]["allowedBy"] is None
PY
expect_rc 0 "service by port name, text" \
	sp policy -c "$C" --from shop/client --service shop/web --port http
expect_grep "^ALLOW$" "$TMP/out" "any endpoint allowed"
expect_grep "1 of 2 endpoints allowed" "$TMP/out" "counts endpoints"
expect_grep "^endpoint shop/web-2 10.0.0.11:9090: DENY$" "$TMP/out" \
	"per-endpoint verdict"
expect_rc 0 "service, every endpoint denied" \
	sp policy -c "$C" --from 198.51.100.1 --service shop/web --port 80
expect_grep "^DENY$" "$TMP/out" "no endpoint allowed"

# The dual-stack batch Pod reaches an IPv6 address its egress allows.
expect_rc 0 "egress ipv6" sp policy -c "$C" --from prod/batch --to fd00::99 \
	--port 443 -o json
expect_grep '"allowed":true' "$TMP/out" "egress to fd00::/64 allowed"
expect_grep '"from":\{"pod":"prod/batch","ip":"fd00::5"\}' "$TMP/out" \
	"source address of the destination's family"

# Bad queries: exit 2.
expect_rc 2 "unknown pod" \
	sp policy -c "$C" --from shop/ghost --to shop/web-1 --port 80
expect_grep 'unknown pod "shop/ghost"' "$TMP/err" "names the unknown pod"
expect_rc 2 "malformed address" \
	sp policy -c "$C" --from 10.0.0.300 --to shop/web-1 --port 80
expect_rc 2 "bad port" \
	sp policy -c "$C" --from shop/client --to shop/web-1 --port 0
expect_rc 2 "unknown service" \
	sp policy -c "$C" --from shop/client --service shop/nope --port 80
expect_rc 2 "unknown service port" \
	sp policy -c "$C" --from shop/client --service shop/web --port 81
expect_rc 2 "bad protocol" sp policy -c "$C" --from shop/client \
	--to shop/web-1 --port 80 --protocol ICMP
expect_rc 2 "--to and --service together" sp policy -c "$C" \
	--from shop/client --to shop/web-1 --service shop/web --port 80
expect_rc 2 "missing --from" sp policy -c "$C" --to shop/web-1 --port 80

# Config errors: exit 1, printed like check.
cat >"$TMP/bad.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 70000}]
YAML
expect_rc 1 "config errors" \
	sp policy -c "$TMP/bad.yaml" --from 10.0.0.1 --to 10.0.0.2 --port 80
expect_grep "bad.yaml:7:.*spec.ingress\[0\].ports\[0\].port" "$TMP/err" \
	"error names file, line and field"

finish
