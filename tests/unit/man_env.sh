#!/bin/sh
# Every environment variable svcproxy reads is in svcproxy(8)'s
# ENVIRONMENT section: each name passed to getenv() in src/, literally
# or through a macro defined as a string (#define X_ENV "NAME").  The
# missing names are listed.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
page="$top_srcdir/man/svcproxy.8"
src="$top_srcdir/src"

# The ENVIRONMENT section, without roff's escapes around the names.
section=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$page" | sed 's/\\//g')
[ -n "$section" ] || { echo "man_env.sh: no ENVIRONMENT in $page"; exit 1; }

# getenv("NAME") and getenv(MACRO), the macro's string from its #define.
names=$(
	grep -ho 'getenv("[A-Za-z_][A-Za-z0-9_]*")' "$src"/*.c |
	    sed 's/getenv("\(.*\)")/\1/'
	for m in $(grep -ho 'getenv([A-Z_][A-Z0-9_]*)' "$src"/*.c |
	    sed 's/getenv(\(.*\))/\1/'); do
		grep -ho "^#define[[:space:]]*$m[[:space:]]*\"[^\"]*\"" \
		    "$src"/*.c "$src"/*.h | sed 's/.*"\(.*\)"/\1/'
	done
)
[ -n "$names" ] || { echo "man_env.sh: no getenv() found in $src"; exit 1; }

fail=0 n=0
for v in $(echo "$names" | sort -u); do
	n=$((n + 1))
	if ! printf '%s\n' "$section" | grep -qw -- "$v"; then
		echo "missing: $v is read by svcproxy but not in svcproxy(8) ENVIRONMENT"
		fail=1
	fi
done
[ $fail = 0 ] && echo "man_env.sh: the $n environment variables svcproxy reads are documented"
exit $fail
