#!/usr/bin/env python3
"""bench/conn_levers.py: svcproxy's CPU per proxied connection, lever by
lever, against a baseline build and HAProxy, and what each feature
costs per connection.

  bench/conn_levers.py [--rounds N] [--duration S] [--cap F]
                       [--baseline PATH] [--only LIST] [--strace]
                       [--perf] [--proxy-cpus LIST] [--load-cpus LIST]

One nginx backend (bench/run's backend_conf: worker_processes 1,
sendfile, a 1 KiB file) on 127.77.0.21 and 127.77.0.22, port 28080
plain and 28081 with `proxy_protocol`, pinned to --load-cpus (CPU 0).
Contenders, each its own process pinned to --proxy-cpus (CPU 1) and
capped to --cap (0.15) of one CPU through bench/cpucap.py (cgroup
conncost-NAME), so that the proxy, not wrk or nginx, limits the rate:

  haproxy     HAProxy, mode tcp, nbthread 1, no splice (bench/run's)
  haproxy-pp2 the same with send-proxy-v2 to the proxy_protocol port
  base        --baseline (an svcproxy built from the commit before the
              levers), every feature off
  off         svcproxy (this build: $SVCPROXY, else build/src/svcproxy),
              every feature off (bench/run's configuration)
  pol         1,000 NetworkPolicies selecting the Service's Pods, each
              allowing the client (127.0.0.1) by ipBlock on the named
              port `http`: every connection is judged
  pol-last    1,000 NetworkPolicies selecting the Pods of which only the
              last (in the order they are judged) allows the client: the
              verdict walks all of them
  hc          svcproxy.io/health-check: tcp on the endpoints (1 s)
  aff         sessionAffinity: ClientIP
  pp2         svcproxy.io/proxy-protocol: v2 to the proxy_protocol port
  all         pol + hc + aff + pp2
  base-all, base-pol-last   the baseline build with those features

All contenders run for the whole session; each round measures every
one (--only picks some) in an order rotated each round with
`wrk -t1 -c32 -d{S}s -H 'Connection: close'` (a new connection per
request) on the load CPU.  Per run: conn/s (wrk), the proxy's CPU per
connection (µs; the sum over its threads of sum_exec_runtime from
/proc/PID/task/*/schedstat, ns precision) and its user/system split
(utime/stime ticks, summed over the rounds: a 3 s run at 0.15 CPU is
only ~45 ticks), the load CPU's busy %, and the nginx backend's CPU
per connection (what a PROXY header costs the backend).  Medians (min-max) over
rounds; ratios to `off` and to `haproxy` per round.

--strace: one more 2 s run per contender under `strace -f -c`, calls per
connection.  --perf: one more 2 s run per contender under `perf record
-g`; the user-space share and the inclusive share of each syscall.

Writes to stdout (markdown) and bench/out/conn_levers/.  Needs root
(the cgroup), nginx, haproxy, wrk; loopback only; not run by make check.
"""

import argparse
import os
import re
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "conn_levers")

sys.path.insert(0, HERE)
from run_module import load_run  # noqa: E402
import benchlib as B  # noqa: E402
from benchlib import cell  # noqa: E402

R = load_run()
R.OUT = OUT
R.BACKENDS = ["127.77.0.21", "127.77.0.22"]
R.HTTP_PORT = PORT = 28080
R.PP_PORT = PP_PORT = 28081
CIDR = "127.77.1.0/24"
NPOL = 1000

# name: (kind, address, features)
CONTENDERS = [
    ("haproxy", "haproxy", "127.77.0.42", ()),
    ("haproxy-pp2", "haproxy", "127.77.0.43", ("pp2",)),
    ("base", "base", "127.77.1.10", ()),
    ("off", "svcproxy", "127.77.1.11", ()),
    ("pol", "svcproxy", "127.77.1.12", ("pol",)),
    ("pol-last", "svcproxy", "127.77.1.13", ("pol-last",)),
    ("hc", "svcproxy", "127.77.1.14", ("hc",)),
    ("aff", "svcproxy", "127.77.1.15", ("aff",)),
    ("pp2", "svcproxy", "127.77.1.16", ("pp2",)),
    ("all", "svcproxy", "127.77.1.17", ("pol", "hc", "aff", "pp2")),
    ("base-all", "base", "127.77.1.18", ("pol", "hc", "aff", "pp2")),
    ("base-pol-last", "base", "127.77.1.19", ("pol-last",)),
]
DEFAULT = "haproxy,base,off"


def policies(last_only):
    """NPOL NetworkPolicies on the bench Pods.  Each allows, on the named
    port, its own 10.x.y.0/24; all of them (or only the last judged:
    the table keeps them in name order) also the client, 127.0.0.1."""
    return B.netpols_yaml(NPOL, "127.0.0.0/24",
                          lambda i: not last_only or i == NPOL - 1)


def svcproxy_conf(i, name, addr, feats):
    ann = {}
    if "pp2" in feats:
        ann["svcproxy.io/proxy-protocol"] = "v2"
    if "hc" in feats:
        ann["svcproxy.io/health-check"] = "tcp"
        ann["svcproxy.io/health-check-interval"] = "1s"
    aff = "ClientIP" if "aff" in feats else None
    tport = PP_PORT if "pp2" in feats else PORT
    pol = ""
    if "pol" in feats or "pol-last" in feats:
        pol = policies("pol-last" in feats)
    return R.write(os.path.join(OUT, name + ".yaml"), B.svcproxy_yaml(
        "bench/conn_levers.py", CIDR, "127.0.0.1:%d" % B.free_port(), addr,
        PORT, "http", B.pods_yaml(R.BACKENDS, tport) + pol,
        annotations=ann, affinity=aff))


def haproxy_conf(name, addr, feats):
    pp = "pp2" in feats
    return B.haproxy_cfg(R, "bench/conn_levers.py (no splice)", name, addr,
                         PORT, ["%s:%d%s" % (a, PP_PORT if pp else PORT,
                                             " send-proxy-v2" if pp else "")
                                for a in R.BACKENDS])


# ---- CPU of a process ----

def cpu_sample(pids):
    """(ns on CPU, utime ticks, stime ticks) summed over pids' threads."""
    ns = ut = st = 0
    for p in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/schedstat" % (p, t)) as f:
                    ns += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        ut += int(f[11])
        st += int(f[12])
    return ns, ut, st


def wrk_run(url, secs, load_cpus, pids, be_pids=()):
    """One wrk conn/s run: a dict of figures, or None."""
    cmd = ["wrk", "-t1", "-c32", "-d%ds" % secs, "--timeout", "5s",
           "-H", "Connection: close", url]
    load = R.cpu_list(load_cpus)
    j0, c0, t0 = R.cpu_jiffies(load), cpu_sample(pids), time.monotonic()
    b0 = cpu_sample(be_pids)
    out = R.run(cmd, secs + 30, load_cpus)
    j1, c1, t1 = R.cpu_jiffies(load), cpu_sample(pids), time.monotonic()
    b1 = cpu_sample(be_pids)
    if out is None:
        return None
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    errs = 0
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                   r"timeout (\d+)", out)
    if se:
        errs += sum(int(x) for x in se.groups())
    n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if n2:
        errs += int(n2.group(1))
    if not rps or not n or int(n.group(1)) == 0:
        return None
    reqs = int(n.group(1))
    return {"rps": float(rps.group(1)), "n": reqs, "errs": errs,
            "us": (c1[0] - c0[0]) / 1e3 / reqs,
            "be_us": (b1[0] - b0[0]) / 1e3 / reqs,
            "ut": c1[1] - c0[1], "st": c1[2] - c0[2],
            "proxy_pct": 100.0 * (c1[0] - c0[0]) / 1e9 / (t1 - t0),
            "load_pct": R.busy_pct(j0, j1), "cmd": cmd}


def strace_run(c, url, load_cpus):
    calls, errors, res = B.strace_c(
        os.path.join(OUT, "strace-%s.txt" % c["name"]), c["proc"].pids(),
        lambda: wrk_run(url, 2, load_cpus, []))
    if not res:
        return None
    n = float(res["n"])
    return ({k: v / n for k, v in calls.items()},
            {k: v / n for k, v in errors.items() if v})


def perf_run(c, url, load_cpus):
    outf = os.path.join(OUT, "perf-%s.data" % c["name"])
    pids = ",".join(str(p) for p in c["proc"].pids())
    cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g",
           "-o", outf, "-p", pids]
    res = B.traced(cmd, lambda: wrk_run(url, 2, load_cpus, []), 0.5, 30)
    if res is None:
        return None
    shares = {}
    rows, _ = R.perf_report(outf, "--children", "--sort", "sym")
    for pct, sym in rows:
        m = re.match(r"__(?:x64|ia32)_sys_(\w+)$", sym)
        if m:
            shares[m.group(1)] = shares.get(m.group(1), 0.0) + pct
    rows, _ = R.perf_report(outf, "--no-children", "--sort", "dso")
    shares["(user)"] = sum(p for p, dso in rows
                           if "kernel" not in dso and not dso.startswith("["))
    return shares


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--cap", type=float, default=0.15)
    ap.add_argument("--baseline", default=os.environ.get("BASELINE"))
    ap.add_argument("--only", default=DEFAULT,
                    help="contenders (default %s; 'every' for all)"
                    % DEFAULT)
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--proxy-cpus", default="1")
    ap.add_argument("--load-cpus", default="0")
    ap.add_argument("--env", action="append", default=[],
                    help="NAME:VAR=VALUE, an environment variable for "
                    "contender NAME only (experiments)")
    args = ap.parse_args()
    svcproxy = os.environ.get("SVCPROXY") or os.path.join(
        TOP, "build", "src", "svcproxy")
    only = [c[0] for c in CONTENDERS] if args.only == "every" else \
        args.only.split(",")
    known = {c[0] for c in CONTENDERS}
    for n in only:
        if n not in known:
            R.die("unknown contender %s" % n)
    if any(c[1] == "base" and c[0] in only for c in CONTENDERS) and \
            not args.baseline:
        R.die("base needs --baseline PATH")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.makedirs(OUT, exist_ok=True)
    user = "user root;\n" if os.getuid() == 0 else ""
    be = R.Proc("backend-nginx", ["nginx", "-e",
                                  os.path.join(OUT, "backend.err"), "-c",
                                  R.backend_conf(user, pp=True), "-g",
                                  "daemon off;"],
                args.load_cpus)
    cons, cmds = [], ["taskset -c %s %s" % (args.load_cpus, R.sh(be.cmd))]
    t0 = time.monotonic()
    try:
        for a in R.BACKENDS:
            if not R.wait_port(a, PP_PORT, 5, be):
                R.die("backend nginx did not start")
        for i, (n, kind, addr, feats) in enumerate(CONTENDERS):
            if n not in only:
                continue
            if kind == "haproxy":
                cmd = ["haproxy", "-db", "-f", haproxy_conf(n, addr, feats)]
            else:
                binary = args.baseline if kind == "base" else svcproxy
                cmd = [binary, "run", "-c",
                       svcproxy_conf(i, n, addr, feats), "--workers", "1"]
            cmds.append("taskset -c %s %s" % (args.proxy_cpus, R.sh(cmd)))
            saved = dict(os.environ)
            for e in args.env:
                who, _, kv = e.partition(":")
                if who == n:
                    k, _, v = kv.partition("=")
                    os.environ[k] = v
                    cmds[-1] = "%s=%s %s" % (k, v, cmds[-1])
            c = {"name": n, "url": "http://%s:%d/small" % (addr, PORT),
                 "runs": []}
            try:
                c["proc"] = B.Served(R, n, cmd, args.proxy_cpus,
                                     [(addr, PORT)], timeout=30,
                                     cap=args.cap, group="conncost-" + n)
            finally:
                os.environ.clear()
                os.environ.update(saved)
            cons.append(c)
        time.sleep(2.0)	# health checks up, first snapshot settled
        for rnd in range(args.rounds):
            k = rnd % len(cons)
            order = cons[k:] + cons[:k]
            R.log("round %d/%d: %s" % (rnd + 1, args.rounds,
                                       " ".join(c["name"] for c in order)))
            for c in order:
                res = wrk_run(c["url"], args.duration, args.load_cpus,
                              c["proc"].pids(), be.pids())
                if res is None:
                    R.die("%s: wrk failed" % c["name"])
                c["runs"].append(res)
        if args.strace:
            for c in cons:
                c["strace"] = strace_run(c, c["url"], args.load_cpus)
        if args.perf:
            for c in cons:
                c["perf"] = perf_run(c, c["url"], args.load_cpus)
    finally:
        for c in cons:
            c["proc"].stop()
        be.stop()
    report(args, cons, cmds, time.monotonic() - t0)


def report(args, cons, cmds, took):
    by = {c["name"]: c for c in cons}
    P = print
    P("conn_levers: %d round(s) of %d s, cap %.2f CPU, %.0f s, load "
      "average %.2f at the end" % (args.rounds, args.duration, args.cap,
                                   took, os.getloadavg()[0]))
    P("")
    P("| contender | conn/s | CPU µs/conn | user % | vs off (µs) | "
      "vs haproxy (µs) | vs haproxy (conn/s) | proxy CPU % | load % | "
      "backend µs/conn | errors |")
    P("|---|---|---|---|---|---|---|---|---|---|---|")

    def ratios(a, b, key):
        return [x[key] / y[key] for x, y in zip(a["runs"], b["runs"])
                if y[key]]
    for c in cons:
        rs = c["runs"]
        ut = sum(r["ut"] for r in rs)
        st = sum(r["st"] for r in rs)
        vo = ratios(c, by["off"], "us") if "off" in by and \
            c["name"] != "off" else []
        vh = ratios(c, by["haproxy"], "us") if "haproxy" in by and \
            c["name"] != "haproxy" else []
        vhc = ratios(c, by["haproxy"], "rps") if "haproxy" in by and \
            c["name"] != "haproxy" else []
        P("| %s | %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %d |" % (
            c["name"], cell([r["rps"] for r in rs], "%.0f"),
            cell([r["us"] for r in rs], "%.1f"),
            100.0 * ut / (ut + st) if ut + st else 0,
            cell(vo, "%.3f"), cell(vh, "%.3f"), cell(vhc, "%.3f"),
            cell([r["proxy_pct"] for r in rs], "%.0f"),
            cell([r["load_pct"] or 0 for r in rs], "%.0f"),
            cell([r["be_us"] for r in rs], "%.1f"),
            sum(r["errs"] for r in rs)))
    if any(c.get("strace") for c in cons):
        keys = set()
        for c in cons:
            if c.get("strace"):
                keys |= {k for k, v in c["strace"][0].items() if v >= 0.01}
        keys = sorted(keys, key=lambda k: -max(
            c["strace"][0].get(k, 0) for c in cons if c.get("strace")))
        P("")
        P("Syscalls per connection (strace -f -c, 2 s run, uncapped "
          "timing aside); failed: calls that returned an error")
        P("")
        P("| contender | " + " | ".join(keys) + " | total | failed |")
        P("|---|" + "---|" * (len(keys) + 2))
        for c in cons:
            if not c.get("strace"):
                continue
            calls, errs = c["strace"]
            P("| %s | %s | %.2f | %s |" % (
                c["name"], " | ".join("%.2f" % calls.get(k, 0)
                                      for k in keys),
                sum(calls.values()),
                ", ".join("%s %.2f" % (k, v) for k, v in sorted(
                    errs.items())) or "-"))
    if any(c.get("perf") for c in cons):
        keys = set()
        for c in cons:
            if c.get("perf"):
                keys |= {k for k, v in c["perf"].items() if v >= 0.5}
        keys = sorted(keys, key=lambda k: -max(
            c["perf"].get(k, 0) for c in cons if c.get("perf")))
        P("")
        P("perf record -g (cpu-clock), % of the proxy's samples: user "
          "space (self), and inclusive under each syscall")
        P("")
        P("| contender | " + " | ".join(keys) + " |")
        P("|---|" + "---|" * len(keys))
        for c in cons:
            if c.get("perf"):
                P("| %s | %s |" % (c["name"], " | ".join(
                    "%.1f" % c["perf"].get(k, 0) for k in keys)))
    P("")
    P("```")
    for l in cmds:
        P(l)
    P("wrk -t1 -c32 -d%ds --timeout 5s -H 'Connection: close' "
      "http://ADDR:%d/small   # taskset -c %s" % (args.duration, PORT,
                                                   args.load_cpus))
    P("```")


if __name__ == "__main__":
    main()
