#!/usr/bin/env python3
"""bench/dns.py: svcproxy's cluster DNS beside nsd, with dnsperf.

  bench/dns.py [--quick] [--rounds N] [--duration S] [--services N]
               [--pods N] [--rate QPS] [--server-cpus LIST]
               [--client-cpus LIST] [--no-results]

5,000 Services (bench/gen_config.py, seed 1: ClusterIP, NodePort and
LoadBalancer Services with one to three named ports) are loaded by
`svcproxy run` with spec.dns on, and the same Services, as svcproxy
resolves them (`svcproxy resolve -o json`, turned into zone files by
bench/dns_zone.py), by nsd, an authoritative server.  Before measuring,
30 A and 30 SRV questions are asked of both and their answers compared.

dnsperf (one thread, one client, UDP, no EDNS, as svcproxy's evdns
server has none) then asks each server, in turn and interleaved over
rounds, every Service's A record, or every named port's SRV record, in
a shuffled order, in two ways:

  max     as fast as the server answers (-q 100 questions in flight):
          questions per second, and the server's CPU per question
  paced   at --rate questions per second (-Q), each answer's latency
          logged (-v): median and 99th percentile

Both servers run on --server-cpus (default 1) and dnsperf on
--client-cpus (default 0): both servers answer on one thread (svcproxy
its DNS thread, nsd with server-count 1), so one CPU is the same
budget for each, and dnsperf does not take it from them.  On a shared
machine that CPU is also used by other processes, which lowers
questions per second; CPU per question (the server's user+system time
over the questions it answered) does not depend on that, so it is the
figure to compare.

Writes the "Cluster DNS" section of bench/RESULTS.md.  Loopback only;
not run by `make check`.  Needs dnsperf, nsd and dig (.ci/deps --bench).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "dns")

from run_module import load_run  # noqa: E402
import benchlib as B  # noqa: E402

R = load_run()
R.OUT = OUT

DOMAIN = "cluster.local"
TTL = 5
SVCPROXY_DNS = ("127.54.0.2", 15354)
NSD_DNS = ("127.54.0.1", 15353)
ADMIN = "127.0.0.1:19184"
SERVERS = ["svcproxy", "nsd"]
QTYPES = ["A", "SRV"]
MODES = ["max", "paced"]


def log(*a):
    print("bench/dns:", *a, file=sys.stderr, flush=True)


# ---- inputs ----

def gen_config(args):
    """gen_config.py's Services, with spec.dns on; returns the dir."""
    cfg = os.path.join(OUT, "cfg")
    cmd = [os.path.join(HERE, "gen_config.py"), "-o", cfg,
           "--services", str(args.services), "--pods", str(args.pods),
           "--netpols", "0", "--seed", "1"]
    if subprocess.run([sys.executable] + cmd,
                      stdout=subprocess.DEVNULL).returncode != 0:
        R.die("gen_config.py failed")
    pc = os.path.join(cfg, "proxyconfig.yaml")
    text = open(pc).read()
    text = re.sub(r"(?m)^  adminAddress: .*$", "  adminAddress: %s" % ADMIN,
                  text)
    text += ("  connectionLog: \"off\"\n"
             "  dns: {listen: \"%s:%d\", clusterDomain: %s, ttl: %d}\n" % (
                 SVCPROXY_DNS[0], SVCPROXY_DNS[1], DOMAIN, TTL))
    R.write(pc, text)
    return cfg, R.sh(cmd)


def make_zone(svcproxy, cfg):
    """resolve -o json, then bench/dns_zone.py; returns its summary."""
    js = os.path.join(OUT, "resolve.json")
    with open(js, "w") as f:
        r = subprocess.run([svcproxy, "resolve", "-c", cfg, "-o", "json"],
                           stdout=f, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        R.die("svcproxy resolve failed")
    r = subprocess.run([sys.executable, os.path.join(HERE, "dns_zone.py"),
                        js, DOMAIN, str(TTL), os.path.join(OUT, "zone")],
                       stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        R.die("dns_zone.py failed")
    return r.stdout.strip()


def nsd_conf():
    d = os.path.join(OUT, "nsd")
    os.makedirs(d, exist_ok=True)
    return R.write(os.path.join(d, "nsd.conf"), """server:
  ip-address: {ip}@{port}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "{zones}"
  database: ""
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  pidfile: "{d}/nsd.pid"
  logfile: "{d}/nsd.log"
  verbosity: 1
  hide-version: yes
  # Answers as svcproxy's: no NS in authority, no additional glue.
  minimal-responses: yes
  do-ip6: no
remote-control:
  control-enable: no
zone:
  name: {dom}
  zonefile: {dom}.zone
zone:
  name: in-addr.arpa
  zonefile: reverse.zone
""".format(ip=NSD_DNS[0], port=NSD_DNS[1], zones=os.path.join(OUT, "zone"),
           d=d, dom=DOMAIN))


# ---- servers ----

def dig(server, name, qtype):
    """The answer section's data, sorted, or None (no answer)."""
    r = subprocess.run(["dig", "+norec", "+noedns", "+time=2", "+tries=1",
                        "+ignore", "-p", str(server[1]), "@" + server[0],
                        name, qtype], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0 or "status: " not in r.stdout:
        return None
    st = re.search(r"status: (\w+)", r.stdout).group(1)
    ans = sorted(" ".join(l.split()[3:]) for l in r.stdout.splitlines()
                 if l and not l.startswith(";") and len(l.split()) > 4)
    return st, ans


def wait_answer(server, name, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            return False
        a = dig(server, name, "A")
        if a and a[0] == "NOERROR" and a[1]:
            return True
        time.sleep(0.2)
    return False


def start(name, svcproxy, cfg, nsdconf, cpus, probe):
    if name == "svcproxy":
        cmd = [svcproxy, "run", "-c", cfg, "--workers", "1"]
        addr = SVCPROXY_DNS
    else:
        cmd = ["nsd", "-d", "-c", nsdconf]
        addr = NSD_DNS
    p = B.Served(R, name, cmd, cpus, timeout=120,
                 ready=lambda proc: wait_answer(addr, probe, proc, 120),
                 what="%s:%d (an answer for %s)" % (addr + (probe,)))
    return p, R.sh(["taskset", "-c", cpus] + cmd)


def cross_check(sample):
    """Ask both servers every sample question: (agree, differences)."""
    same, diff = 0, []
    for line in sample:
        q, t = line.split()
        a, b = dig(SVCPROXY_DNS, q, t), dig(NSD_DNS, q, t)
        if a is not None and a == b:
            same += 1
        else:
            diff.append("%s %s: svcproxy %s, nsd %s" % (q, t, a, b))
    return same, diff


# ---- dnsperf ----

def dnsperf_cmd(args, server, qfile, mode):
    cmd = ["dnsperf", "-s", server[0], "-p", str(server[1]), "-d", qfile,
           "-l", str(args.duration), "-c", "1", "-T", "1", "-t", "2"]
    if mode == "max":
        cmd += ["-q", "100"]
    else:
        cmd += ["-q", "100", "-Q", str(args.rate), "-v"]
    return cmd


def one_run(args, proc, server, qfile, mode):
    """dnsperf against one server; a dict of figures, or None."""
    pids = proc.pids()
    t0 = R.cpu_ticks(pids)
    out = R.run(dnsperf_cmd(args, server, qfile, mode),
                args.duration + 30, args.client_cpus)
    t1 = R.cpu_ticks(pids)
    if out is None:
        return None
    m = {}
    for key, pat in (("sent", r"Queries sent:\s+(\d+)"),
                     ("done", r"Queries completed:\s+(\d+)"),
                     ("lost", r"Queries lost:\s+(\d+)"),
                     ("qps", r"Queries per second:\s+([\d.]+)"),
                     ("avg", r"Average Latency \(s\):\s+([\d.]+)")):
        g = re.search(pat, out)
        m[key] = float(g.group(1)) if g else None
    if not m["done"]:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    m["cpu_us"] = (t1 - t0) / hz * 1e6 / m["done"]
    m["cpu_pct"] = (t1 - t0) / hz * 100 / args.duration
    if mode == "paced":
        lat = sorted(float(l.split()[-1]) for l in out.splitlines()
                     if l.startswith("> "))
        if lat:
            m["p50"] = lat[len(lat) // 2] * 1e6
            m["p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6
    return m


# ---- report ----

def fmt(v, nd=0):
    if v is None:
        return "-"
    return "{:,.{}f}".format(v, nd)


def cell(vals, nd=0):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    md = statistics.median(vals)
    if len(vals) == 1:
        return fmt(md, nd)
    return "%s (%s-%s)" % (fmt(md, nd), fmt(min(vals), nd),
                           fmt(max(vals), nd))


def med(res, key):
    vals = [r[key] for r in res if r and r.get(key) is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b, nd=2):
    if a is None or b is None or b == 0:
        return "-"
    return "%.*fx" % (nd, a / b)


def report(args, res, cmds, zone_summary, check, took, svcproxy):
    vers = R.versions(svcproxy)

    def first(cmd):
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        return (r.stdout.strip().splitlines() or ["?"])[0]
    nsd_v = first(["nsd", "-v"])
    r = subprocess.run(["dnsperf", "-h"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    g = re.search(r"Version (\S+)", r.stdout)
    perf_v = "dnsperf " + (g.group(1) if g else "?")
    same, diff = check
    L = []
    L.append("`bench/dns.py%s`: %s; %d rounds of %d s per run, servers "
             "interleaved (the first server alternates by round); both "
             "servers on CPU %s, dnsperf on CPU %s; %.0f s in all.  "
             "%s (`run --workers 1`, its DNS thread answers, on %s:%d), "
             "%s (server-count 1, minimal-responses, on %s:%d), %s, %s." % (
                 " --quick" if args.quick else "", zone_summary,
                 args.rounds, args.duration, args.server_cpus,
                 args.client_cpus, took, vers.get("svcproxy", "?"),
                 SVCPROXY_DNS[0], SVCPROXY_DNS[1], nsd_v, NSD_DNS[0],
                 NSD_DNS[1], perf_v, vers["kernel"]))
    L.append("")
    L.append("Same answers: %d of %d sample questions (A and SRV) got the "
             "same response code and records from both servers%s." % (
                 same, same + len(diff),
                 "" if not diff else "; differences: " + "; ".join(
                     diff[:3])))
    L.append("")
    L.append("Why pinned: each server answers on one thread, so both get "
             "the same one CPU (taskset) and dnsperf runs on the other.  "
             "The machine is shared, so questions per second also depend "
             "on what else ran on that CPU; CPU per question (the "
             "server's whole process, user+system, over the questions it "
             "answered) does not, and is the figure to compare.  max: as "
             "fast as the server answers, 100 in flight; paced: %d "
             "questions/s, latency of each answer as dnsperf saw it "
             "(includes dnsperf's own time on a loaded CPU).  Median "
             "(min-max) over rounds." % args.rate)
    L.append("")
    L.append("| question | server | questions/s (max) | CPU us per "
             "question (max) | CPU % (max) | lost (max) | p50 us (paced) "
             "| p99 us (paced) | CPU us per question (paced) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for t in QTYPES:
        for s in SERVERS:
            mx = res.get((s, t, "max"), [])
            pc = res.get((s, t, "paced"), [])
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                t, s, cell([r["qps"] for r in mx if r]),
                cell([r["cpu_us"] for r in mx if r], 1),
                cell([r["cpu_pct"] for r in mx if r]),
                cell([r["lost"] for r in mx if r]),
                cell([r.get("p50") for r in pc if r]),
                cell([r.get("p99") for r in pc if r]),
                cell([r["cpu_us"] for r in pc if r], 1)))
    busy = [r["cpu_pct"] for (sv, t, mode), v in res.items()
            if mode == "max" for r in v if r]
    if busy and max(busy) < 80:
        L.append("")
        L.append("In the max runs no server used more than %.0f%% of its "
                 "CPU: the one-threaded dnsperf on the other CPU was the "
                 "limit, not the servers, so questions/s (max) is the "
                 "client's pace against each; CPU per question is the "
                 "servers' cost." % max(busy))
    L.append("")
    L.append("svcproxy / nsd (medians; below 1 is svcproxy better for CPU "
             "and latency, above 1 for questions/s):")
    L.append("")
    L.append("| question | questions/s | CPU per question (max) | CPU per "
             "question (paced) | p50 | p99 |")
    L.append("|---|---|---|---|---|---|")
    for t in QTYPES:
        def m(s, mode, k):
            return med(res.get((s, t, mode), []), k)
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            t, ratio(m("svcproxy", "max", "qps"), m("nsd", "max", "qps")),
            ratio(m("svcproxy", "max", "cpu_us"), m("nsd", "max", "cpu_us")),
            ratio(m("svcproxy", "paced", "cpu_us"),
                  m("nsd", "paced", "cpu_us")),
            ratio(m("svcproxy", "paced", "p50"), m("nsd", "paced", "p50")),
            ratio(m("svcproxy", "paced", "p99"), m("nsd", "paced", "p99"))))
    L.append("")
    L.append("Commands (OUT is bench/out/dns):")
    L.append("")
    for k in sorted(cmds):
        L.append("- %s: `%s`" % (k[2:], cmds[k].replace(
            os.path.relpath(OUT, TOP), "OUT")))
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds of 5 s")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=20000)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--server-cpus", default="1")
    ap.add_argument("--client-cpus", default="0")
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration = 2, 5
    for tool in ("dnsperf", "nsd", "dig", "taskset"):
        if not shutil.which(tool):
            R.die("%s is needed (.ci/deps --bench)" % tool)
    os.makedirs(OUT, exist_ok=True)
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for a in (SVCPROXY_DNS, NSD_DNS):
        if not R.port_free(*a):
            R.die("port %d is taken on %s" % (a[1], a[0]))
    svcproxy, why = R.find_svcproxy(args)
    if svcproxy is None:
        R.die("no svcproxy: %s" % why)
    t_start = time.monotonic()
    log("generating %d Services" % args.services)
    cfg, gen_cmd = gen_config(args)
    zone_summary = make_zone(svcproxy, cfg)
    log(zone_summary)
    zdir = os.path.join(OUT, "zone")
    qfiles = {"A": os.path.join(zdir, "queries-a.txt"),
              "SRV": os.path.join(zdir, "queries-srv.txt")}
    probe = open(qfiles["A"]).readline().split()[0]
    cmds = {"0 configuration": gen_cmd + " (then spec.dns in "
            "proxyconfig.yaml)",
            "1 zone": "svcproxy resolve -c OUT/cfg -o json > "
            "OUT/resolve.json; bench/dns_zone.py OUT/resolve.json %s %d "
            "OUT/zone" % (DOMAIN, TTL)}
    procs = {}
    res = {}
    try:
        for s in SERVERS:
            procs[s], cmds["2 " + s] = start(s, svcproxy, cfg, nsd_conf(),
                                             args.server_cpus, probe)
        check = cross_check(open(os.path.join(zdir, "sample.txt"))
                            .read().split("\n")[:-1])
        log("cross-check: %d same, %d differ" % (check[0], len(check[1])))
        for d in check[1][:5]:
            log("  " + d)
        for mode in MODES:
            for t in QTYPES:
                cmds["3 dnsperf %s %s" % (t, mode)] = R.sh(
                    ["taskset", "-c", args.client_cpus] +
                    dnsperf_cmd(args, ("SERVER", "PORT"), qfiles[t], mode))
        for rnd in range(args.rounds):
            order = SERVERS[rnd % 2:] + SERVERS[:rnd % 2]
            for t in QTYPES:
                for mode in MODES:
                    for s in order:
                        addr = SVCPROXY_DNS if s == "svcproxy" else NSD_DNS
                        r = one_run(args, procs[s], addr, qfiles[t], mode)
                        res.setdefault((s, t, mode), []).append(r)
                        if r:
                            log("round %d/%d %s %s %s: %s q/s, %.1f us CPU "
                                "per question%s" % (
                                    rnd + 1, args.rounds, t, mode, s,
                                    fmt(r["qps"]), r["cpu_us"],
                                    ", p99 %s us" % fmt(r.get("p99"))
                                    if mode == "paced" else ""))
                        else:
                            log("round %d %s %s %s: failed" % (
                                rnd + 1, t, mode, s))
    finally:
        for p in procs.values():
            p.stop()
    took = time.monotonic() - t_start
    text = report(args, res, cmds, zone_summary, check, took, svcproxy)
    print(text)
    with open(os.path.join(OUT, "raw.json"), "w") as f:
        json.dump({"%s %s %s" % k: v for k, v in res.items()}, f, indent=1)
    if not args.no_results:
        B.write_results("Cluster DNS", text)


if __name__ == "__main__":
    main()
