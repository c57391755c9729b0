#!/usr/bin/env python3
"""bench/proxyproto.py: what the PROXY protocol header costs per connection.

  bench/proxyproto.py [--quick] [--rounds N] [--duration S]
                      [--proxy-cpus LIST] [--load-cpus LIST] [--no-results]

bench/run's conn/s figure (wrk -t1 -c32 -H 'Connection: close', a new
connection per request, to the same 4 nginx backends on
127.0.0.21-24) through four contenders, each started fresh every round
in an order rotated each round (interleaved: a slow moment of the
machine hits all of them):

  svcproxy          no header
  svcproxy-pp2      svcproxy.io/proxy-protocol: v2
  haproxy           no header
  haproxy-pp2       server ... send-proxy-v2

The backends listen twice: port 18080 plain, 18081 with nginx's
`proxy_protocol` (so a header that is wrong would be a 400, counted as
an error by wrk).  Each proxy runs one worker / thread pinned to
--proxy-cpus (default CPU 1), wrk and nginx to --load-cpus (default 0).
Reported: conn/s and the proxy's CPU per connection (utime + stime of
its processes over the run), medians with min-max over rounds, and the
ratio of each header contender to its own no-header run.  Aim (issue
15): within 3%.

It uses bench/run's helpers (bench/run_module.py) rather than being a
bench/run option: a contender needs its own backend port, and bench/run
measures every phase (iperf, idle memory, profiles) of every contender.

Writes the "PROXY protocol" section of bench/RESULTS.md.  Loopback
only; not run by `make check`.  Needs nginx, haproxy and wrk
(.ci/deps --bench).
"""

import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out", "proxyproto")

sys.path.insert(0, HERE)
from run_module import load_run  # noqa: E402
import benchlib as B  # noqa: E402
from benchlib import cell, ratios  # noqa: E402

R = load_run()
R.OUT = OUT
R.BACKENDS = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"]
PORT = R.HTTP_PORT		# 18080: plain
PP_PORT = PORT + 1		# 18081: proxy_protocol
CIDR = "127.93.0.0/24"
# name: (kind, the address it listens on, header)
CONTENDERS = [
    ("svcproxy", "svcproxy", "127.93.0.10", None),
    ("svcproxy-pp2", "svcproxy", "127.93.0.11", "v2"),
    ("haproxy", "haproxy", "127.93.0.20", None),
    ("haproxy-pp2", "haproxy", "127.93.0.21", "v2"),
]


def svcproxy_conf(i, name, addr, pp):
    ann = {"svcproxy.io/proxy-protocol": pp} if pp else None
    return R.write(os.path.join(OUT, name + ".yaml"), B.svcproxy_yaml(
        "bench/proxyproto.py", CIDR, "127.0.0.1:%d" % (19290 + i), addr,
        PORT, PP_PORT if pp else PORT, B.pods_yaml(R.BACKENDS, PORT),
        annotations=ann))


def haproxy_conf(name, addr, pp):
    return B.haproxy_cfg(R, "bench/proxyproto.py", name, addr, PORT, [
        "%s:%d%s" % (a, PP_PORT if pp else PORT,
                     " send-proxy-v2" if pp else "") for a in R.BACKENDS])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--proxy-cpus", default="1")
    ap.add_argument("--load-cpus", default="0")
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration = 3, 3
    args.threads = 1		# bench/run's helpers read it
    for tool in ("nginx", "haproxy", "wrk"):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL
                          ).returncode != 0:
            R.die("%s is not installed (.ci/deps --bench)" % tool)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.makedirs(OUT, exist_ok=True)
    svcproxy, why = R.find_svcproxy(args)
    if not svcproxy:
        R.die("no svcproxy: %s" % why)
    user = "user root;\n" if os.getuid() == 0 else ""
    for a in R.BACKENDS:
        for p in (PORT, PP_PORT):
            if not R.port_free(a, p):
                R.die("%s:%d is in use" % (a, p))
    R.PP_PORT = PP_PORT
    bconf = R.backend_conf(user, pp=True)
    be = R.Proc("backend-nginx", ["nginx", "-e",
                                  os.path.join(OUT, "backend.err"), "-c",
                                  bconf, "-g", "daemon off;"],
                args.load_cpus)
    cmds = ["taskset -c %s %s" % (args.load_cpus, R.sh(be.cmd))]
    procs = {}
    for i, (n, kind, addr, pp) in enumerate(CONTENDERS):
        if kind == "svcproxy":
            procs[n] = [svcproxy, "run", "-c",
                        svcproxy_conf(i, n, addr, pp), "--workers", "1"]
        else:
            procs[n] = ["haproxy", "-db", "-f", haproxy_conf(n, addr, pp)]
        cmds.append("taskset -c %s %s" % (args.proxy_cpus, R.sh(procs[n])))
    names = [c[0] for c in CONTENDERS]
    addr = {c[0]: c[2] for c in CONTENDERS}
    conn = {n: [] for n in names}
    cpu = {n: [] for n in names}
    errs = {n: 0 for n in names}
    wrk_cmd = None
    t0 = time.monotonic()
    try:
        for a in R.BACKENDS:
            if not R.wait_port(a, PP_PORT, 5, be):
                R.die("backend nginx did not start")
        for rnd in range(args.rounds):
            k = rnd % len(names)
            order = names[k:] + names[:k]
            R.log("round %d/%d: %s" % (rnd + 1, args.rounds, " ".join(order)))
            for n in order:
                rate, us, e, wrk_cmd = B.conn_rate(R, args, n, procs[n],
                                                   addr[n], PORT)
                errs[n] += e
                conn[n].append(rate)
                cpu[n].append(us)
    finally:
        be.stop()
    took = time.monotonic() - t0

    lines = ["| contender | conn/s | vs no header | CPU µs/conn | "
             "vs no header | errors |", "|---|---|---|---|---|---|"]
    for n in names:
        base = n[:-4] if n.endswith("-pp2") else n
        rc, rp = ratios(conn[n], conn[base]), ratios(cpu[n], cpu[base])
        lines.append("| %s | %s | %s | %s | %s | %d |" % (
            n, cell(conn[n], "%.0f"),
            cell(rc, "%.3fx") if n != base else "-",
            cell(cpu[n], "%.1f"),
            cell(rp, "%.3fx") if n != base else "-", errs[n]))
    text = """Written by `bench/proxyproto.py%s` on %s, %d rounds of %d s,
%.0f s in all (load average %s at the end).  bench/run's conn/s
(a new connection per request) through svcproxy and HAProxy, each with
and without a PROXY protocol v2 header to the backends (nginx with
`listen ... proxy_protocol`; a wrong header would be a 400, counted as
an error).  One worker / thread pinned to CPU %s, wrk and the nginx
backend on CPU %s; medians (min-max) over rounds, in an order rotated
each round; "vs no header" is the ratio to the same proxy's run without
the header in the same round.  conn/s is bounded by wrk's CPU here: the
proxy's CPU per connection (utime+stime over the run, divided by the
connections) shows the header's cost.  Aim (issue 15): within 3%%.

%s

Commands:

```
%s
%s
```
""" % (" --quick" if args.quick else "", time.strftime("%Y-%m-%d %H:%M UTC",
                                                      time.gmtime()),
       args.rounds, args.duration, took,
       open("/proc/loadavg").read().split()[0], args.proxy_cpus,
       args.load_cpus, "\n".join(lines), "\n".join(cmds),
       R.sh(wrk_cmd) if wrk_cmd else "")
    print(text)
    if not args.no_results:
        B.write_results("PROXY protocol", text)


if __name__ == "__main__":
    main()
