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

"$svcproxy" check -c "$top/conf/demo.yaml"
"$top/conf/demo-backends.sh" start
trap '"$top/conf/demo-backends.sh" stop' EXIT INT TERM

cat <<MSG

svcproxy is starting on conf/demo.yaml.  In another terminal, try:

    for i in 1 2 3; do curl -s http://127.1.0.10/; done     # ClusterIP
    curl -s http://127.0.0.1:30080/                          # NodePort
    $svcproxy resolve -c $top/conf/demo.yaml                # what it serves

Ctrl-C stops it.

MSG
"$svcproxy" run -c "$top/conf/demo.yaml"
