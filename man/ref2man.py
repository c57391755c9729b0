#!/usr/bin/env python3
"""Build svcproxy.yaml(5) from the README's configuration reference.

usage: ref2man.py README.md > svcproxy.yaml.5

The README's "Configuration reference" and "Resolution" sections are
the one description of every object, field and annotation svcproxy
reads; the man page is made from them at build time, so that the two
cannot drift.  Only the Markdown the README uses is understood:
headings, paragraphs, "- " lists with two-space continuation lines,
indented and fenced code blocks, pipe tables, `code`, **bold** and
*italic*.  A table becomes tagged paragraphs (its first column the tag),
which read better than tbl(1) tables in 80 columns.
"""
import re
import sys
import textwrap

SECTIONS = ("Configuration reference", "Resolution")

HEAD = r""".\" Generated from README.md by man/ref2man.py: edit the README's
.\" "Configuration reference" and "Resolution" sections, not this file.
.TH SVCPROXY.YAML 5 "" "svcproxy" "File Formats"
.nh
.ad l
.SH NAME
svcproxy.yaml \- svcproxy configuration: Kubernetes objects and ProxyConfig
.SH SYNOPSIS
.I /etc/svcproxy/*.yaml
.SH DESCRIPTION
.BR svcproxy (8)
reads its configuration from a YAML file, or from every
.I *.yaml
and
.I *.yml
file of a directory in name order (dotfiles are skipped;
.I /etc/svcproxy
by default).
A file may hold several documents separated by
.B \-\-\-
and
.B "kind: List"
documents with
.BR items ,
so the output of
.B "kubectl get \-o yaml"
loads as it is.
.B "svcproxy check"
validates a configuration without serving it; a running
.B "svcproxy run"
re-reads it on SIGHUP.
.PP
What follows is the reference of the README that comes with svcproxy:
every kind, field and annotation svcproxy reads, and what it does with
them.
"""

TAIL = r""".SH FILES
.TP
.I /etc/svcproxy/
The default configuration directory.
.TP
.I /usr/share/doc/svcproxy/examples/
Commented examples of every Service type, EndpointSlice, NetworkPolicy,
health check and ProxyConfig.
.SH SEE ALSO
.BR svcproxy (8)
"""


def extract(lines):
    """The lines of the wanted level-2 sections, in README order."""
    out, keep, fence = [], False, False
    for line in lines:
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            keep = line[3:].strip() in SECTIONS
        if keep:
            out.append(line)
    return out


def esc(s):
    """Plain text for roff: a backslash is printed as \\e, and
    characters beyond ASCII by their Unicode names (groff reads bytes)."""
    s = s.replace("\\", "\\e")
    return re.sub(r"[^\x00-\x7f]", lambda m: "\\[u%04X]" % ord(m.group()),
                  s)


def code(s):
    """A code span: bold, minus signs as \\- (they are typed).  A long
    one may break after . / _ | (\\:, no hyphen), so that it fits in
    a narrow terminal (spec.healthCheck.outlierDetection...)."""
    s = esc(s).replace("-", "\\-")
    if len(s) > 24:
        s = re.sub(r"([./_|])(?=[^\s])", r"\1\\:", s)
    return "\\fB" + s + "\\fP"


def inline(s):
    """Markdown inline marks of one paragraph to roff font escapes."""
    out = []
    for i, part in enumerate(re.split(r"(`[^`]*`)", s)):
        if i % 2:
            out.append(code(part[1:-1]))
            continue
        part = esc(part.replace("\\|", "|"))
        part = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fP", part)
        part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])",
                      r"\\fI\1\\fP", part)
        out.append(part)
    return "".join(out)


def safe(line):
    """A text line that roff will not take for a request."""
    return "\\&" + line if line[:1] in (".", "'") else line


def fill(text):
    """One paragraph's text, formatted, as source lines."""
    text = inline(" ".join(text.split()))
    return [safe(l) for l in textwrap.wrap(
        text, 72, break_long_words=False, break_on_hyphens=False)]


def cells(row):
    """The cells of a table row; | inside `code` or as \\| is text."""
    out, cur, tick, i = [], "", False, 0
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    while i < len(row):
        c = row[i]
        if c == "\\" and row[i + 1:i + 2] == "|":
            cur += "\\|"
            i += 2
            continue
        if c == "`":
            tick = not tick
        if c == "|" and not tick:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur.strip())
    return out


def table(rows):
    """A pipe table as tagged paragraphs.  Columns between the first
    and a last "meaning" column are labelled with their header."""
    head = cells(rows[0])
    body = [cells(r) for r in rows[2:]]
    out = []
    for r in body:
        out.append(".TP")
        out.append(safe(inline(r[0])) if r[0] else "\\&")
        parts = []
        for j in range(1, len(head)):
            v = r[j] if j < len(r) else ""
            if not v:
                continue
            h = head[j]
            if len(head) > 2 and not h.startswith("meaning"):
                v = "*%s*: %s%s" % (h[:1].upper() + h[1:], v,
                                    "" if v.endswith(".") else ".")
            parts.append(v)
        for k, p in enumerate(parts):
            if k:
                out.append(".br")
            out.extend(fill(p))
    return out


def codeblock(block):
    out = [".RS", ".EX"]
    for l in block:
        out.append(safe(esc(l).replace("-", "\\-")))
    return out + [".EE", ".RE"]


def convert(lines):
    out, i, n = [], 0, len(lines)
    para = []
    indent = False          # inside a list item's .RS

    def flush():
        if para:
            out.extend(fill(" ".join(para)))
            para.clear()

    while i < n:
        line = lines[i].rstrip("\n")
        if line.startswith("```"):
            flush()
            j = i + 1
            while j < n and not lines[j].startswith("```"):
                j += 1
            out.extend(codeblock([l.rstrip("\n") for l in lines[i + 1:j]]))
            i = j + 1
            continue
        if not line.strip():
            flush()
            # An indented block after a blank line is code.
            j = i + 1
            block = []
            while j < n and (lines[j].startswith("    ") or
                             (not lines[j].strip() and block)):
                block.append(lines[j].rstrip("\n"))
                j += 1
            while block and not block[-1].strip():
                block.pop()
            if block:
                k = min(len(l) - len(l.lstrip()) for l in block if l.strip())
                out.extend(codeblock([l[k:] for l in block]))
                i = j
                continue
            i += 1
            continue
        m = re.match(r"(#{2,4}) (.*)", line)
        if m:
            flush()
            title = inline(m.group(2).strip())
            if len(m.group(1)) == 2:
                out.append('.SH "%s"' % title.upper())
            else:
                out.append('.SS "%s"' % title)
            i += 1
            continue
        if line.startswith("|"):
            flush()
            j = i
            while j < n and lines[j].startswith("|"):
                j += 1
            out.extend(table(lines[i:j]))
            out.append(".PP")
            i = j
            continue
        if line.startswith("- "):
            flush()
            item = [line[2:]]
            i += 1
            while i < n and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out.append(".IP \\(bu 2")
            out.extend(fill(" ".join(item)))
            continue
        if not para and out and out[-1] not in (".PP",) and \
                not out[-1].startswith((".SH", ".SS")):
            out.append(".PP")
        para.append(line.strip())
        i += 1
    flush()
    # No paragraph break right before a heading, or doubled.
    clean = []
    for l in out:
        if l.startswith((".SH", ".SS", ".PP")) and clean and \
                clean[-1] == ".PP":
            clean.pop()
        clean.append(l)
    return clean


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: ref2man.py README.md\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        lines = extract(f.readlines())
    if not lines:
        sys.stderr.write("ref2man.py: no section %s in %s\n" %
                         (" or ".join(SECTIONS), argv[1]))
        return 1
    sys.stdout.write(HEAD)
    sys.stdout.write("\n".join(convert(lines)) + "\n")
    sys.stdout.write(TAIL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
