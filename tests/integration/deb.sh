#!/bin/bash
# The Debian package: build, lint, install, use, purge.
#
# Not in the default suite (it installs a package on the machine): CI
# runs it from .ci/run after `.ci/deps --deb`.  Run by hand as root:
#   tests/integration/deb.sh
# It takes about a minute; DEB_CHECK=1 also runs the unit tests in the
# package build (dh_auto_test), which the suite runs anyway.
#
#  1. dpkg-buildpackage -us -uc -b in a copy of the tree (the files git
#     tracks, as they are in the working tree: commit or `git add` a new
#     file first; or the unpacked tarball's), without the unit tests;
#  2. lintian on the result: any error (E:) fails, warnings are printed;
#  3. dpkg -i: the binary, the man pages, the unit enabled the Debian way
#     (its wants link), the conffile /etc/svcproxy/svcproxy.yaml, the
#     examples, the system user svcproxy;
#  4. `svcproxy version` says the package's version; `man svcproxy` and
#     `man svcproxy.yaml` render without a warning; `systemd-analyze
#     verify` passes on the installed unit (it needs no running systemd;
#     with systemd as PID 1 the package's start is held back by a
#     policy-rc.d, so that nothing listens on the default admin port);
#     the shipped configuration and its commented example, uncommented,
#     pass `svcproxy check`;
#  5. what the unit grants is what svcproxy needs: as the user svcproxy
#     with only CAP_NET_BIND_SERVICE in its ambient set (setpriv, as
#     systemd's AmbientCapabilities= does), `svcproxy run` binds a
#     Service port below 1024 on loopback and answers /healthz; without
#     the capability it refuses to start, naming the address;
#  5b. installing the package again (an upgrade for dpkg) upgrades the
#     running svcproxy in place: the postinst's SIGUSR2 to the pid in
#     /run/svcproxy/svcproxy.pid, a new process on the same sockets,
#     the old one drained;
#  6. dpkg --purge, and nothing is left: no file of the package, no
#     /etc/svcproxy, no wants link, and the user is removed when this
#     test created it.
# The trap undoes every step on failure too, so the machine is left as
# it was.  It refuses to run where svcproxy is installed already.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
PKG=svcproxy
FAILS=0
start=$(date +%s)

skip() { echo "SKIP: deb.sh: $*"; exit 77; }
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

[ "$(id -u)" = 0 ] || skip "needs root (it installs the package)"
for t in dpkg-buildpackage dh lintian setpriv systemd-analyze man \
    curl python3; do
	command -v "$t" >/dev/null 2>&1 ||
	    skip "$t is missing (.ci/deps --deb installs what is needed)"
done
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null |
    grep -q 'installed\|config-files'; then
	skip "package $PKG is on this machine already: not touching it"
fi
[ ! -e /etc/svcproxy ] ||
    skip "/etc/svcproxy exists (not from the package): not touching it"
RUNDIR=/run/svcproxy	# the unit's RuntimeDirectory, the postinst's pidfile
[ ! -e "$RUNDIR" ] ||
    skip "$RUNDIR exists (is svcproxy running?): not touching it"

TMP=$(mktemp -d /tmp/svcproxy-deb.XXXXXX)
INSTALLED=0
USER_MADE=0
POLICY_MADE=0
RUNPID=""
RUNDIR_MADE=0
getent passwd svcproxy >/dev/null || USER_MADE=1

# alive PID: running, and not a zombie.
alive() {
	kill -0 "$1" 2>/dev/null &&
	    ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# stop PID: SIGTERM, SIGKILL after 10 s; reaped if it is our child.
stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		alive "$1" || break
		sleep 0.1
	done
	! alive "$1" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	set +e
	[ -z "$RUNPID" ] || stop "$RUNPID"
	# An upgrade's new process, by the pid it wrote.
	[ -s "$RUNDIR/svcproxy.pid" ] && stop "$(cat "$RUNDIR/svcproxy.pid")"
	[ "$RUNDIR_MADE" = 0 ] || rm -rf "$RUNDIR"
	[ "$INSTALLED" = 0 ] || dpkg --purge "$PKG" >/dev/null 2>&1
	[ "$USER_MADE" = 0 ] || ! getent passwd svcproxy >/dev/null ||
	    userdel svcproxy
	[ "$USER_MADE" = 0 ] || ! getent group svcproxy >/dev/null ||
	    groupdel svcproxy
	[ "$POLICY_MADE" = 0 ] || rm -f /usr/sbin/policy-rc.d
	[ -n "${KEEP_TMP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# With systemd running, the postinst would start the service on the
# default admin port: hold it back (deb-systemd-invoke asks policy-rc.d).
if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	POLICY_MADE=1
fi

# ---- 1. build in a copy ----
mkdir "$TMP/src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached |
	    tar --null -T - -cf -) | tar -C "$TMP/src" -xf -
else
	tar -C "$top" --exclude='./build*' --exclude='*.o' -cf - . |
	    tar -C "$TMP/src" -xf -
fi
opts="nocheck parallel=2"
[ -n "${DEB_CHECK:-}" ] && opts="parallel=2"
t0=$(date +%s)
if (cd "$TMP/src" && DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -us -uc -b) \
    >"$TMP/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b ($(( $(date +%s) - t0 )) s)"
else
	tail -40 "$TMP/build.log"
	fail "dpkg-buildpackage"
	exit 1
fi
version=$(cd "$TMP/src" && dpkg-parsechangelog -S Version)
deb=$(ls "$TMP"/${PKG}_"${version}"_*.deb)
changes=$(ls "$TMP"/${PKG}_"${version}"_*.changes)

# ---- 2. lintian ----
lintian --tag-display-limit 0 "$changes" >"$TMP/lintian.log" 2>&1 || true
grep -v '^running with root' "$TMP/lintian.log" | sed 's/^/  lintian: /'
if grep -q '^E: ' "$TMP/lintian.log"; then
	fail "lintian reports errors"
else
	ok "lintian: no error ($(grep -c '^W: ' "$TMP/lintian.log") warnings)"
fi

# ---- 3. install ----
INSTALLED=1
if ! dpkg -i "$deb" >"$TMP/install.log" 2>&1; then
	cat "$TMP/install.log"
	fail "dpkg -i $deb"
	exit 1
fi
ok "dpkg -i $(basename "$deb")"
for f in /usr/bin/svcproxy /lib/systemd/system/svcproxy.service \
    /usr/share/man/man8/svcproxy.8.gz /usr/share/man/man5/svcproxy.yaml.5.gz \
    /etc/svcproxy/svcproxy.yaml /usr/share/doc/svcproxy/README.md.gz \
    /usr/share/doc/svcproxy/examples/keepalived.conf \
    /usr/share/doc/svcproxy/examples/bird/bird.conf \
    /usr/share/doc/svcproxy/examples/bird/svcproxy-bgp-health \
    /usr/share/doc/svcproxy/examples/proxyconfig.yaml; do
	[ -e "$f" ] && ok "installed $f" || fail "not installed: $f"
done
wants=/etc/systemd/system/multi-user.target.wants/svcproxy.service
[ -L "$wants" ] && ok "unit enabled ($wants)" || fail "unit not enabled"
dpkg-query -W -f='${Conffiles}\n' "$PKG" | grep -q ' /etc/svcproxy/svcproxy.yaml ' &&
    ok "conffile /etc/svcproxy/svcproxy.yaml" ||
    fail "/etc/svcproxy/svcproxy.yaml is no conffile"
if ent=$(getent passwd svcproxy); then
	uid=$(echo "$ent" | cut -d: -f3)
	shell=$(echo "$ent" | cut -d: -f7)
	[ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ] &&
	    ok "system user svcproxy (uid $uid, $shell)" ||
	    fail "user svcproxy: uid $uid, shell $shell"
else
	fail "no user svcproxy"
fi

# ---- 4. version, man pages, unit, configuration ----
v=$(svcproxy version)
case "$v" in
"svcproxy $version "*) ok "svcproxy version: $v" ;;
*) fail "svcproxy version says \"$v\", the package is $version" ;;
esac
for page in svcproxy svcproxy.yaml; do
	out=$(MANWIDTH=80 man --warnings -E UTF-8 -P cat "$page" \
	    2>"$TMP/man.err") || true
	if [ -s "$TMP/man.err" ] || [ "$(echo "$out" | wc -l)" -lt 100 ]; then
		cat "$TMP/man.err"
		fail "man $page: $(echo "$out" | wc -l) lines, warnings above"
	else
		ok "man $page renders ($(echo "$out" | wc -l) lines, no warning)"
	fi
done
man -P cat svcproxy 2>/dev/null | grep -q 'SIGUSR2' &&
    ok "man svcproxy names SIGUSR2" || fail "man svcproxy: no SIGUSR2"
if systemd-analyze verify /lib/systemd/system/svcproxy.service \
    >"$TMP/verify.log" 2>&1 && ! [ -s "$TMP/verify.log" ]; then
	ok "systemd-analyze verify svcproxy.service"
else
	cat "$TMP/verify.log"
	fail "systemd-analyze verify svcproxy.service"
fi
unit=/lib/systemd/system/svcproxy.service
for want in '^User=svcproxy$' '^AmbientCapabilities=CAP_NET_BIND_SERVICE$' \
    '^ExecStartPre=/usr/bin/svcproxy check -c /etc/svcproxy$' \
    '^ExecStart=/usr/bin/svcproxy run ' '^Type=notify$'; do
	grep -q "$want" "$unit" && ok "unit: $want" || fail "unit lacks $want"
done
svcproxy check -c /etc/svcproxy >"$TMP/check.log" 2>&1 &&
    ok "svcproxy check -c /etc/svcproxy (as shipped)" ||
    { cat "$TMP/check.log"; fail "svcproxy check of the shipped config"; }
mkdir "$TMP/example"
sed -n '/^# apiVersion: svcproxy/,$p' /etc/svcproxy/svcproxy.yaml |
    sed 's/^# \{0,1\}//' >"$TMP/example/example.yaml"
if svcproxy check -c "$TMP/example" >"$TMP/check.log" 2>&1 &&
    grep -q '1 services' "$TMP/check.log"; then
	ok "the shipped example, uncommented, passes check"
else
	cat "$TMP/check.log"
	fail "the shipped example, uncommented, fails check"
fi

# ---- 5. the unit's privileges: user svcproxy, CAP_NET_BIND_SERVICE ----
addr=127.77.80.1
port=$(python3 - "$addr" <<'EOF'
import socket, sys
for p in list(range(80, 100)) + list(range(900, 1000)):
    s = socket.socket()
    try:
        s.bind((sys.argv[1], p))
        print(p)
        break
    except OSError:
        pass
    finally:
        s.close()
EOF
)
[ -n "$port" ] || { fail "no free port below 1024 on $addr"; exit 1; }
mkdir "$TMP/cfg"
cat >"$TMP/cfg/low.yaml" <<EOF
apiVersion: svcproxy.io/v1alpha1
kind: ProxyConfig
metadata:
  name: svcproxy
spec:
  serviceCIDR: 127.77.80.0/24
  adminAddress: 127.0.0.1:0
  workers: 1
  drainTimeout: 2s
---
apiVersion: v1
kind: Service
metadata:
  name: low
  namespace: default
spec:
  clusterIP: $addr
  ports:
  - port: $port
EOF
chmod 755 "$TMP" "$TMP/cfg"
chmod 644 "$TMP/cfg/low.yaml"
# as_svcproxy CAPS [ARG...]: become svcproxy as the unit runs it (User=,
# AmbientCapabilities=, CapabilityBoundingSet=); exec, so that a
# background job's $! is svcproxy's pid.
as_svcproxy() {
	local caps=$1
	shift
	exec setpriv --reuid=svcproxy --regid=svcproxy --init-groups \
	    --inh-caps="$caps" --ambient-caps="$caps" --bounding-set="$caps" \
	    /usr/bin/svcproxy run -c "$TMP/cfg" "$@"
}
if (as_svcproxy -all) >"$TMP/nocap.log" 2>&1; then
	fail "svcproxy run bound $addr:$port with no capability"
elif grep -q "^[^w].*$addr:$port.*denied" "$TMP/nocap.log"; then
	ok "without CAP_NET_BIND_SERVICE it refuses to start:"
	grep -m1 "^[^w].*$addr:$port" "$TMP/nocap.log" | sed 's/^/  /'
else
	cat "$TMP/nocap.log"
	fail "without the capability, the error names no $addr:$port"
fi
# The unit's RuntimeDirectory, as systemd makes it.
install -d -o svcproxy -g svcproxy -m 0755 "$RUNDIR"
RUNDIR_MADE=1
pidfile=$RUNDIR/svcproxy.pid
as_svcproxy -all,+net_bind_service --pidfile "$pidfile" \
    >"$TMP/run.log" 2>&1 &
RUNPID=$!
admin=""
for _ in $(seq 1 100); do
	admin=$(sed -n 's/.*admin: listening on \([0-9.:]*\).*/\1/p' \
	    "$TMP/run.log" | head -1)
	[ -n "$admin" ] && [ -s "$pidfile" ] && break
	alive "$RUNPID" || break
	sleep 0.1
done
# serving PID: /healthz says ok, the Service port accepts, PID is user
# svcproxy's.  The Service has no endpoint: svcproxy accepts, then
# resets (a refused connect would mean nothing listens).
serving() {
	[ -n "$admin" ] &&
	[ "$(curl -s -m 5 "http://$admin/healthz")" = ok ] &&
	python3 - "$addr" "$port" <<'EOF' &&
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
    s.recv(1)
except (ConnectionResetError, BrokenPipeError):
    pass
EOF
	[ "$(stat -c %U "/proc/$1")" = svcproxy ]
}
if serving "$RUNPID"; then
	ok "as user svcproxy with CAP_NET_BIND_SERVICE: serves $addr:$port," \
	    "/healthz ok"
else
	cat "$TMP/run.log"
	fail "svcproxy as user svcproxy with CAP_NET_BIND_SERVICE"
fi

# ---- 5b. a package upgrade upgrades the running process ----
# Installing the package again is an upgrade for dpkg: the postinst
# sends SIGUSR2 to the pid in the pidfile; the new binary takes over
# the sockets (the same admin address), writes its pid, and the old
# process drains and exits.
if dpkg -i "$deb" >"$TMP/upgrade.log" 2>&1; then
	ok "dpkg -i again (an upgrade)"
else
	cat "$TMP/upgrade.log"
	fail "dpkg -i again"
fi
newpid=""
for _ in $(seq 1 200); do
	newpid=$(cat "$pidfile" 2>/dev/null || true)
	[ -n "$newpid" ] && [ "$newpid" != "$RUNPID" ] && break
	sleep 0.1
done
if [ -n "$newpid" ] && [ "$newpid" != "$RUNPID" ]; then
	ok "the postinst upgraded the running svcproxy: pid $RUNPID," \
	    "now $newpid"
	for _ in $(seq 1 200); do
		alive "$RUNPID" || break
		sleep 0.1
	done
	if alive "$RUNPID"; then
		fail "the old process $RUNPID still runs after 20 s"
	else
		wait "$RUNPID" && ok "the old process drained and exited 0" ||
		    fail "the old process exited $?"
		RUNPID=""
	fi
	serving "$newpid" && ok "the new process serves, as svcproxy" ||
	    { cat "$TMP/run.log"; fail "the new process does not serve"; }
	RUNPID=$newpid
else
	cat "$TMP/run.log"
	fail "no new process after the package upgrade"
fi
kill -TERM "$RUNPID"
for _ in $(seq 1 100); do
	alive "$RUNPID" || break
	sleep 0.1
done
if alive "$RUNPID"; then
	fail "svcproxy still runs 10 s after SIGTERM"
else
	ok "SIGTERM: svcproxy stopped"
	RUNPID=""
fi
rm -rf "$RUNDIR"
RUNDIR_MADE=0

# ---- 6. purge ----
files=$(dpkg -L "$PKG" | grep -v '^/\.$')
if dpkg --purge "$PKG" >"$TMP/purge.log" 2>&1; then
	INSTALLED=0
	ok "dpkg --purge $PKG"
else
	cat "$TMP/purge.log"
	fail "dpkg --purge"
fi
left=""
for f in $files; do
	[ -d "$f" ] && continue	# shared directories stay
	[ -e "$f" ] && left="$left $f"
done
[ -e /etc/svcproxy ] && left="$left /etc/svcproxy"
[ -L "$wants" ] && left="$left $wants"
left="$left $(find /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked -name '*svcproxy*' \
    2>/dev/null | tr '\n' ' ')"
left=$(echo $left)	# one space between names, none around
[ -z "$left" ] && ok "nothing of the package is left" ||
    fail "left after purge: $left"
if [ "$USER_MADE" = 1 ]; then
	userdel svcproxy || true
	! getent group svcproxy >/dev/null || groupdel svcproxy || true
	if getent passwd svcproxy >/dev/null ||
	    getent group svcproxy >/dev/null; then
		fail "user or group svcproxy still there"
	else
		ok "user svcproxy removed (this test made it)"
	fi
	USER_MADE=0
fi

echo "deb.sh: $(( $(date +%s) - start )) s, $FAILS failures"
[ "$FAILS" = 0 ]
