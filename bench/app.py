#!/usr/bin/env python3
"""bench/app.py: a real application protocol (Redis) through svcproxy,
HAProxy, nginx stream and a direct connection, measured by its own
client, redis-benchmark.

  bench/app.py [--quick] [--rounds N] [--seconds S] [--cap FRACTION]
               [--layouts uncapped,capped] [--workloads LIST]
               [--only LIST] [--threads N] [--proxy-cpus LIST]
               [--load-cpus LIST] [--baseline PATH] [--no-results]

Backends: two redis-server on 127.0.0.61 and 127.0.0.62, the same free
port P (from 16379 up), `--save '' --appendonly no` (nothing touches
the disk).  Contenders, each on its own loopback address and port P:

  direct           no proxy: redis-benchmark to the first redis-server
  haproxy          HAProxy, mode tcp, balance roundrobin over the two
  haproxy-splice   the same with option splice-request/splice-response
  nginx            nginx stream, an upstream of the two (round robin)
  svcproxy         `svcproxy run`: a Service without selector whose
                   EndpointSlice lists the two servers
  svcproxy-base    with --baseline PATH: another svcproxy binary on the
                   same configuration (e.g. a build of an older commit)

Workloads (one figure each; redis-benchmark -t get,set -c 50, so a
figure is a SET test then a GET test of n requests each):

  plain            no pipelining: each client waits for every reply
                   (request/response, latency-bound)
  pipelined        -P 16: 16 requests in flight per client
                   (throughput-bound)
  reconnect        -k 0: a new connection for every request (the
                   connection rate, on a real protocol)

n is chosen in the first round from a short calibration run through
HAProxy (or the first contender), so that a figure takes about
--seconds (default 3); the commands in the report carry it.

Layouts, both in every round (their order rotated each round):

  uncapped         each proxy pinned to --proxy-cpus (CPU 1) with the
                   CPU to itself; redis-benchmark and both redis-server
                   on --load-cpus (CPU 0).  The load CPU is the limit.
  capped           the same, and each proxy in a cgroup of its own
                   capped to --cap of one CPU (bench/cpucap.py,
                   "bench-app-<contender>"), so that the proxy is the
                   limit: the load CPU should stay clearly below
                   saturation (LOAD_SATURATED), which the report checks
                   for every figure.  direct has no proxy to cap: it
                   runs at the load CPU's limit in both layouts.

In each layout of each round every proxy starts fresh (and answers a
Redis PING), then every workload runs for every contender before the
next workload, in an order rotated each round.  Per figure: requests/s
(both tests' requests over both tests' time), redis-benchmark's p50
and p99 (the worse of SET and GET), the proxy's CPU % and CPU µs per
request (utime+stime of all its processes, /proc/PID/stat, over the
figure), the load CPUs' busy % (/proc/stat), and in the capped layout
the share of the cgroup's periods that were throttled.  Every figure
also reads both redis-server's INFO stats before and after: a proxy
figure whose commands did not reach both servers (round robin), or
fewer commands than redis-benchmark sent, stops the run.

Results: medians with (min-max) over rounds, round-by-round ratios of
svcproxy to haproxy and to haproxy-splice (and to svcproxy-base), the
commands, the generated configurations and the versions, printed and,
unless --no-results, written to the "Application protocol (Redis)"
section of bench/RESULTS.md.  Working files: bench/out/app/ (logs,
configurations, figures.json with every figure's numbers).  Every
process this script starts, and every cgroup, is gone when it ends,
also on SIGINT or SIGTERM.  Loopback only; not run by `make check`.
Needs root (cgroups), redis-server, redis-tools, haproxy, nginx with
libnginx-mod-stream (.ci/deps --bench).
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out", "app")

sys.path.insert(0, HERE)
from run_module import load_run  # noqa: E402
import benchlib as B  # noqa: E402
from benchlib import cell, ratios  # noqa: E402
import cpucap  # noqa: E402

R = load_run()
R.OUT = OUT

REDIS = ["127.0.0.61", "127.0.0.62"]
FIRST_PORT = 16379
FIRST_ADMIN = 19380
CIDR = "127.95.0.0/24"
CONTENDERS = ["direct", "haproxy", "haproxy-splice", "nginx", "svcproxy",
              "svcproxy-base"]
ADDRS = {
    "direct": REDIS[0],
    "haproxy": "127.0.0.63",
    "haproxy-splice": "127.0.0.64",
    "nginx": "127.0.0.65",
    "svcproxy": "127.95.0.10",
    "svcproxy-base": "127.95.0.11",
}
# What svcproxy is compared with, round by round.
REFS = ["haproxy", "haproxy-splice", "svcproxy-base"]
# name: (what it is, redis-benchmark options beyond -t get,set -c 50,
# calibration n)
WORKLOADS = {
    "plain": ("no pipelining", [], 5000),
    "pipelined": ("-P 16", ["-P", "16"], 50000),
    "reconnect": ("-k 0, a connection per request", ["-k", "0"], 1500),
}
CLIENTS = 50
# Default share of one CPU for each capped proxy.  At 0.2, HAProxy and
# svcproxy (b7afd85) were throttled in 95-100% of the periods of every
# workload (the proxy is the limit) while redis-benchmark and the
# servers used 27-43% of the load CPU; at 0.3, -P 16 was throttled in
# only about a quarter of the periods.
CAP_DEFAULT = 0.2
# Load CPU busy % at or above which a capped figure measures the load,
# not the proxy.
LOAD_SATURATED = 85.0
# A proxy figure must reach both servers with at least this share of
# the commands (round robin over 50 connections: about half each).
MIN_SHARE = 0.2


def log(*a):
    print("bench/app:", *a, file=sys.stderr, flush=True)


def die(msg):
    log(msg)
    sys.exit(1)


def free_port(addrs, first, tries=500):
    """The first port from first up that is free on every address."""
    for p in range(first, first + tries):
        if all(R.port_free(a, p) for a in addrs):
            return p
    die("no free port from %d on %s" % (first, ", ".join(addrs)))


# ---- Redis ----

def redis_call(addr, port, cmd, timeout=5.0):
    """Send one inline command, return the reply's text (simple string
    with its '+', or a bulk string's body), or raise OSError."""
    with socket.create_connection((addr, port), timeout) as s:
        s.settimeout(timeout)
        s.sendall(cmd.encode() + b"\r\n")
        buf = b""
        while b"\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                raise OSError("connection closed")
            buf += d
        head, _, rest = buf.partition(b"\r\n")
        if not head.startswith(b"$"):
            return head.decode()
        n = int(head[1:])
        while len(rest) < n + 2:
            d = s.recv(65536)
            if not d:
                raise OSError("connection closed")
            rest += d
        return rest[:n].decode()


def redis_stats(port):
    """Per server: total_connections_received, total_commands_processed
    (the INFO connection itself counts one of each)."""
    out = []
    for a in REDIS:
        info = redis_call(a, port, "INFO stats")
        v = {}
        for line in info.splitlines():
            k, _, x = line.partition(":")
            if k in ("total_connections_received",
                     "total_commands_processed"):
                v[k] = int(x)
        out.append(v)
    return out


def redis_cmd(addr, port, out):
    return ["redis-server", "--bind", addr, "--port", str(port),
            "--save", "", "--appendonly", "no", "--protected-mode", "no",
            "--daemonize", "no", "--dir", out, "--logfile", "",
            "--maxclients", "10000"]


# ---- configurations ----

def haproxy_conf(name, addr, port, threads, splice):
    return B.haproxy_cfg(R, "bench/app.py", name, addr, port,
                         ["%s:%d" % (a, port) for a in REDIS], threads,
                         splice, front="redis", server="redis")


def nginx_conf(addr, port, threads, user):
    servers = "".join("        server %s:%d;\n" % (a, port) for a in REDIS)
    rp = " reuseport" if threads > 1 else ""
    return R.write(os.path.join(OUT, "nginx.conf"), """\
# Generated by bench/app.py.
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
%sworker_processes %d;
worker_rlimit_nofile 20000;
pid %s/nginx.pid;
error_log %s/nginx.err warn;
events {
    worker_connections 19000;
}
stream {
    proxy_connect_timeout 5s;
    proxy_timeout 120s;
    upstream redis {
%s    }
    server {
        listen %s:%d backlog=4096%s;
        proxy_pass redis;
    }
}
""" % (user, threads, OUT, OUT, servers, addr, port, rp))


def svcproxy_conf(name, addr, port, admin):
    eps = "".join("""\
- addresses: [%s]
  conditions: {ready: true}
""" % a for a in REDIS)
    return R.write(os.path.join(OUT, name + ".yaml"), B.svcproxy_yaml(
        "bench/app.py", CIDR, "127.0.0.1:%d" % admin, addr, port, port,
        """---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: redis-1
  namespace: bench
  labels:
    kubernetes.io/service-name: redis
addressType: IPv4
endpoints:
%sports:
- name: redis
  port: %d
  protocol: TCP
""" % (eps, port), name="redis", selector=None,
        comment="No per-connection log line, as HAProxy and nginx here."))


# ---- contenders ----

class Contender:
    def __init__(self, name, args, port, user, binary=None, admin=None):
        self.name = name
        self.addr = ADDRS[name]
        self.port = port
        self.args = args
        self.admin = admin
        self.served = None
        self.proc = None
        self.cap = None
        self.cmd = None
        self.conf = None
        if name.startswith("haproxy"):
            self.conf = haproxy_conf(name, self.addr, port, args.threads,
                                     name == "haproxy-splice")
            self.cmd = ["haproxy", "-db", "-f", self.conf]
        elif name == "nginx":
            self.conf = nginx_conf(self.addr, port, args.threads, user)
            self.cmd = ["nginx", "-e", os.path.join(OUT, "nginx.err"), "-c",
                        self.conf, "-g", "daemon off;"]
        elif name.startswith("svcproxy"):
            self.conf = svcproxy_conf(name, self.addr, port, admin)
            self.cmd = [binary, "run", "-c", self.conf, "--workers",
                        str(args.threads)]

    def is_proxy(self):
        return self.cmd is not None

    def start(self, cap):
        """Start the proxy (capped to cap of one CPU unless None) and
        check it relays a PING; dies, saying why, when it does not."""
        if not self.is_proxy():
            return
        self.served = B.Served(R, self.name, self.cmd, self.args.proxy_cpus,
                               [(self.addr, self.port)], cap=cap,
                               group="bench-app-" + self.name, die=die)
        self.proc, self.cap = self.served.proc, self.served.cap

    def ping(self):
        try:
            return redis_call(self.addr, self.port, "PING")
        except OSError as e:
            return str(e)

    def stop(self):
        if self.served is not None:
            self.served.stop()
        self.served = self.proc = self.cap = None

    def pids(self):
        return self.proc.pids() if self.proc else []


# ---- figures ----

def bench_cmd(c, wl, n):
    return (["redis-benchmark", "-h", c.addr, "-p", str(c.port), "-t",
             "get,set", "-c", str(CLIENTS), "-n", str(n)] +
            WORKLOADS[wl][1] + ["--csv"])


def parse_csv(out):
    """redis-benchmark --csv: {"SET": {...}, "GET": {...}} with rps and
    latencies in ms."""
    res = {}
    for line in out.splitlines():
        f = [x.strip('"') for x in line.strip().split(",")]
        if len(f) == 8 and f[0] in ("SET", "GET"):
            try:
                v = [float(x) for x in f[1:]]
            except ValueError:
                continue
            res[f[0]] = dict(zip(("rps", "avg", "min", "p50", "p95", "p99",
                                  "max"), v))
    return res if len(res) == 2 else None


def figure(args, c, wl, n):
    """One redis-benchmark run through c: a dict of figures, or dies."""
    cmd = bench_cmd(c, wl, n)
    load = R.cpu_list(args.load_cpus)
    pids = c.pids()
    s0 = redis_stats(c.port)
    th0 = c.cap.stats() if c.cap else None
    # The load's own CPU: redis-benchmark (a waited-for child, so in
    # os.times()'s children times) and both servers; the rest of the
    # load CPU's busy time is anything else running on the machine.
    t0 = (time.monotonic(), R.cpu_ticks(pids), R.cpu_jiffies(load),
          os.times(), R.cpu_ticks(args.server_pids))
    out = R.run(cmd, 60 + 20 * args.seconds, args.load_cpus)
    t1 = (time.monotonic(), R.cpu_ticks(pids), R.cpu_jiffies(load),
          os.times(), R.cpu_ticks(args.server_pids))
    th1 = c.cap.stats() if c.cap else None
    s1 = redis_stats(c.port)
    if out is None:
        die("%s %s: redis-benchmark failed: %s" % (c.name, wl, R.sh(cmd)))
    tests = parse_csv(out)
    if tests is None:
        die("%s %s: no SET and GET lines from redis-benchmark:\n%s" % (
            c.name, wl, out[-1000:]))
    if c.is_proxy() and not c.proc.alive():
        die("%s died: see %s" % (c.name, c.proc.log.name))
    wall = t1[0] - t0[0]
    reqs = 2 * n
    cmds = [b["total_commands_processed"] - a["total_commands_processed"]
            for a, b in zip(s0, s1)]
    conns = [b["total_connections_received"] -
             a["total_connections_received"] for a, b in zip(s0, s1)]
    # The first INFO is counted after its reply: one command in each
    # difference is ours.  redis-benchmark's own CONFIG GET calls count
    # too, so the sum is a little above what it sent.
    cmds = [x - 1 for x in cmds]
    if sum(cmds) < reqs:
        die("%s %s: the servers processed %d commands, redis-benchmark "
            "sent %d" % (c.name, wl, sum(cmds), reqs))
    if c.is_proxy() and min(cmds) < MIN_SHARE * sum(cmds):
        die("%s %s: commands did not reach both servers: %s" % (
            c.name, wl, cmds))
    r = {
        "n": n,
        "rps": reqs / (n / tests["SET"]["rps"] + n / tests["GET"]["rps"]),
        "p50": max(tests["SET"]["p50"], tests["GET"]["p50"]),
        "p99": max(tests["SET"]["p99"], tests["GET"]["p99"]),
        "tests": tests,
        "wall": wall,
        "load_pct": R.busy_pct(t0[2], t1[2]),
        "own_pct": 100.0 * (
            t1[3].children_user + t1[3].children_system -
            t0[3].children_user - t0[3].children_system +
            (t1[4] - t0[4]) / os.sysconf("SC_CLK_TCK")) / wall,
        "cmds": cmds,
        "conns": conns,
    }
    if c.is_proxy():
        sec = (t1[1] - t0[1]) / os.sysconf("SC_CLK_TCK")
        r["cpu_pct"] = 100.0 * sec / wall
        r["cpu_us"] = 1e6 * sec / reqs
    if th0 is not None:
        per = th1["nr_periods"] - th0["nr_periods"]
        r["thr_pct"] = (100.0 * (th1["nr_throttled"] - th0["nr_throttled"])
                        / per if per else 0.0)
    return r, cmd


def calibrate(args, c, wl):
    """n per test so that a figure through c takes about args.seconds."""
    n0 = WORKLOADS[wl][2]
    if args.quick:
        n0 = max(200, n0 // 5)
    r, _ = figure(args, c, wl, n0)
    n = r["rps"] * args.seconds / 2
    # Two significant digits, for readable commands.
    mag = 10 ** max(0, len(str(int(n))) - 2)
    return max(200, int(round(n / mag)) * mag)


def svcproxy_metrics(c):
    """svcproxy's own per-endpoint connection counters (/metrics)."""
    try:
        out = R.run(["curl", "-sS", "--max-time", "5",
                     "http://127.0.0.1:%d/metrics" % c.admin], 10)
    except OSError:
        out = None
    if not out:
        return []
    return [l for l in out.splitlines()
            if l.startswith("svcproxy_endpoint_connections_total")]


# ---- report ----

def report(args, names, layouts, data, ns, cmds, confs, vers, took, checks):
    L = []
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for l in f:
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    L.append("Measured %s by `bench/app.py%s` in %.0f s: %d round(s), about "
             "%d s per figure, %d CPUs (%s); load average (1 min) %s at the "
             "start, %s at the end." % (
                 time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
                 " " + " ".join(args.argv) if args.argv else "", took,
                 args.rounds, args.seconds, os.cpu_count(), cpu,
                 args.load_start, open("/proc/loadavg").read().split()[0]))
    L.append("")
    L.append("Redis through each proxy, measured by redis-benchmark "
             "(`-t get,set -c %d`: a SET test, then a GET test, of n "
             "requests each).  Two redis-server (127.0.0.61 and "
             "127.0.0.62, no persistence) behind each proxy, balanced "
             "round robin; \"direct\" is redis-benchmark to the first "
             "server with no proxy.  Each proxy runs %d thread(s) pinned "
             "to CPU %s; redis-benchmark and both servers run on CPU %s.  "
             "**uncapped**: the proxy has its CPU to itself (the load CPU "
             "is the limit).  **capped**: each proxy is in a cgroup of its "
             "own capped to %.2f of one CPU (10 ms period), so that the "
             "proxy is the limit." % (
                 CLIENTS, args.threads, args.proxy_cpus, args.load_cpus,
                 args.cap))
    L.append("")
    L.append("Per figure, medians with (min-max) over rounds: req/s is "
             "both tests' requests over both tests' time; p50 and p99 are "
             "redis-benchmark's, in ms, the worse of SET and GET; proxy "
             "CPU is utime+stime of all the proxy's processes over the "
             "run (%%: of one CPU; µs/req: per request); load CPU is CPU "
             "%s's busy share (/proc/stat), and client+servers the part of "
             "it redis-benchmark and both redis-server used (utime+stime; "
             "the rest is anything else running); throttled is the share of the "
             "cgroup's 10 ms periods in which the proxy used up its "
             "quota." % args.load_cpus)
    L.append("")
    for lay in layouts:
        for wl in args.workloads:
            L.append("**%s, %s** (`%s`, n = %d):" % (
                lay, wl, WORKLOADS[wl][0], ns[lay][wl]))
            L.append("")
            hdr = ["contender", "req/s", "p50 ms", "p99 ms", "proxy CPU %",
                   "CPU µs/req", "load CPU %", "client+servers %"]
            if lay == "capped":
                hdr.append("throttled %")
            L.append("| " + " | ".join(hdr) + " |")
            L.append("|---" * len(hdr) + "|")
            for n in names:
                d = data[lay][wl][n]
                row = [n, cell(d["rps"], "%.0f"), cell(d["p50"], "%.2f"),
                       cell(d["p99"], "%.2f"), cell(d["cpu_pct"], "%.0f"),
                       cell(d["cpu_us"], "%.1f"), cell(d["load_pct"], "%.0f"),
                       cell(d["own_pct"], "%.0f")]
                if lay == "capped":
                    row.append(cell(d["thr_pct"], "%.0f"))
                L.append("| " + " | ".join(row) + " |")
            L.append("")

    refs = [r for r in REFS if r in names]
    if "svcproxy" in names and refs:
        L.append("svcproxy against each reference, round by round (ratios "
                 "of figures taken in the same round), medians with "
                 "(min-max); req/s above 1 and p99 and CPU µs/req below 1 "
                 "favour svcproxy:")
        L.append("")
        hdr = ["layout", "workload"]
        for r in refs:
            hdr += ["req/s vs %s" % r, "p99 vs %s" % r,
                    "CPU/req vs %s" % r]
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|---" * len(hdr) + "|")
        for lay in layouts:
            for wl in args.workloads:
                s = data[lay][wl]["svcproxy"]
                row = [lay, wl]
                for r in refs:
                    b = data[lay][wl][r]
                    for k in ("rps", "p99", "cpu_us"):
                        row.append(cell(ratios(s[k], b[k]), "%.2f"))
                L.append("| " + " | ".join(row) + " |")
        L.append("")

    if "capped" in layouts:
        def top(key):
            return max([v for wl in args.workloads for n in names
                        if n != "direct"
                        for v in data["capped"][wl][n][key]
                        if v is not None] or [0])
        # Per contender: how many of its capped figures saturated the
        # load CPU, of how many.
        worst, total, bad = [], 0, 0
        for n in names:
            if n == "direct":
                continue
            v = [x for wl in args.workloads
                 for x in data["capped"][wl][n]["load_pct"] if x is not None]
            hot = [x for x in v if x >= LOAD_SATURATED]
            total += len(v)
            bad += len(hot)
            if hot:
                worst.append("%s %d of %d" % (n, len(hot), len(v)))
        if worst:
            L.append("**The load CPU was saturated in %d of %d capped proxy "
                     "figures** (at or above %.0f%% busy: %s): those "
                     "measure the load as much as the proxy.  redis-benchmark "
                     "and the servers themselves used at most %.0f%% of it "
                     "in a capped proxy figure: when that is well below, "
                     "something else on the machine was using the load "
                     "CPU; otherwise a smaller --cap keeps the proxy the "
                     "limit." % (bad, total, LOAD_SATURATED,
                                 "; ".join(worst), top("own_pct")))
        else:
            L.append("Capped layout: the load CPU stayed below saturation "
                     "in every proxy figure (at most %.0f%% busy, of which "
                     "at most %.0f%% redis-benchmark and the servers; "
                     "limit %.0f%%), so the capped proxies were the "
                     "limit; direct, with no proxy, shows the load CPU's "
                     "own limit." % (top("load_pct"), top("own_pct"),
                                     LOAD_SATURATED))
        thr = [v for wl in args.workloads for n in names if n != "direct"
               for v in data["capped"][wl][n]["thr_pct"] if v is not None]
        if thr:
            L.append("")
            L.append("The capped proxies were throttled in %.0f-%.0f%% of "
                     "their cgroup's periods (near 100%%: the cap, not the "
                     "load, set the pace)." % (min(thr), max(thr)))
        L.append("")

    L.append("Traffic check (every figure): redis-server's INFO stats "
             "before and after; every proxy figure reached both servers "
             "with at least %d%% of the commands each and at least the "
             "commands redis-benchmark sent.  Commands / connections "
             "received by 127.0.0.61 and 127.0.0.62 over the whole run:" %
             (100 * MIN_SHARE))
    L.append("")
    L.append("| contender | commands | connections |")
    L.append("|---|---|---|")
    for n in names:
        L.append("| %s | %s | %s |" % (
            n, " / ".join("%d" % x for x in checks[n]["cmds"]),
            " / ".join("%d" % x for x in checks[n]["conns"])))
    L.append("")
    for n in names:
        if checks[n].get("metrics"):
            L.append("%s's own counters at the end of its last figure "
                     "(/metrics): %s." % (n, "; ".join(
                         "`%s`" % m for m in checks[n]["metrics"])))
            L.append("")

    L.append("Versions: " + "; ".join("%s: %s" % kv for kv in vers.items())
             + ".")
    L.append("")
    L.append("Commands (ADDR: the contender's address; redis-benchmark "
             "runs with the n of each layout above):")
    L.append("")
    L.append("```")
    L += cmds
    L.append("```")
    L.append("")
    L.append("Generated configurations (bench/out/app/):")
    L.append("")
    for path in confs:
        L.append("`%s`:" % os.path.relpath(path, os.path.dirname(HERE)))
        L.append("")
        L.append("```")
        with open(path) as f:
            L += [l for l in f.read().splitlines() if l]
        L.append("```")
        L.append("")
    return "\n".join(L).rstrip("\n") + "\n"


# ---- main ----

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 round, about 1 s per figure")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3,
                    help="about how long a figure runs (default 3)")
    ap.add_argument("--cap", type=float, default=CAP_DEFAULT,
                    help="capped layout: each proxy's share of one CPU "
                    "(default %.2f)" % CAP_DEFAULT)
    ap.add_argument("--layouts", default="uncapped,capped")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--only", default="",
                    help="comma-separated contenders (default: all)")
    ap.add_argument("--threads", type=int, default=1,
                    help="proxy threads/workers (default 1)")
    ap.add_argument("--proxy-cpus", default="1")
    ap.add_argument("--load-cpus", default="0")
    ap.add_argument("--baseline", metavar="PATH",
                    help="also run this svcproxy binary (svcproxy-base)")
    ap.add_argument("--no-results", action="store_true",
                    help="print the report, leave RESULTS.md alone")
    args = ap.parse_args()
    args.argv = sys.argv[1:]
    if args.quick:
        args.rounds, args.seconds = 1, 1
    args.layouts = [x for x in args.layouts.split(",") if x]
    args.workloads = [x for x in args.workloads.split(",") if x]
    for x in args.layouts:
        if x not in ("uncapped", "capped"):
            ap.error("--layouts: uncapped, capped")
    for x in args.workloads:
        if x not in WORKLOADS:
            ap.error("--workloads: %s" % ", ".join(WORKLOADS))
    if not 0 < args.cap <= 1:
        ap.error("--cap: a fraction of one CPU, 0 to 1")
    if args.rounds < 1 or args.seconds <= 0:
        ap.error("--rounds and --seconds must be positive")
    return args


def main():
    args = parse_args()
    for tool in ("redis-server", "redis-benchmark", "haproxy", "nginx",
                 "taskset", "curl"):
        if shutil.which(tool) is None:
            die("%s is not installed (.ci/deps --bench)" % tool)
    if not os.path.exists("/usr/lib/nginx/modules/ngx_stream_module.so"):
        die("nginx stream module missing: apt-get install "
            "libnginx-mod-stream")
    if "capped" in args.layouts and cpucap.available() is None:
        die("no cgroup cpu controller for the capped layout "
            "(--layouts uncapped runs without)")
    if "capped" in args.layouts and os.getuid() != 0:
        die("the capped layout needs root (cgroups)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.makedirs(OUT, exist_ok=True)
    user = "user root;\n" if os.getuid() == 0 else ""
    t_start = time.monotonic()
    args.load_start = open("/proc/loadavg").read().split()[0]

    names = [n for n in CONTENDERS if n != "svcproxy-base"]
    svcproxy, why = R.find_svcproxy(args)
    if not svcproxy:
        die("no svcproxy: %s" % why)
    if args.baseline:
        if not os.access(args.baseline, os.X_OK):
            die("--baseline: no executable at %s" % args.baseline)
        names.append("svcproxy-base")
    if args.only:
        want = args.only.split(",")
        for n in want:
            if n not in names:
                die("unknown contender %s (%s)" % (n, ", ".join(names)))
        names = [n for n in names if n in want]

    port = free_port(REDIS + [ADDRS[n] for n in names], FIRST_PORT)
    admins = {}
    a = FIRST_ADMIN
    for n in names:
        if n.startswith("svcproxy"):
            a = free_port(["127.0.0.1"], a)
            admins[n] = a
            a += 1
    contenders = {n: Contender(n, args, port, user,
                               args.baseline if n == "svcproxy-base"
                               else svcproxy, admins.get(n))
                  for n in names}
    cmds = []
    servers = []
    for i, addr in enumerate(REDIS):
        cmd = redis_cmd(addr, port, OUT)
        cmds.append("taskset -c %s %s" % (args.load_cpus, R.sh(cmd)))
    for c in contenders.values():
        if c.is_proxy():
            cmds.append("taskset -c %s %s" % (args.proxy_cpus, R.sh(c.cmd)))
    # svcproxy-base's configuration is svcproxy's at another address.
    confs = [c.conf for c in contenders.values()
             if c.conf and c.name != "svcproxy-base"]

    data = {lay: {wl: {n: {k: [] for k in ("rps", "p50", "p99", "cpu_pct",
                                            "cpu_us", "load_pct", "own_pct",
                                            "thr_pct")}
                       for n in names} for wl in args.workloads}
            for lay in args.layouts}
    raw = []
    checks = {n: {"cmds": [0, 0], "conns": [0, 0]} for n in names}
    ns = {}
    cap_desc = None
    live = []
    try:
        for i, addr in enumerate(REDIS):
            servers.append(R.Proc("redis-%d" % (i + 1),
                                  redis_cmd(addr, port, OUT),
                                  args.load_cpus))
        args.server_pids = [s.p.pid for s in servers]
        for s, addr in zip(servers, REDIS):
            if not R.wait_port(addr, port, 10, s):
                die("redis-server did not come up on %s:%d: see %s" % (
                    addr, port, s.log.name))
        for rnd in range(args.rounds):
            k = rnd % len(args.layouts)
            for lay in args.layouts[k:] + args.layouts[:k]:
                k = rnd % len(names)
                order = names[k:] + names[:k]
                log("round %d/%d, %s, order: %s" % (
                    rnd + 1, args.rounds, lay, " ".join(order)))
                cap = args.cap if lay == "capped" else None
                live = []
                for n in order:
                    live.append(contenders[n])
                    contenders[n].start(cap)
                    if contenders[n].cap and not cap_desc:
                        cap_desc = contenders[n].cap.describe().replace(
                            "bench-app-" + n, "bench-app-<contender>")
                for c in live:
                    pong = c.ping()
                    if pong != "+PONG":
                        die("%s: PING through %s:%d gave %r" % (
                            c.name, c.addr, c.port, pong))
                if lay not in ns:
                    ref = next((contenders[n] for n in
                                ("haproxy", "svcproxy") if n in names),
                               contenders[names[0]])
                    ns[lay] = {}
                    for wl in args.workloads:
                        ns[lay][wl] = calibrate(args, ref, wl)
                        log("%s %s: n = %d per test (calibrated through "
                            "%s)" % (lay, wl, ns[lay][wl], ref.name))
                for wl in args.workloads:
                    for c in live:
                        r, cmd = figure(args, c, wl, ns[lay][wl])
                        d = data[lay][wl][c.name]
                        for key in d:
                            d[key].append(r.get(key))
                        for j in range(2):
                            checks[c.name]["cmds"][j] += r["cmds"][j]
                            checks[c.name]["conns"][j] += r["conns"][j]
                        raw.append(dict(r, round=rnd + 1, layout=lay,
                                        workload=wl, contender=c.name,
                                        cmd=cmd))
                        log("%s %s %s: %.0f req/s, p50 %.2f p99 %.2f ms, "
                            "load CPU %.0f%% (client+servers %.0f%%)%s%s" % (
                                lay, wl, c.name, r["rps"], r["p50"],
                                r["p99"], r["load_pct"], r["own_pct"],
                                ", proxy CPU %.0f%% (%.1f µs/req)" % (
                                    r["cpu_pct"], r["cpu_us"])
                                if "cpu_pct" in r else "",
                                ", throttled %.0f%%" % r["thr_pct"]
                                if "thr_pct" in r else ""))
                for c in live:
                    if c.admin and rnd == args.rounds - 1:
                        checks[c.name]["metrics"] = svcproxy_metrics(c)
                    c.stop()
                live = []
    finally:
        for c in live:
            c.stop()
        for s in servers:
            s.stop()
    took = time.monotonic() - t_start

    with open(os.path.join(OUT, "figures.json"), "w") as f:
        json.dump(raw, f, indent=1)
    if cap_desc:
        cmds.append("# capped layout: each proxy's processes in a cgroup "
                    "of its own, bench-app-<contender>:")
        cmds.append("# " + cap_desc)
    seen = set()
    for lay in args.layouts:
        for wl in args.workloads:
            cmd = "taskset -c %s %s" % (args.load_cpus, R.sh(bench_cmd(
                contenders[names[0]], wl, ns[lay][wl])).replace(
                    ADDRS[names[0]], "ADDR"))
            if cmd not in seen:
                seen.add(cmd)
                cmds.append(cmd + "   # " + lay)
    vers = {
        "redis-server": (R.run(["redis-server", "--version"], 10) or
                         "?").strip(),
        "redis-benchmark": (R.run(["redis-benchmark", "--version"], 10) or
                            "?").strip(),
    }
    for k, v in R.versions(svcproxy, args.baseline).items():
        if k not in ("wrk", "iperf3"):
            vers[k] = v
    text = report(args, names, args.layouts, data, ns, cmds, confs, vers,
                  took, checks)
    print(text)
    if not args.no_results:
        B.write_results("Application protocol (Redis)", text)
        log("wrote the Application protocol (Redis) section of "
            "bench/RESULTS.md")


def on_term(signum, frame):
    # SIGTERM unwinds like SIGINT, so that the finally clauses stop
    # every process and cpucap removes every cgroup.
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    try:
        main()
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
