#!/bin/bash
# Validation and resolution on threads (par.c: Pods in chunks beside the
# Services, Services resolved in chunks) against the serial path
# (SVCPROXY_PARSE_SERIAL=1 makes the whole config side serial):
# `check`, `check -o json` and `resolve -o json` print byte for byte the
# same, with the same exit status, on 2, 3 and 4 threads
# (SVCPROXY_CONFIG_THREADS, which forces threads whatever the size) and
# by default, for
#   - conf/examples and every tests/cases input;
#   - a generated configuration with errors and warnings sprinkled over
#     many Pods, Services and NetworkPolicies (wrong ports, port names,
#     label values, podIPs, protocols, names, forbidden nodePorts);
#   - the same with errors in every Pod, far past the 10,000 diagnostics
#     a list keeps: which ones are kept, and their order, is the serial
#     loop's.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SVCPROXY=${SVCPROXY:-$top_srcdir/src/svcproxy}
. "$top_srcdir/tests/integration/lib.sh"

command -v python3 >/dev/null || { echo "config_parallel.sh: no python3"; exit 77; }
# SVCPROXY_TEST_SCALE under 100 (CI's ASan+UBSan pass, where each run
# costs three times as much): threads 3 and default only, 9 runs an
# input instead of 15.  A memory error shows on any thread count; the
# output of every count against the serial one is the gcc pass's check.
THREADS="2 3 4 default"
[ "${SVCPROXY_TEST_SCALE:-100}" -lt 100 ] 2>/dev/null && THREADS="3 default"
GEN="$top_srcdir/bench/gen_config.py"

# same NAME PATH: every command's output serially and on threads; the
# serial `check` output (stderr, stdout) is left in $TMP/check.err.
same() {
	local name=$1 path=$2 cmd t rc1 rc2 ok=1 n=0
	for cmd in "check" "check -o json" "resolve -o json"; do
		set +e
		# shellcheck disable=SC2086
		SVCPROXY_PARSE_SERIAL=1 sp $cmd -c "$path" >"$TMP/s.out" \
		    2>"$TMP/s.err"
		rc1=$?
		set -e
		[ "$cmd" = check ] &&
		    cat "$TMP/s.err" "$TMP/s.out" >"$TMP/check.err"
		for t in $THREADS; do
			set +e
			if [ $t = default ]; then
				# shellcheck disable=SC2086
				sp $cmd -c "$path" >"$TMP/p.out" 2>"$TMP/p.err"
			else
				# shellcheck disable=SC2086
				SVCPROXY_CONFIG_THREADS=$t sp $cmd -c "$path" \
				    >"$TMP/p.out" 2>"$TMP/p.err"
			fi
			rc2=$?
			set -e
			n=$((n + 1))
			if [ "$rc1" != "$rc2" ] ||
			    ! cmp -s "$TMP/s.out" "$TMP/p.out" ||
			    ! cmp -s "$TMP/s.err" "$TMP/p.err"; then
				ok=0
				fail "$name: $cmd on $t threads differs from" \
				    "serial (exit $rc1 / $rc2)"
				diff "$TMP/s.out" "$TMP/p.out" | head -5 |
				    cut -c1-300 | sed 's/^/#   /'
				diff "$TMP/s.err" "$TMP/p.err" | head -5 |
				    cut -c1-300 | sed 's/^/#   /'
			fi
		done
	done
	[ $ok = 1 ] && pass "$name: $n runs on threads print what the serial" \
	    "path prints (check: exit $rc1, $(wc -l <"$TMP/check.err") lines)"
	return 0
}

# has PATTERN DESC: the serial `check` of the last same() said PATTERN.
has() {
	if grep -qE -- "$1" "$TMP/check.err"; then
		pass "$2"
	else
		fail "$2 (no /$1/ in check's output)"
		head -5 "$TMP/check.err" | cut -c1-300 | sed 's/^/#   /'
	fi
}

# ---- the shipped examples and the pinned cases ----
same "conf/examples" "$top_srcdir/conf/examples"
for f in "$top_srcdir"/tests/cases/*.yaml; do
	same "cases/$(basename "$f")" "$f"
done

# ---- a generated configuration with errors in many objects ----
# inject DIR some|every: wrong values in DIR's files.  some: each kind
# of mistake every Nth time its line comes up; every: wrong ports,
# protocols and labels wherever they are.
inject() {
	python3 - "$1" "$2" <<'PYEOF'
import os, re, sys
d, mode = sys.argv[1], sys.argv[2]
rules = [  # pattern, replacement (None: see below), every Nth
    (r"^    - containerPort: \d+$", "    - containerPort: 70000", 37),
    (r"^      name: [a-z]+$", "      name: Bad_Port", 41),
    (r"^    role: ", "    role: -bad-", 29),
    (r"^  podIP: ", "  podIP: 127.1.2", 53),
    (r"^  - ip: ", "  - ip: 10.0.0.1", 61),
    (r"^      protocol: TCP$", "      protocol: TCPX", 47),
    (r"^  name: [a-z0-9-]+$", None, 43),
    (r"^  - name: ", None, 19),
]
seen = [0] * len(rules)
for fn in sorted(os.listdir(d)):
    p = os.path.join(d, fn)
    out = []
    for line in open(p):
        s = line.rstrip("\n")
        for i, (pat, rep, every) in enumerate(rules):
            if not re.match(pat, s):
                continue
            seen[i] += 1
            if mode == "every":
                hit = i in (0, 2, 5)
            else:
                hit = seen[i] % every == 0
            if not hit:
                break
            if rep is not None:
                s = rep
            elif i == 6:            # a metadata.name in upper case
                s = "  name: " + s[8:].upper()
            else:                   # a nodePort on a ClusterIP port
                s += "\n    nodePort: 5"
            break
        out.append(s)
    open(p, "w").write("\n".join(out) + "\n")
PYEOF
}
# Enough Pods and Services that the default path runs on threads too
# (on a machine with two CPUs or more).
GENARGS="--services 300 --pods 4200 --netpols 60 --namespaces 5"
python3 "$GEN" -o "$TMP/clean" $GENARGS >/dev/null
same "generated, clean" "$TMP/clean"
has "is ok: 300 services" "generated: check says ok"

cp -r "$TMP/clean" "$TMP/some"
inject "$TMP/some" some
same "generated, errors in many objects" "$TMP/some"
has 'containerPort: Invalid value: "70000"' "some: a wrong containerPort"
has 'name: Invalid value: "Bad_Port"' "some: a wrong port name"
has 'metadata.labels: Invalid value: "-bad-"' "some: a wrong label value"
has 'Invalid value: "127.1.2"' "some: a wrong podIP"
has 'Unsupported value: "TCPX"' "some: a wrong protocol"
has 'nodePort: Forbidden' "some: a forbidden nodePort"
has 'Pod [a-z0-9-]+/[A-Z0-9-]+: metadata.name' "some: a name in upper case"
has 'differs from status.podIP' "some: a podIPs warning"

cp -r "$TMP/clean" "$TMP/every"
inject "$TMP/every" every
same "generated, errors in every Pod" "$TMP/every"
has "more (errors|warnings) not shown \(past the first 10000" \
    "every: more diagnostics than a list keeps"

finish
