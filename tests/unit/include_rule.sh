#!/bin/sh
# The data path's include rule: nothing the data path includes, directly
# or through other headers, is a config-side header (val*.h, load.h,
# kobj*.h, ydoc.h).  The data path reads runtime types only (pcfg-t.h,
# snapshot-t.h, policy-t.h, res_listener-t.h): a worker must not be able
# to reach the YAML objects, and a change to validation must not
# recompile the relay.
#
# The compiler's own include tree ($CC -E -H) is the list checked, with
# the build's include path, so a header reached through any chain
# counts.  On a violation it names the file, the forbidden header and
# the chain that reached it, and fails.
#
# To extend: a new data-path file matching DP_GLOBS is checked as soon
# as it exists; add other headers to DP_HEADERS, forbidden names to
# FORBIDDEN (shell patterns on the header's file name).
set -u

DP_GLOBS='relay*.c worker*.c listener*.c pipe*.c poll*.c lb*.c'
DP_HEADERS='proto.h lb.h snapshot.h snapshot-t.h metrics.h admin.h'
FORBIDDEN='val*.h load.h kobj*.h ydoc.h'
# These must exist, so that a rename cannot make the test pass empty.
REQUIRED='relay.c worker.c listener.c proto.h lb.h snapshot.h metrics.h
    admin.h'

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
CC=${CC:-cc}
src=$top_srcdir/src

if [ ! -f "$top_builddir/config.h" ]; then
	echo "include_rule: no $top_builddir/config.h (configure first)" >&2
	exit 99
fi

files=
for g in $DP_GLOBS $DP_HEADERS; do
	for f in "$src"/$g; do
		[ -f "$f" ] && files="$files $f"
	done
done
for f in $REQUIRED; do
	case " $files " in
	*" $src/$f "*) ;;
	*)	echo "include_rule: src/$f is missing" >&2
		exit 99 ;;
	esac
done

tree=$(mktemp)
trap 'rm -f "$tree"' EXIT
bad=0
n=0
for f in $files; do
	# -H prints one line per header opened, its depth as leading dots.
	# $SVCP_CFLAGS: libevent's and the other libraries' -I flags.
	# shellcheck disable=SC2086
	if ! $CC -E -H -DHAVE_CONFIG_H -I"$src" -I"$top_builddir" \
	    ${SVCP_CFLAGS:-} -x c "$f" -o /dev/null 2>"$tree"; then
		echo "include_rule: $CC -E failed on ${f#"$top_srcdir"/}:" >&2
		cat "$tree" >&2
		exit 99
	fi
	n=$((n + 1))
	out=$(awk -v file="${f#"$top_srcdir"/}" -v forbidden="$FORBIDDEN" '
	function base(p) { sub(/.*\//, "", p); return p }
	function glob2re(g) {
		gsub(/\./, "\\.", g); gsub(/\*/, ".*", g)
		return "^" g "$"
	}
	BEGIN {
		nf = split(forbidden, fb, " ")
		for (i = 1; i <= nf; i++)
			fre[i] = glob2re(fb[i])
	}
	/^\.+ / {
		d = index($0, " ") - 1
		path = substr($0, d + 2)
		chain[d] = path
		b = base(path)
		for (i = 1; i <= nf; i++) {
			if (b !~ fre[i])
				continue
			via = file
			for (k = 1; k <= d; k++)
				via = via " > " base(chain[k])
			printf "%s includes %s (%s)\n", file, b, via
		}
	}' "$tree")
	if [ -n "$out" ]; then
		echo "$out"
		bad=1
	fi
done

if [ "$bad" -ne 0 ]; then
	echo "include_rule: FAIL: the data path must not include" \
	    "$FORBIDDEN" >&2
	exit 1
fi
echo "include_rule: $n files, none includes $FORBIDDEN"
exit 0
