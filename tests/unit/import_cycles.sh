#!/bin/sh
# No import cycles between svcproxy's files: if a.c uses a
# function or object defined in b.c, nothing b.c uses (directly or
# through other files) may come from a.c.  Read from the objects in the
# build's archives (nm), so what counts is what the code really uses,
# not what a header happens to declare.  On a cycle it names the files
# and one symbol per step, and fails.
#
# Every archive and the program's own objects (commands, reload,
# upgrade) are read.  The balancer registry has a file of its own
# (lb_registry.c) so that it is no cycle with the algorithms.
set -u

ARCHIVES='libsvcp_core.a libsvcp_val.a libsvcp_res.a libsvcp_pol.a libsvcp_dp.a'

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
NM=${NM:-nm}

list=
for a in $ARCHIVES; do
	if [ ! -f "$top_builddir/src/$a" ]; then
		echo "import_cycles: no $top_builddir/src/$a (build first)" >&2
		exit 99
	fi
	list="$list $top_builddir/src/$a"
done
# The program's own objects (not in an archive).
for o in "$top_builddir"/src/main.o "$top_builddir"/src/cmd_*.o \
    "$top_builddir"/src/reload.o "$top_builddir"/src/reload_load.o \
    "$top_builddir"/src/upgrade.o; do
	[ -f "$o" ] && list="$list $o"
done

# shellcheck disable=SC2086
syms=$($NM -A $list) || { echo "import_cycles: $NM failed" >&2; exit 99; }

echo "$syms" | awk '
# "archive:member.o:0000 T name" or "archive:member.o:   U name"
NF >= 2 {
	n = split($1, p, ":")
	obj = p[n - 1]
	type = $(NF - 1)
	sym = $NF
	objs[obj] = 1
	if (type == "U")
		use[obj, sym] = 1
	else if (type ~ /^[TDBRC]$/)
		def[sym] = obj
}
END {
	nn = 0
	for (o in objs)
		node[++nn] = o
	for (k in use) {
		split(k, q, SUBSEP)
		if (!(q[2] in def) || def[q[2]] == q[1])
			continue
		edge[q[1], def[q[2]]] = 1
		why[q[1], def[q[2]]] = q[2]
		reach[q[1], def[q[2]]] = 1
	}
	for (k = 1; k <= nn; k++)
		for (i = 1; i <= nn; i++)
			if ((node[i], node[k]) in reach)
				for (j = 1; j <= nn; j++)
					if ((node[k], node[j]) in reach)
						reach[node[i], node[j]] = 1
	bad = 0
	for (i = 1; i <= nn; i++)
		for (j = 1; j <= nn; j++) {
			a = node[i]; b = node[j]
			if (!((a, b) in edge) || !((b, a) in reach))
				continue
			printf "import cycle: %s uses %s of %s, which " \
			    "reaches back to %s\n", a, why[a, b], b, a
			bad = 1
		}
	printf "import_cycles: %d objects\n", nn
	exit bad
}'
