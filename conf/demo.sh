#!/bin/sh
# Quick start: install dependencies, build, start three demo backends on
# loopback and run svcproxy on conf/demo.yaml in the foreground.
# Ctrl-C stops svcproxy and the backends.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/.ci/deps"
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j2 src/svcproxy
svcproxy="$top/build/src/svcproxy"
# The admin address, as conf/demo.yaml sets it: the status page.
admin=$(sed -n 's/^ *adminAddress: *//p' "$top/conf/demo.yaml" | head -1)
admin=${admin:-127.0.0.1:9180}

"$svcproxy" check -c "$top/conf/demo.yaml"
"$top/conf/demo-backends.sh" start
trap '"$top/conf/demo-backends.sh" stop' EXIT INT TERM

cat <<MSG

svcproxy is starting on conf/demo.yaml.  In another terminal, try:

    for i in 1 2 3; do curl -s http://127.1.0.10/; done     # ClusterIP
    curl -s http://127.0.0.1:30080/                          # NodePort
    $svcproxy resolve -c $top/conf/demo.yaml                # what it serves

Status page: http://$admin/  (a browser on this machine, or lynx/w3m;
from elsewhere through an SSH tunnel: ssh -L 9180:$admin <this host>)

Ctrl-C stops it.

MSG
# Once svcproxy answers on its admin address, say where the page is
# (bounded: 30 s; stopped with the rest on exit).
(
	i=0
	while [ "$i" -lt 300 ]; do
		if curl -s -o /dev/null --max-time 1 "http://$admin/healthz"; then
			echo "svcproxy is up; status page: http://$admin/"
			exit 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
) &
watch=$!
trap 'kill "$watch" 2>/dev/null; "$top/conf/demo-backends.sh" stop' \
    EXIT INT TERM
"$svcproxy" run -c "$top/conf/demo.yaml"
