#!/bin/sh
# The man pages render without a warning and document every name.
#
# 1. groff -ww (every warning on) renders svcproxy(8) and
#    svcproxy.yaml(5), as man(1) would, at 80 and at 60 columns: any
#    warning fails, with groff's message (file:line).
# 2. man_names.py: every kind, ProxyConfig field and annotation of the
#    sources is in the README's reference and in svcproxy.yaml(5) (which
#    `make` builds from it), every command, option and signal in
#    svcproxy(8); the missing names are listed.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}

# Built pages are in the build tree, or in the source tree of a tarball.
page() {
	if [ -f "$top_builddir/man/$1" ]; then
		echo "$top_builddir/man/$1"
	elif [ -f "$top_srcdir/man/$1" ]; then
		echo "$top_srcdir/man/$1"
	else
		echo "man_pages.sh: man/$1 not found (run make first)" >&2
		exit 99
	fi
}
p8=$(page svcproxy.8) || exit 99
p5=$(page svcproxy.yaml.5) || exit 99
command -v groff >/dev/null 2>&1 || {
	echo "man_pages.sh: groff not found (Debian: groff-base)" >&2
	exit 99
}

fail=0
for p in "$p8" "$p5"; do
	pfail=0
	for ll in 78n 58n; do
		# -z: format only; warnings still go to stderr.
		warn=$(LC_ALL=C.UTF-8 groff -ww -z -man -Tutf8 -rLL=$ll \
		    "$p" 2>&1)
		if [ -n "$warn" ]; then
			echo "FAIL: groff -ww warns on $p (line length $ll):"
			echo "$warn"
			pfail=1
		fi
	done
	# A page that renders to nothing would pass the check above.
	lines=$(groff -man -Tutf8 "$p" 2>/dev/null | wc -l)
	if [ "$lines" -lt 100 ]; then
		echo "FAIL: $p renders to $lines lines"
		pfail=1
	elif [ $pfail -eq 0 ]; then
		echo "ok: $p renders ($lines lines), no warning"
	fi
	[ $pfail -eq 0 ] || fail=1
done

python3 "$top_srcdir/tests/unit/man_names.py" "$top_srcdir" "$p8" "$p5" ||
    fail=1
exit $fail
