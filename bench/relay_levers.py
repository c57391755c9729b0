#!/usr/bin/env python3
"""bench/relay_levers.py: the TCP relay's byte-moving costs, svcproxy
builds against each other and against HAProxy with splice, each proxy
capped to the same fraction of one CPU (issue 17's proxy-bound layout,
in short runs).

  bench/relay_levers.py [--rounds N] [--duration S] [--cap F]
                        [--figures iperf,pcalls,calls,conn] [--no-haproxy]
                        [--trace NAME | --profile NAME]
                        NAME=PATH[:VAR=VALUE,...] ...

Each NAME=PATH is an svcproxy binary (e.g. new=build/src/svcproxy
base=/tmp/base/src/svcproxy), optionally with environment variables
for it: NAME=PATH:VAR=VALUE,VAR=VALUE.  Contenders: haproxy-splice
(mode tcp, option splice-request/splice-response, bench/run's
configuration) and
the svcproxy builds, each pinned to CPU 1 (taskset) and capped with
bench/cpucap.py to --cap (default 0.15) of one CPU, in a cgroup named
bulk-<name>.  The load (iperf3 client and server, wrk, the nginx
backend) runs on CPU 0.  Every round runs each figure for every
contender before the next figure, in an order rotated each round, and
the report gives medians over rounds with min-max:

  iperf   iperf3 -P1 -t S (default 3) through the proxy: Gbit/s, and
          the proxy's CPU (utime+stime from /proc/PID/stat) per GB
  pcalls  another iperf3 -P1 -t S run, the proxy's system calls counted
          by the kernel's syscall tracepoints (`perf stat -e
          syscalls:sys_enter_splice ...`): splice, epoll_wait and all
          calls per GB, at the proxy's own pace (p:Gbit/s says what it
          ran at)
  calls   the same counted by `strace -f -c` during a 2 s run, as
          bench/run does; strace slows the proxy down so much that
          every read finds a full socket: fewer calls per GB than
          without it
  conn    `strace -f -c` during a 2 s wrk -t1 -c32 run with
          `Connection: close` against the nginx backend: recvfrom,
          shutdown, epoll_wait and all calls per connection

--trace NAME: instead, record NAME's splice, epoll_wait, recvfrom,
sendto and shutdown calls with their results (perf record on the
syscall tracepoints) during one 1 s iperf3 -P1 and write them in order
to bench/out/relay_levers/trace-NAME.txt, to read by eye what each
wake-up did.  --profile NAME: perf record -g of NAME during one iperf3
run, and the report's top.

Addresses are its own (127.0.7.x, 127.1.0.170+, ports 18780 and
15781) so that it does not collide with bench/run.  Needs root (the
cgroup), haproxy, nginx (stream module not needed), wrk, iperf3,
strace, perf.  Output: bench/out/relay_levers/.  Not run by `make check`.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

import benchlib as B
from run_module import load_run

R = load_run()
HERE = os.path.dirname(os.path.abspath(__file__))
R.OUT = OUT = os.path.join(HERE, "out", "relay_levers")
R.BACKENDS = ["127.0.7.21", "127.0.7.22"]
R.HTTP_PORT = 18780
R.IPERF_ADDR = "127.0.7.31"
R.IPERF_PORT = 15781
LOAD_CPUS = "0"
PROXY_CPUS = "1"


class Proxy:
    """One contender: started pinned, capped, stopped at the end."""

    def __init__(self, name, i, binary, cap, user, env=None):
        self.name = name
        if binary is None:
            self.http = self.iperf = "127.0.7.41"
            cfg = R.haproxy_conf(name, self.http, 1, True)
            self.cmd = ["haproxy", "-db", "-f", cfg]
        else:
            self.http = "127.1.0.%d" % (170 + 2 * i)
            self.iperf = "127.1.0.%d" % (171 + 2 * i)
            R.ADDRS[name] = (self.http, self.iperf)
            R.ADMINS[name] = "127.0.7.1:%d" % (19781 + i)
            cfg = R.svcproxy_conf(name)
            self.cmd = [binary, "run", "-c", cfg, "--workers", "1"]
        if env:
            self.cmd = ["env"] + ["%s=%s" % kv for kv in env.items()] + \
                self.cmd
        self.proc = B.Served(R, name, self.cmd, PROXY_CPUS,
                             [(self.http, R.HTTP_PORT),
                              (self.iperf, R.IPERF_PORT)],
                             cap=cap, group="bulk-" + name)

    def stop(self):
        self.proc.stop()


def iperf(p, seconds):
    """iperf3 -P1 through p: (Gbit/s, bytes, proxy CPU s) or None."""
    cmd = ["iperf3", "-c", p.iperf, "-p", str(R.IPERF_PORT), "-t",
           str(seconds), "-P", "1", "-J", "--connect-timeout", "3000"]
    pids = p.proc.pids()
    t0 = R.cpu_ticks(pids)
    out = R.run(cmd, seconds + 30, LOAD_CPUS)
    t1 = R.cpu_ticks(pids)
    if out is None:
        return None
    try:
        end = json.loads(out)["end"]["sum_received"]
    except (ValueError, KeyError):
        return None
    return (end["bits_per_second"] / 1e9, end["bytes"],
            (t1 - t0) / os.sysconf("SC_CLK_TCK"))


def wrk_close(p, seconds):
    """Connections completed by wrk Connection: close through p."""
    out = R.run(["wrk", "-t1", "-c32", "-d%ds" % seconds, "--timeout", "5s",
                 "-H", "Connection: close",
                 "http://%s:%d/small" % (p.http, R.HTTP_PORT)],
                seconds + 30, LOAD_CPUS)
    m = re.search(r"(\d+) requests in", out or "")
    return int(m.group(1)) if m else None


def straced(p, tag, work):
    """{syscall: calls} of p while work() runs, and work()'s result."""
    calls, _, res = B.strace_c(
        os.path.join(OUT, "strace-%s-%s.txt" % (p.name, tag)),
        p.proc.pids(), work)
    return calls, res


def fig_iperf(p, args):
    r = iperf(p, args.duration)
    if r is None:
        return {}
    gbit, nbytes, cpu = r
    return {"Gbit/s": gbit, "CPU s/GB": cpu / (nbytes / 1e9)}


def fig_calls(p, args):
    calls, r = straced(p, "iperf", lambda: iperf(p, 2))
    if r is None or not r[1]:
        return {}
    gb = r[1] / 1e9
    return {"splice/GB": calls.get("splice", 0) / gb,
            "epoll_wait/GB": calls.get("epoll_wait", 0) / gb,
            "calls/GB": sum(calls.values()) / gb}


def fig_conn(p, args):
    calls, n = straced(p, "conn", lambda: wrk_close(p, 2))
    if not n:
        return {}
    return {"recvfrom/conn": calls.get("recvfrom", 0) / n,
            "shutdown/conn": calls.get("shutdown", 0) / n,
            "epoll_wait/conn": calls.get("epoll_wait", 0) / n,
            "calls/conn": sum(calls.values()) / n}


PERF_CALLS = ("splice", "epoll_wait", "recvfrom", "sendto", "shutdown")


def perf_counted(p, work):
    """{syscall: calls} of p while work() runs, counted by the kernel's
    syscall tracepoints (perf stat): unlike strace, the proxy runs at
    its own pace."""
    outf = os.path.join(OUT, "perf-stat-%s.txt" % p.name)
    cmd = ["perf", "stat", "-x", ",", "-o", outf, "-p",
           ",".join(str(x) for x in p.proc.pids())]
    for c in PERF_CALLS:
        cmd += ["-e", "syscalls:sys_enter_" + c]
    cmd += ["-e", "raw_syscalls:sys_enter"]
    res = B.traced(cmd, work, 0.5)
    calls = {}
    with open(outf) as f:
        for l in f:
            v = l.split(",")
            if len(v) > 2 and v[0].isdigit():
                calls[v[2].split(":")[-1].replace("sys_enter_", "")] = \
                    int(v[0])
    return calls, res


def fig_pcalls(p, args):
    calls, r = perf_counted(p, lambda: iperf(p, args.duration))
    if r is None or not r[1]:
        return {}
    gb = r[1] / 1e9
    return {"p:Gbit/s": r[0], "p:splice/GB": calls.get("splice", 0) / gb,
            "p:epoll_wait/GB": calls.get("epoll_wait", 0) / gb,
            "p:calls/GB": calls.get("sys_enter", 0) / gb}


FIGURES = {"iperf": fig_iperf, "calls": fig_calls, "conn": fig_conn,
           "pcalls": fig_pcalls}


def trace(p):
    """One 1 s iperf3 with p's splice and epoll_wait calls recorded by
    their tracepoints (perf record; strace would slow p down and make
    every read a full one): the sequence, by eye, in trace-NAME.txt."""
    data = os.path.join(OUT, "trace-%s.data" % p.name)
    outf = os.path.join(OUT, "trace-%s.txt" % p.name)
    cmd = ["perf", "record", "-q", "-o", data, "-p",
           ",".join(str(x) for x in p.proc.pids())]
    for c in ("splice", "epoll_wait", "recvfrom", "sendto", "shutdown"):
        cmd += ["-e", "syscalls:sys_enter_" + c, "-e",
                "syscalls:sys_exit_" + c]
    print(B.traced(cmd, lambda: iperf(p, 1), 0.5, 30))
    with open(outf, "w") as f:
        subprocess.run(["perf", "script", "-i", data, "-F",
                        "time,event,trace"], stdout=f,
                       stderr=subprocess.DEVNULL)
    print("trace in", outf)


def profile(p, args):
    """perf record -g of p during one iperf3 -P1 run; the report's top."""
    outf = os.path.join(OUT, "perf-%s.data" % p.name)
    cmd = ["perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", "999",
           "-o", outf, "-p", ",".join(str(x) for x in p.proc.pids())]
    r = B.traced(cmd, lambda: iperf(p, args.duration), 0.5, 30)
    print(p.name, r)
    print(subprocess.run(["perf", "report", "-i", outf, "--no-children",
                          "--stdio", "-g", "none", "--percent-limit", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--cap", type=float, default=0.15)
    ap.add_argument("--figures", default="iperf,pcalls,conn")
    ap.add_argument("--no-haproxy", action="store_true")
    ap.add_argument("--trace", metavar="NAME")
    ap.add_argument("--profile", metavar="NAME")
    ap.add_argument("builds", nargs="*", metavar="NAME=PATH")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    user = "user root;\n" if os.getuid() == 0 else ""
    specs = [] if args.no_haproxy else [("haproxy-splice", None, None)]
    for b in args.builds:
        n, _, path = b.partition("=")
        path, _, envs = path.partition(":")
        if not path or not os.access(path, os.X_OK):
            ap.error("%s: NAME=PATH[:VAR=VALUE,...] to an svcproxy binary"
                     % b)
        env = dict(e.split("=", 1) for e in envs.split(",") if e)
        specs.append((n, os.path.abspath(path), env))
    figs = args.figures.split(",")
    procs = []
    backend = R.Proc("backend-nginx", ["nginx", "-e",
                                       os.path.join(OUT, "backend.err"), "-c",
                                       R.backend_conf(user), "-g",
                                       "daemon off;"], LOAD_CPUS)
    iperfd = R.Proc("iperf3-server", ["iperf3", "-s", "-B", R.IPERF_ADDR,
                                      "-p", str(R.IPERF_PORT)], LOAD_CPUS)
    try:
        for a in R.BACKENDS:
            if not R.wait_port(a, R.HTTP_PORT, 10, backend):
                R.die("backend nginx did not start")
        if not R.wait_port(R.IPERF_ADDR, R.IPERF_PORT, 10, iperfd):
            R.die("iperf3 server did not start")
        for i, (n, path, env) in enumerate(specs):
            procs.append(Proxy(n, i, path, args.cap, user, env))
        if args.trace:
            trace(next(p for p in procs if p.name == args.trace))
            return
        if args.profile:
            profile(next(p for p in procs if p.name == args.profile), args)
            return
        data = {p.name: {} for p in procs}
        for rnd in range(args.rounds):
            for f in figs:
                order = procs[rnd % len(procs):] + procs[:rnd % len(procs)]
                for p in order:
                    res = FIGURES[f](p, args)
                    print("round %d %s %s %s" % (rnd, f, p.name, " ".join(
                        "%s=%.3g" % kv for kv in res.items())),
                        file=sys.stderr, flush=True)
                    for k, v in res.items():
                        data[p.name].setdefault(k, []).append(v)
        report(procs, data, args)
    finally:
        for p in procs:
            p.stop()
        iperfd.stop()
        backend.stop()


def report(procs, data, args):
    keys = []
    for d in data.values():
        keys += [k for k in d if k not in keys]
    print("\nMedians of %d interleaved round(s), (min-max); each proxy on "
          "CPU %s capped to %.2f CPU:\n" % (args.rounds, PROXY_CPUS, args.cap))
    print("| | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for p in procs:
        cells = []
        for k in keys:
            v = data[p.name].get(k)
            if not v:
                cells.append("-")
                continue
            cells.append("%.3g (%.3g-%.3g)" % (statistics.median(v), min(v),
                                                max(v)))
        print("| %s | %s |" % (p.name, " | ".join(cells)))


if __name__ == "__main__":
    main()
