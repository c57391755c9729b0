#!/bin/bash
# svcproxy check / resolve / version from the command line: exit codes,
# error format FILE:LINE:COL, JSON shape, every error listed.
set -eu
. "$(dirname "$0")/lib.sh"

cat >"$TMP/good.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  creationTimestamp: null
  labels:
    app: web
  name: web
spec:
  ports:
  - name: 80-8080
    port: 80
    protocol: TCP
    targetPort: 8080
  selector:
    app: web
  type: ClusterIP
status:
  loadBalancer: {}
YAML

expect_rc 0 "check accepts kubectl create service output" \
	sp check -c "$TMP/good.yaml"
expect_grep "configuration .*good.yaml is ok: 1 services" "$TMP/out" \
	"check prints a one-line summary"

cat >"$TMP/bad.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - name: HTTP
    port: 80
  - name: other
    port: 70000
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: np
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: {}
      ports:
      - port: 80
YAML

expect_rc 1 "check rejects a bad file" sp check -c "$TMP/bad.yaml"
expect_grep "bad.yaml:7:11: Service default/web: spec.ports\[0\].name: Invalid value: \"HTTP\"" \
	"$TMP/err" "error names file:line:col, object and field"
expect_grep "spec.ports\[1\].port: Invalid value: \"70000\"" "$TMP/err" \
	"every error is listed, not only the first"
expect_grep "bad.yaml:21:7: NetworkPolicy default/np: spec.ingress\[0\].from\[0\].ports: unknown field \"ports\".*did you mean spec.ingress\[0\].ports\?" \
	"$TMP/err" "misplaced ports in a peer is an error with a suggestion"
expect_grep "bad.yaml:10:11: Service default/web: spec.ports\[1\].port: Invalid value: \"70000\": must be between 1 and 65535, inclusive$" \
	"$TMP/err" "the second error has its own position and message"
expect_grep "bad.yaml:9:5: Service default/web: spec.ports\[1\].targetPort: Invalid value: \"70000\"" \
	"$TMP/err" "a targetPort defaulted from a bad port is reported too, as the API server does"
expect_grep "test failed: 4 errors" "$TMP/err" "check counts the errors"
if [ "$(grep -c '^error: ' "$TMP/err")" -eq 4 ]; then
	pass "check prints exactly the 4 errors"
else
	fail "check prints exactly the 4 errors"
	sed 's/^/#   /' "$TMP/err"
fi

expect_rc 1 "check -o json on a bad file" \
	sp check -c "$TMP/bad.yaml" -o json
# json_errors FILE EXPECTED: the JSON in FILE has exactly the errors in
# EXPECTED (a Python list of [file suffix, line, column, object, field,
# reason, message prefix]), in that order, no warnings, and each entry
# exactly the documented keys.
json_errors() {
	python3 - "$1" "$2" <<'PY'
import ast, json, sys
d = json.load(open(sys.argv[1]))
want = ast.literal_eval(sys.argv[2])
keys = ["file", "line", "column", "object", "field", "reason", "message"]
assert list(d) == ["errors", "warnings"], list(d)
assert d["warnings"] == [], d["warnings"]
e = d["errors"]
assert len(e) == len(want), "%d errors, want %d: %s" % (len(e), len(want), e)
for got, w in zip(e, want):
    assert list(got) == keys, got
    assert got["file"].endswith(w[0]), (got, w)
    assert [got[k] for k in keys[1:6]] == w[1:6], (got, w)
    assert got["message"].startswith(w[6]), (got, w)
PY
}

if json_errors "$TMP/out" '[
    ["/bad.yaml", 7, 11, "Service/default/web", "spec.ports[0].name",
     "FieldValueInvalid",
     "Invalid value: \"HTTP\": a lowercase RFC 1123 label must consist"],
    ["/bad.yaml", 9, 5, "Service/default/web", "spec.ports[1].targetPort",
     "FieldValueInvalid",
     "Invalid value: \"70000\": must be between 1 and 65535, inclusive"],
    ["/bad.yaml", 10, 11, "Service/default/web", "spec.ports[1].port",
     "FieldValueInvalid",
     "Invalid value: \"70000\": must be between 1 and 65535, inclusive"],
    ["/bad.yaml", 21, 7, "NetworkPolicy/default/np",
     "spec.ingress[0].from[0].ports", "FieldValueUnknown",
     "unknown field \"ports\": NetworkPolicyPeer has no such field; "
     "did you mean spec.ingress[0].ports?"]]'
then pass "check -o json lists every error with position, object, field, reason, message"
else fail "check -o json lists every error with position, object, field, reason, message"; fi

mkdir "$TMP/dir"
cp "$TMP/good.yaml" "$TMP/dir/10-web.yaml"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n' \
	>"$TMP/dir/20-deploy.yml"
printf 'garbage: [\n' >"$TMP/dir/notes.txt"
expect_rc 0 "check reads a directory of *.yaml/*.yml" \
	sp check -c "$TMP/dir"
expect_grep "warning: .*20-deploy.yml:1:1: Deployment d: skipped" \
	"$TMP/err" "other kinds are skipped with a warning"

printf 'a: [1, 2\n' >"$TMP/syntax.yaml"
expect_rc 1 "check rejects a YAML syntax error" \
	sp check -c "$TMP/syntax.yaml"
expect_grep "syntax.yaml:[0-9]+:[0-9]+: invalid YAML" "$TMP/err" \
	"syntax errors carry a position"

# Encoding errors name the offending byte's line and column.
printf 'a: \377\376\n' >"$TMP/utf8.yaml"
expect_rc 1 "check rejects non-UTF-8" sp check -c "$TMP/utf8.yaml"
expect_grep "^error: .*/utf8.yaml:1:4: invalid YAML: invalid leading UTF-8 octet \(byte 0xFF\)$" \
	"$TMP/err" "non-UTF-8: the bad byte's position and value"
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: w\000x\n' \
	>"$TMP/nul.yaml"
expect_rc 1 "check -o json rejects a NUL byte" \
	sp check -c "$TMP/nul.yaml" -o json
if json_errors "$TMP/out" '[["/nul.yaml", 4, 10, None, "",
    "YAMLSyntaxError",
    "invalid YAML: control characters are not allowed (U+0000)"]]'
then pass "NUL byte: reported at its line and column, not 1:1"
else fail "NUL byte: reported at its line and column, not 1:1"; fi

expect_rc 1 "check on a missing path" sp check -c "$TMP/nope"
expect_grep "^error: .*/nope: cannot read: No such file or directory$" \
	"$TMP/err" "a missing path: the path and the reason"
mkdir -p "$TMP/unreadable/sub.yaml"
cp "$TMP/good.yaml" "$TMP/unreadable/web.yaml"
expect_rc 1 "check -o json on a directory named *.yaml in the config" \
	sp check -c "$TMP/unreadable" -o json
if json_errors "$TMP/out" '[["/unreadable/sub.yaml", 0, 0, None, "",
    "FileUnreadable",
    "cannot read: is a directory, not a regular file"]]'
then pass "a directory named *.yaml is refused by name, as FileUnreadable"
else fail "a directory named *.yaml is refused by name, as FileUnreadable"; fi
expect_rc 2 "unknown option is a usage error" sp check --bogus
expect_rc 2 "unknown command is a usage error" sp frobnicate
for c in check resolve policy reload run; do
	expect_rc 0 "$c --help exits 0" sp $c --help
	expect_grep "^usage: svcproxy $c " "$TMP/out" "$c --help: usage on stdout"
	expect_rc 2 "$c with a stray argument is a usage error" sp $c stray
done
# A command's usage is written once, in its cmd_entry: its usage error
# and `svcproxy help` print the same line (they had drifted apart).
expect_rc 0 "help exits 0" sp help
cp "$TMP/out" "$TMP/help"
for c in check resolve policy reload run; do
	expect_rc 2 "$c --bad is a usage error" sp $c --bad
	u=$(sed -n 's/^usage: //p' "$TMP/err")
	if [ -n "$u" ] && grep -qxF "  $u" "$TMP/help"; then
		pass "$c --bad and help print the same usage line"
	else
		fail "$c --bad and help print the same usage line"
		printf '#   %s\n' "error: $u" "help: $(grep " $c " "$TMP/help")"
	fi
done
expect_rc 2 "run takes no -o" sp run -o json
expect_rc 2 "run --workers 0 is a usage error" sp run --workers 0
expect_grep "workers takes 1 to" "$TMP/err" "--workers says its range"
expect_rc 2 "reload --pidfile needs a value" sp reload --pidfile
mkfifo "$TMP/pid.fifo"
expect_rc 1 "reload with a FIFO as pidfile fails rather than hangs" \
	timeout 20 "$SVCPROXY" reload -c "$TMP/good.yaml" --pidfile "$TMP/pid.fifo"
expect_grep "pidfile .*pid.fifo is not a regular file" "$TMP/err" \
	"reload says the pidfile is not a regular file"
expect_rc 0 "version" sp version
expect_grep "^svcproxy [0-9]+\.[0-9]+\.[0-9]+" "$TMP/out" "version prints it"

expect_rc 0 "resolve -o json" sp resolve -c "$TMP/good.yaml" -o json
if python3 - "$TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["services"][0]
assert s["namespace"] == "default" and s["name"] == "web", s
assert s["type"] == "ClusterIP" and s["proxied"] is True, s
assert s["sessionAffinity"] == "None", s
p = s["ports"][0]
assert p["port"] == 80 and p["targetPort"] == 8080 and p["protocol"] == "TCP", p
assert p["nodePort"] is None, p
assert p["listeners"] == [s["clusterIP"] + ":80/TCP"], p
PY
then pass "resolve allocates a clusterIP and lists its listener"
else fail "resolve allocates a clusterIP and lists its listener"; fi

# The balancing algorithm: only registry names, in the API server's
# NotSupported wording, at the value's line and column.
cat >"$TMP/lb.yaml" <<'YAML'
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata:
  name: proxy
spec:
  loadBalancing:
    algorithm: ring-hash
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    svcproxy.io/lb-algorithm: leastconn
spec:
  ports:
  - port: 80
YAML
expect_rc 1 "check rejects unknown balancing algorithms" \
	sp check -c "$TMP/lb.yaml"
expect_grep "lb.yaml:7:16: ProxyConfig proxy: spec.loadBalancing.algorithm: Unsupported value: \"ring-hash\": supported values: \"least-connections\", \"maglev\", \"random-two\", \"round-robin\"$" \
	"$TMP/err" "ProxyConfig algorithm: NotSupported at its position"
expect_grep "lb.yaml:14:31: Service default/web: metadata.annotations\[svcproxy.io/lb-algorithm\]: Unsupported value: \"leastconn\": supported values: \"least-connections\", \"maglev\", \"random-two\", \"round-robin\"$" \
	"$TMP/err" "lb-algorithm annotation: NotSupported at its position"
sed -i 's/ring-hash/round-robin/; s/leastconn/round-robin/' "$TMP/lb.yaml"
expect_rc 0 "resolve with round-robin named twice" \
	sp resolve -c "$TMP/lb.yaml"
expect_grep "^default/web  ClusterIP  clusterIP [0-9.]+  lb round-robin$" \
	"$TMP/out" "resolve prints the algorithm"

# Health checking: every bad setting at its position in the API
# server's words, ProxyConfig and annotations alike; settings that do
# not apply are warnings; UDP ports are a warning from check too.
cat >"$TMP/hc.yaml" <<'YAML'
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata:
  name: proxy
spec:
  healthCheck:
    rise: 0
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    svcproxy.io/health-check: grpc
    svcproxy.io/health-check-path: "a b"
spec:
  ports:
  - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: dns
  annotations:
    svcproxy.io/health-check: tcp
    svcproxy.io/health-check-method: HEAD
spec:
  ports:
  - port: 53
    protocol: UDP
YAML
expect_rc 1 "check rejects bad health settings" sp check -c "$TMP/hc.yaml"
expect_grep "hc.yaml:7:11: ProxyConfig proxy: spec.healthCheck.rise: Invalid value: \"0\": must be between 1 and 100, inclusive$" \
	"$TMP/err" "ProxyConfig rise: Invalid value at its position"
expect_grep "hc.yaml:14:31: Service default/web: metadata.annotations\[svcproxy.io/health-check\]: Unsupported value: \"grpc\": supported values: \"http\", (\"https\", )?\"none\", \"tcp\"$" \
	"$TMP/err" "health-check annotation: NotSupported, sorted and quoted"
expect_grep "hc.yaml:15:36: Service default/web: metadata.annotations\[svcproxy.io/health-check-path\]: Invalid value: \"a b\": must start with \"/\"$" \
	"$TMP/err" "health-check-path annotation: Invalid value at its position"
expect_grep "^warning: .*hc.yaml:26:38: Service default/dns: metadata.annotations\[svcproxy.io/health-check-method\]: Invalid value: \"HEAD\": ignored: only an http or https check sends a request \(this one is \"tcp\"\)$" \
	"$TMP/err" "a setting the check kind ignores is a warning"
expect_grep "^warning: .*hc.yaml:30:15: Service default/dns: spec.ports\[0\].protocol: its health check does not apply to this UDP port \(checks are TCP\)$" \
	"$TMP/err" "check warns that a UDP port is not checked"

# https: with OpenSSL the CA must be readable when check runs; without,
# the annotation is an error naming the build.
cat >"$TMP/tls.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: tls
  annotations:
    svcproxy.io/health-check: https
    svcproxy.io/health-check-ca: $TMP/no-such-ca.pem
spec:
  ports:
  - port: 443
YAML
expect_rc 1 "check rejects an https check it cannot run" \
	sp check -c "$TMP/tls.yaml"
if sp version | grep -q openssl; then
	expect_grep "tls.yaml:7:34: Service default/tls: metadata.annotations\[svcproxy.io/health-check-ca\]: Invalid value: \".*/no-such-ca.pem\": cannot read it: No such file or directory$" \
	    "$TMP/err" "a missing CA file is an error from check"
else
	expect_grep "tls.yaml:6:31: Service default/tls: metadata.annotations\[svcproxy.io/health-check\]: Invalid value: \"https\": svcproxy was built without OpenSSL" \
	    "$TMP/err" "https without OpenSSL is an error from check"
fi

finish
