#!/usr/bin/env python3
"""Every name svcproxy reads or answers to is documented.

usage: man_names.py SRCDIR SVCPROXY.8 SVCPROXY.YAML.5

Names are taken from the sources, not from a list kept here, so that a
new one fails this test until it is documented:
  - every kind whose schema src/kobj_kinds.h declares: a "### Kind"
    heading in the README's "Configuration reference" and a .SS of
    svcproxy.yaml(5);
  - every ProxyConfig field of src/kobj_proxyconfig.c's schema tables,
    by its path (spec.healthCheck.outlierDetection.maxEjectionPercent):
    in that reference and in svcproxy.yaml(5), either whole or as a
    line naming its parent path and the field (`spec.healthCheck.rise`,
    `fall`);
  - every annotation src/pcfg-t.h names (ANN_*): in both;
  - every command of cmd_table (src/main.c), every option of its usage
    line and every signal `run` handles (src/cmd_run.c): in svcproxy(8).
Prints each missing name with where it is missing, and exits 1.
"""
import os
import re
import sys


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def strings(text):
    """The C string literals of text, adjacent ones joined."""
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', text))


def schemas(src):
    """{schema variable: first string of its initializer} for src/*.c."""
    out = {}
    for name in sorted(os.listdir(src)):
        if not name.endswith(".c"):
            continue
        for m in re.finditer(r"struct kschema\s+(\w+)\s*=\s*\{\s*\"([^\"]+)\"",
                             read(os.path.join(src, name))):
            out[m.group(1)] = m.group(2)
    return out


def kinds(src):
    decl = re.findall(r"extern const struct kschema\s+(\w+);",
                      read(os.path.join(src, "kobj_kinds.h")))
    names = schemas(src)
    missing = [d for d in decl if d not in names]
    if not decl or missing:
        sys.exit("man_names.py: no kinds in kobj_kinds.h, or no schema "
                 "for %s" % ", ".join(missing))
    return [names[d] for d in decl]


def pcfg_paths(src):
    """Every field path under ProxyConfig's spec, objects included."""
    text = read(os.path.join(src, "kobj_proxyconfig.c"))
    fields = {}
    for m in re.finditer(r"struct kfield\s+(\w+)\[\]\s*=\s*\{(.*?)KF_END",
                         text, re.S):
        fields[m.group(1)] = re.findall(
            r"KF(_O)?\(\s*\"(\w+)\"(?:[^()]*?,\s*(\w+)\s*\))?", m.group(2))
    schema = {m.group(1): m.group(2) for m in re.finditer(
        r"struct kschema\s+(\w+)\s*=\s*\{[^}]*?,\s*(\w+)\s*\}", text)}
    out = []

    def walk(arr, prefix):
        for obj, name, sub in fields.get(arr, []):
            path = prefix + name
            out.append(path)
            if obj and sub in schema:
                walk(schema[sub], path + ".")

    spec = [f for f in fields.get("pcfg_fields", []) if f[1] == "spec"]
    if not spec or spec[0][2] not in schema:
        sys.exit("man_names.py: kobj_proxyconfig.c: no spec schema found")
    walk(schema[spec[0][2]], "spec.")
    if len(out) < 10:
        sys.exit("man_names.py: kobj_proxyconfig.c: only %d fields found"
                 % len(out))
    return out


def annotations(src):
    out = re.findall(r"#define\s+ANN_\w+\s+\"([^\"]+)\"",
                     read(os.path.join(src, "pcfg-t.h")))
    if len(out) < 10:
        sys.exit("man_names.py: pcfg-t.h: only %d annotations found"
                 % len(out))
    return out


def commands(src):
    """[(name, [options])] of cmd_table, from each cmd_*.c entry."""
    table = re.search(r"cmd_table\[\]\s*=\s*\{(.*?)\};",
                      read(os.path.join(src, "main.c")), re.S)
    entries = re.findall(r"&(\w+)", table.group(1)) if table else []
    if not entries:
        sys.exit("man_names.py: main.c: no cmd_table")
    found = {}
    for name in os.listdir(src):
        if name.startswith("cmd") and name.endswith(".c"):
            for m in re.finditer(r"struct cmd_entry\s+(\w+)\s*=\s*\{(.*?)\};",
                                 read(os.path.join(src, name)), re.S):
                body = m.group(2)
                n = re.search(r"\.name\s*=\s*\"(\w+)\"", body)
                u = re.search(r"\.usage\s*=\s*(.*?),\s*\n\s*\.", body, re.S)
                found[m.group(1)] = (n.group(1) if n else None,
                                     re.findall(r"--?[a-z][a-z-]*",
                                                strings(u.group(1))
                                                if u else ""))
    out = []
    for e in entries:
        if e not in found or found[e][0] is None:
            sys.exit("man_names.py: no entry %s in src/cmd_*.c" % e)
        out.append(found[e])
    return out


def signals(src):
    out = re.findall(r"run_sig\(\w+,\s*(SIG[A-Z0-9]+)",
                     read(os.path.join(src, "cmd_run.c")))
    if not out:
        sys.exit("man_names.py: cmd_run.c: no run_sig() calls")
    return out


def reference(readme):
    """The README's "Configuration reference" section, backticks gone."""
    m = re.search(r"^## Configuration reference\n(.*?)(?=^## )",
                  read(readme) + "\n## end\n", re.S | re.M)
    if not m:
        sys.exit("man_names.py: README.md has no Configuration reference")
    return m.group(1).replace("`", "")


def roff_text(path):
    """A roff source as the words it prints: font changes, \\& and the
    like dropped, \\- as -, so that names read as in the README."""
    s = read(path)
    s = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", s)
    s = re.sub(r"\\\[u([0-9A-F]{4})\]", lambda m: chr(int(m.group(1), 16)),
               s)
    for a, b in (("\\-", "-"), ("\\%", ""), ("\\&", ""), ("\\:", ""),
                 ("\\e", "\\")):
        s = s.replace(a, b)
    return s


def has_field(text, path):
    if path in text:
        return True
    parent, leaf = path.rsplit(".", 1)
    word = re.compile(r"(?<![\w.])%s(?![\w])" % re.escape(leaf))
    return any(parent + "." in l and word.search(l.replace(parent + ".", " "))
               for l in text.splitlines())


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    top, page8, page5 = argv[1:]
    src = os.path.join(top, "src")
    ref = reference(os.path.join(top, "README.md"))
    man5 = roff_text(page5)
    man8 = roff_text(page8)
    docs = (("README.md reference", ref), ("svcproxy.yaml(5)", man5))
    missing = []

    for kind in kinds(src):
        if not re.search(r"^### %s\b" % re.escape(kind), ref, re.M):
            missing.append("kind %s: no ### heading in the README "
                           "reference" % kind)
        if not re.search(r"^\.SS \"?%s\b" % re.escape(kind), man5, re.M):
            missing.append("kind %s: no .SS in svcproxy.yaml(5)" % kind)
    for path in pcfg_paths(src):
        for where, text in docs:
            if not has_field(text, path):
                missing.append("ProxyConfig %s: not in %s" % (path, where))
    for ann in annotations(src):
        for where, text in docs:
            if ann not in text:
                missing.append("annotation %s: not in %s" % (ann, where))
    for name, opts in commands(src):
        if not re.search(r"^\.B %s$" % name, man8, re.M):
            missing.append("command %s: no .B %s entry in svcproxy(8)"
                           % (name, name))
        for o in opts:
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), man8):
                missing.append("command %s: option %s not in svcproxy(8)"
                               % (name, o))
    for sig in signals(src):
        if not re.search(r"\b%s\b" % sig, man8):
            missing.append("signal %s: not in svcproxy(8)" % sig)

    for m in missing:
        print("missing: " + m)
    if missing:
        print("man_names.py: %d names undocumented (the README's reference "
              "makes svcproxy.yaml(5); svcproxy(8) is man/svcproxy.8)"
              % len(missing))
        return 1
    print("man_names.py: every kind, ProxyConfig field, annotation, "
          "command, option and signal is documented")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
