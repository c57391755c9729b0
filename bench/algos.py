#!/usr/bin/env python3
"""bench/algos.py: what each balancing algorithm costs per connection.

  bench/algos.py [--quick] [--rounds N] [--duration S] [--proxy-cpus LIST]
                 [--load-cpus LIST] [--no-results]

One svcproxy per algorithm, each with the same Service (4 Pods, one
nginx answering on 127.0.0.21-24:18080, as in bench/run) and its own
ClusterIP, all started fresh every round and measured in an order
rotated each round (interleaved: a slow moment of the machine hits all
of them):

  round-robin        the default (smooth weighted round robin)
  least-connections  svcproxy.io/lb-algorithm: least-connections
  random-two         svcproxy.io/lb-algorithm: random-two
  maglev             svcproxy.io/lb-algorithm: maglev (key client-ip)
  rr+affinity        round-robin with sessionAffinity: ClientIP (every
                     connection after the first is an affinity hit)

Figure: bench/run's conn/s (wrk -t1 -c32 -H 'Connection: close', a new
connection per request), and the proxy's CPU per connection (utime +
stime of the process over the run, /proc/PID/stat).  Each svcproxy
runs `--workers 1` pinned to --proxy-cpus (default CPU 1); wrk and
nginx to --load-cpus (default 0).  wrk saturates its CPU first on this
machine, so conn/s mostly measures the client: CPU per connection is
the figure that compares the algorithms.  Reported: medians with
min-max over rounds, and each as a ratio to round-robin.

Writes the "Balancing algorithms" section of bench/RESULTS.md.
Loopback only; not run by `make check`.  Needs nginx and wrk (.ci/deps
--bench).
"""

import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "algos")

sys.path.insert(0, HERE)
from run_module import load_run  # noqa: E402
import benchlib as B  # noqa: E402
from benchlib import cell, med  # noqa: E402

R = load_run()
R.OUT = OUT
R.BACKENDS = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"]
PORT = R.HTTP_PORT

# name: (annotations, sessionAffinity), each on its own ClusterIP.
CONTENDERS = [
    ("round-robin", {}, None),
    ("least-connections", {"svcproxy.io/lb-algorithm": "least-connections"},
     None),
    ("random-two", {"svcproxy.io/lb-algorithm": "random-two"}, None),
    ("maglev", {"svcproxy.io/lb-algorithm": "maglev"}, None),
    ("rr+affinity", {}, "ClientIP"),
]
CIDR = "127.92.0.0/24"


def svc_ip(i):
    return "127.92.0.%d" % (10 + i)


def conf(i, name, ann, affinity):
    """The YAML of contender i: ProxyConfig, Service, Pods."""
    return R.write(os.path.join(OUT, "%s.yaml" % name.replace("+", "-")),
                   B.svcproxy_yaml("bench/algos.py", CIDR,
                                   "127.0.0.1:%d" % (19190 + i), svc_ip(i),
                                   PORT, "http",
                                   B.pods_yaml(R.BACKENDS, PORT),
                                   annotations=ann, affinity=affinity))


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
        args.rounds, args.duration = 2, 2
    # bench/run's helpers read these.
    args.threads = 1
    for tool in ("nginx", "wrk"):
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
        if not R.port_free(a, PORT):
            R.die("%s:%d is in use" % (a, PORT))
    backend = R.Proc("backend-nginx", ["nginx", "-e",
                                       os.path.join(OUT, "backend.err"),
                                       "-c", R.backend_conf(user), "-g",
                                       "daemon off;"], args.load_cpus)
    cmds = ["taskset -c %s %s" % (args.load_cpus, R.sh(backend.cmd))]
    confs = [conf(i, n, a, f) for i, (n, a, f) in enumerate(CONTENDERS)]
    names = [c[0] for c in CONTENDERS]
    for i, n in enumerate(names):
        cmds.append("taskset -c %s %s" % (args.proxy_cpus, R.sh(
            [svcproxy, "run", "-c", confs[i], "--workers", "1"])))
    conn = {n: [] for n in names}
    cpu = {n: [] for n in names}
    errs = {n: 0 for n in names}
    wrk_cmd = None
    t0 = time.monotonic()
    try:
        for a in R.BACKENDS:
            if not R.wait_port(a, PORT, 5, backend):
                R.die("backend nginx did not start")
        for rnd in range(args.rounds):
            k = rnd % len(names)
            order = names[k:] + names[:k]
            R.log("round %d/%d: %s" % (rnd + 1, args.rounds, " ".join(order)))
            for n in order:
                i = names.index(n)
                rate, us, e, wrk_cmd = B.conn_rate(
                    R, args, n, [svcproxy, "run", "-c", confs[i], "--workers",
                                 "1"], svc_ip(i), PORT)
                errs[n] += e
                conn[n].append(rate)
                cpu[n].append(us)
    finally:
        backend.stop()
    took = time.monotonic() - t0

    rr_conn, rr_cpu = med(conn["round-robin"]), med(cpu["round-robin"])
    lines = ["| algorithm | conn/s | vs round-robin | CPU µs/conn | "
             "vs round-robin | errors |",
             "|---|---|---|---|---|---|"]
    for n in names:
        lines.append("| %s | %s | %.3fx | %s | %.3fx | %d |" % (
            n, cell(conn[n], "%.0f"), med(conn[n]) / rr_conn,
            cell(cpu[n], "%.1f"), med(cpu[n]) / rr_cpu, errs[n]))
    text = """Written by `bench/algos.py%s` on %s, %d rounds of %d s,
%.0f s in all (load average %s at the end).  One svcproxy per algorithm
(`--workers 1`, pinned to CPU %s), the same 4 Pods behind one Service,
wrk and the nginx backend on CPU %s; medians (min-max) over rounds, in
an order rotated each round.  conn/s is bounded by wrk's CPU here: the
CPU per connection (the proxy's utime+stime over the run, divided by
the connections) is what compares the algorithms.  Aim: within 3%% of
round-robin.

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
        B.write_results("Balancing algorithms", text)


if __name__ == "__main__":
    main()
