#!/usr/bin/env python3
"""results.py: replace one "## SECTION" of bench/RESULTS.md.

  results.py FILE "SECTION" < body.md

The body (read from stdin, without its "## SECTION" line) replaces
everything from that heading to the next "## " heading; a missing
section is appended.  Other sections, written by other scripts, are
kept as they are.
"""

import os
import sys

HEADER = """# svcproxy benchmarks

Written by the scripts in bench/ (each replaces only its own section).
Numbers are from one machine at one time: compare within a table, not
across tables or machines.
"""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: results.py FILE SECTION < body")
    path, title = sys.argv[1], sys.argv[2]
    body = sys.stdin.read().rstrip("\n") + "\n"
    text = open(path).read() if os.path.exists(path) else HEADER
    lines = text.splitlines(keepends=True)
    head = "## %s" % title
    start = next((i for i, l in enumerate(lines) if l.rstrip() == head),
                 None)
    block = [head + "\n", "\n", body]
    if start is None:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines += block
    else:
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].startswith("## ")), len(lines))
        if end < len(lines):
            block.append("\n")
        lines[start:end] = block
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(lines))
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
