#!/bin/bash
# policy_scale.sh: NetworkPolicy compile time (pol_build) and verdict
# cost (pol_judge) on a generated configuration (bench/gen_config.py;
# default 10000 Pods, 1000 NetworkPolicies, 100 namespaces).
#
#   bench/policy_scale.sh [gen_config.py options...]
#   BUILD=/tmp/build-x bench/policy_scale.sh --pods 50000
#
# Links bench/policy_scale.c against the libraries of the configured
# build directory $BUILD (default /tmp/svcproxy-bench-build, configured
# and built there with -O2 if needed; never in the source tree).  The
# configuration goes to bench/out/policy_scale (gitignored).  Not run by
# `make check`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-/tmp/svcproxy-bench-build}
out="$here/out/policy_scale"

mkdir -p "$BUILD"
if [ ! -f "$BUILD/Makefile" ]; then
	(cd "$BUILD" && "$top/configure" -q)
fi
make -s -C "$BUILD" src/libsvcp_pol.a src/libsvcp_res.a \
	src/libsvcp_val.a src/libsvcp_core.a
cc -O2 -std=gnu11 -I"$top/src" -I"$BUILD" -o "$BUILD/policy_scale" \
	"$here/policy_scale.c" "$BUILD/src/libsvcp_pol.a" \
	"$BUILD/src/libsvcp_res.a" "$BUILD/src/libsvcp_val.a" \
	"$BUILD/src/libsvcp_core.a" $(pkg-config --libs yaml-0.1)

python3 "$here/gen_config.py" -o "$out" --services 1000 --pods 10000 \
	--netpols 1000 --namespaces 100 "$@" >/dev/null
"$BUILD/policy_scale" "$out" 5
