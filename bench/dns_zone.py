#!/usr/bin/env python3
"""bench/dns_zone.py: the cluster DNS zone as a zone file, for nsd.

  bench/dns_zone.py RESOLVE.json DOMAIN TTL OUTDIR

Reads what `svcproxy resolve -o json` prints for a configuration and
writes, into OUTDIR, the records svcproxy's DNS server answers for it
(src/dns_zone.h lists them), so that another server can answer the
same questions from the same Services:

  DOMAIN.zone        the forward zone: SOA, N A/AAAA, _PORT._PROTO.N SRV,
                     a headless Service's HOST.N (the dashed address:
                     the JSON has no hostnames) and its per-endpoint SRV,
                     CNAME for ExternalName, dns-version TXT
  reverse.zone       in-addr.arpa: the PTR of every clusterIP and
                     headless address (IPv4 only)
  queries-a.txt      "N A" for every Service with a clusterIP or ready
                     addresses, shuffled (seed 1): dnsperf's input
  queries-srv.txt    "_PORT._PROTO.N SRV" for every named port of those
  sample.txt         30 of each, for a cross-check between servers

Prints one line: the counts.
"""

import ipaddress
import json
import os
import random
import sys


def dashed(ip):
    s = ip.replace(".", "-").replace(":", "-")
    if s.startswith("-"):
        s = "0" + s
    if s.endswith("-"):
        s += "0"
    return s


def rr_type(ip):
    return "AAAA" if ":" in ip else "A"


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: dns_zone.py RESOLVE.json DOMAIN TTL OUTDIR")
    src, domain, ttl, out = sys.argv[1], sys.argv[2].rstrip(".").lower(), \
        int(sys.argv[3]), sys.argv[4]
    with open(src) as f:
        services = json.load(f)["services"]
    fwd = ["$ORIGIN %s." % domain, "$TTL %d" % ttl,
           # CoreDNS's names and timers, svcproxy's minimum (the TTL).
           "@ IN SOA ns.dns.%s. hostmaster.%s. 1 7200 1800 86400 %d" % (
               domain, domain, ttl),
           "@ IN NS ns.dns.%s." % domain,
           "ns.dns IN A 127.0.0.1",
           'dns-version IN TXT "1.1.0"']
    rev = ["$ORIGIN in-addr.arpa.", "$TTL %d" % ttl,
           "@ IN SOA ns.dns.%s. hostmaster.%s. 1 7200 1800 86400 %d" % (
               domain, domain, ttl),
           "@ IN NS ns.dns.%s." % domain]
    qa, qsrv = [], []
    ptr = set()
    for s in services:
        n = ("%s.%s.svc.%s." % (s["name"], s["namespace"], domain)).lower()
        if s.get("externalName"):
            fwd.append("%s IN CNAME %s." % (n, s["externalName"].rstrip(".")))
            continue
        cip = s.get("clusterIP")
        if cip and cip != "None":
            fwd.append("%s IN %s %s" % (n, rr_type(cip), cip))
            ptr.add((cip, n))
            qa.append("%s A" % n.rstrip("."))
            for p in s["ports"]:
                if not p.get("name"):
                    continue
                o = "_%s._%s.%s" % (p["name"], p["protocol"].lower(), n)
                fwd.append("%s IN SRV 0 100 %d %s" % (o.lower(), p["port"],
                                                      n))
                qsrv.append("%s SRV" % o.rstrip(".").lower())
            continue
        addrs = s.get("addresses") or []
        for a in addrs:
            h = "%s.%s" % (dashed(a), n)
            fwd.append("%s IN %s %s" % (n, rr_type(a), a))
            fwd.append("%s IN %s %s" % (h, rr_type(a), a))
            ptr.add((a, h))
        if addrs:
            qa.append("%s A" % n.rstrip("."))
        for p in s["ports"]:
            if not p.get("name"):
                continue
            o = ("_%s._%s.%s" % (p["name"], p["protocol"].lower(),
                                 n)).lower()
            srv = sorted({(e["port"], "%s.%s" % (dashed(e["ip"]), n))
                          for e in p["endpoints"] if e["ready"]})
            for port, target in srv:
                fwd.append("%s IN SRV 0 100 %d %s" % (o, port, target))
            if srv:
                qsrv.append("%s SRV" % o.rstrip("."))
    for ip, name in sorted(ptr):
        a = ipaddress.ip_address(ip)
        if a.version == 4:
            rev.append("%s. IN PTR %s" % (a.reverse_pointer, name))
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)
    rng.shuffle(qa)
    rng.shuffle(qsrv)
    files = {
        "%s.zone" % domain: fwd,
        "reverse.zone": rev,
        "queries-a.txt": qa,
        "queries-srv.txt": qsrv,
        "sample.txt": qa[:30] + qsrv[:30],
    }
    for name, lines in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write("\n".join(lines) + "\n")
    print("%d services: %d forward records, %d PTR, %d A and %d SRV "
          "questions" % (len(services), len(fwd) - 6, len(rev) - 4,
                         len(qa), len(qsrv)))


if __name__ == "__main__":
    main()
