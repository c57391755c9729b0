#!/usr/bin/env python3
"""bench/udp.py: UDP request/response through svcproxy, beside nginx
stream UDP and a direct path.

  bench/udp.py [--quick] [--rounds N] [--duration S] [--workers N]
               [--flows N] [--window N] [--bulk-window N]
               [--paced-rate N]
               [--proxy-cpus LIST] [--load-cpus LIST] [--only LIST]
               [--workloads LIST] [--nice N] [--no-syscalls]
               [--no-results]

One echo backend (bench/udp_echo.c: every datagram straight back) on
127.94.0.1:18530, and the load generator bench/udp_load.c (closed loop:
each flow keeps WINDOW requests in flight, a reply sends the next; it
times every request from send to reply).  Both are built here with cc.
Contenders:

  direct      no proxy: the client to the backend, the physical limit
  nginx       nginx stream, `listen ... udp`, `proxy_responses 1` (the
              request/response setting the issue names: nginx ends its
              session, and closes its upstream socket, once each
              request has its reply), worker_processes N
  nginx-keep  the same without proxy_responses: a session lives until
              proxy_timeout (30 s) idle, as a flow does in svcproxy,
              which has no per-Service reply count yet
  svcproxy    `svcproxy run --workers N`, one UDP Service (ClusterIP)
              with the backend as its one Pod

Workloads (the issue's "small datagrams with many flows, and bulk
datagrams with one flow", and a latency probe):

  small        64-byte datagrams, --flows (1,000) flows, each a client
               socket on its own source address (127.96.0.1 and up),
               --window (4) in flight each: the most the path carries
  small-paced  the same flows, open loop at --paced-rate (5,000)
               requests/s in all (at most --window in flight per flow):
               the latency at the same load for every contender
  bulk         1,400-byte datagrams, one flow, --bulk-window (32) in
               flight
  ping         64-byte datagrams, one flow, one in flight: latency
               alone

Every round starts each proxy fresh for each measurement, in an order
rotated each round (interleaved: a slow moment of the machine hits all
of them): 0.5 s of warm-up, then --duration seconds measured.
Reported per workload and contender, median (min-max) over rounds:
replies/s, the p50 and p99 of the request latency, lost requests (no
reply after 200 ms: sent anew), the datagrams the listening socket
dropped (a full receive buffer, /proc/net/udp), the proxy's CPU
(utime+stime of all its processes from /proc/PID/stat, % of one CPU),
the time it waited, runnable, for its CPU (schedstat), its CPU per
request handled (sent, less the listener's drops), how busy the load
CPUs were (/proc/stat, every process on them) and the load
generator's and backend's own CPU.  The aim of the issue (at least
nginx's rate, no worse p99) is judged per workload; for small
datagrams with many flows, on small's rate and small-paced's p99,
since a saturated closed loop's p99 is the length of its queue.

CPU: the proxy is pinned (taskset) to --proxy-cpus (default CPU 1), the
load generator and the backend to --load-cpus (default CPU 0).  The
load CPU is where a closed loop saturates first on a 2-core machine
(the report says how busy it was): then replies/s is the client's
limit, and CPU per request is the figure that compares the proxies.
The whole run is niced (--nice, -10 as root) so that it keeps its CPUs
against the rest of a shared machine; "proxy waited" shows what
waiting was left.  Loopback charges the receiving side's softirq work
to the sender, so part of the backend's receive cost is counted to the
proxy (for every proxy alike).

In the last round, unless --no-syscalls, each proxy is traced with
`strace -f -c` during a 2 s small run, for its syscalls per request.

Writes the "UDP" section of bench/RESULTS.md.  Logs and configurations
go to bench/out/udp/.  Not run by `make check`.  --quick: 2 rounds of
2 s.  Loopback only.  Needs nginx with libnginx-mod-stream, cc, strace
(.ci/deps --bench).
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "udp")

from run_module import load_run  # noqa: E402
import benchlib as B  # noqa: E402
from benchlib import cell, med  # noqa: E402

R = load_run()
R.OUT = OUT

PORT = 18530
BACKEND = "127.94.0.1"
SRC_BASE = "127.96.0.1"         # the load's first client address
PROBE_SRC = "127.97.0.1"        # readiness probes
SVC_CIDR = "127.95.0.0/24"
ADMIN = "127.0.0.1:19187"
ADDRS = {
    "direct": BACKEND,
    "nginx": "127.94.0.2",
    "nginx-keep": "127.94.0.3",
    "svcproxy": "127.95.0.10",
}
CONTENDERS = ["direct", "nginx", "nginx-keep", "svcproxy"]
WARMUP = 0.5
LOSS_MS = 200


def log(*a):
    print("bench/udp:", *a, file=sys.stderr, flush=True)


def workloads(args):
    """name: (flows, window, size, open-loop rate or 0)."""
    return {
        "small": (args.flows, args.window, 64, 0),
        "small-paced": (args.flows, args.window, 64, args.paced_rate),
        "bulk": (1, args.bulk_window, 1400, 0),
        "ping": (1, 1, 64, 0),
    }


# ---- building ----

def build_tools():
    """{name: path} of udp_load and udp_echo, and the commands."""
    out, cmds = {}, []
    for name in ("udp_load", "udp_echo"):
        exe = os.path.join(OUT, name)
        cmd = ["cc", "-O2", "-std=gnu11", "-Wall", "-o", exe,
               os.path.join(HERE, name + ".c")]
        if subprocess.run(cmd).returncode != 0:
            R.die("cannot build: %s" % R.sh(cmd))
        out[name] = exe
        cmds.append(R.sh(cmd))
    return out, cmds


# ---- configurations ----

def nginx_conf(name, workers, user):
    addr = ADDRS[name]
    keep = name == "nginx-keep"
    rp = " reuseport" if workers > 1 else ""
    return R.write(os.path.join(OUT, name + ".conf"), """\
# Generated by bench/udp.py.  Loopback only.
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
%sworker_processes %d;
worker_rlimit_nofile 20000;
pid %s/%s.pid;
error_log %s/%s.err warn;
events {
    worker_connections 19000;
}
stream {
    server {
        listen %s:%d udp%s;
        proxy_pass %s:%d;
        proxy_timeout 30s;
%s    }
}
""" % (user, workers, OUT, name, OUT, name, addr, PORT, rp, BACKEND, PORT,
       "" if keep else "        proxy_responses 1;\n"))


def svcproxy_conf():
    return R.write(os.path.join(OUT, "svcproxy.yaml"), B.svcproxy_yaml(
        "bench/udp.py", SVC_CIDR, ADMIN, ADDRS["svcproxy"], PORT, "echo",
        """---
apiVersion: v1
kind: Pod
metadata:
  labels:
    app: bench-udp
  name: echo-1
  namespace: bench
spec:
  containers:
  - name: echo
    ports:
    - containerPort: %d
      name: echo
      protocol: UDP
status:
  conditions:
  - status: "True"
    type: Ready
  phase: Running
  podIP: %s
""" % (PORT, BACKEND), name="echo", selector="bench-udp", protocol="UDP",
        idle=None, comment="No per-flow log line: nginx logs none in its "
        "configuration either."))


def udp_free(addr):
    """True when nothing is bound to addr:PORT over UDP."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((addr, PORT))
        return True
    except OSError:
        return False
    finally:
        s.close()


def udp_ready(addr, timeout, proc=None):
    """True once a datagram to addr:PORT comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((PROBE_SRC, 0))
        s.connect((addr, PORT))
        s.settimeout(0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and not proc.alive():
                return False
            try:
                s.send(b"x" * 16)
                s.recv(64)
                return True
            except OSError:
                time.sleep(0.05)
        return False
    finally:
        s.close()


class Contender:
    """A proxy (or none, for direct) started fresh for each run."""

    def __init__(self, name, args, svcproxy, user):
        self.name = name
        self.addr = ADDRS[name]
        self.args = args
        self.served = None
        self.proc = None
        self.cmd = None
        if name.startswith("nginx"):
            self.cmd = ["nginx", "-e", os.path.join(OUT, name + ".err"),
                        "-c", nginx_conf(name, args.workers, user), "-g",
                        "daemon off;"]
        elif name == "svcproxy":
            self.cmd = [svcproxy, "run", "-c", svcproxy_conf(),
                        "--workers", str(args.workers)]

    def start(self):
        if self.cmd is None:
            return
        self.served = B.Served(R, self.name, self.cmd, self.args.proxy_cpus,
                               ready=lambda p: udp_ready(self.addr, 10, p),
                               what="%s:%d (udp)" % (self.addr, PORT))
        self.proc = self.served.proc

    def stop(self):
        if self.served is not None:
            self.served.stop()
        self.served = self.proc = None

    def pids(self):
        return self.proc.pids() if self.proc else []


def load_cmd(tools, c, wl, duration):
    flows, window, size, rate = wl
    return [tools["udp_load"], "-t", "%s:%d" % (c.addr, PORT), "-b",
            SRC_BASE, "-f", str(flows), "-w", str(window), "-s", str(size),
            "-d", str(duration), "-W", str(WARMUP), "-T", str(LOSS_MS)] + (
                ["-r", str(rate)] if rate else [])


def udp_drops(addr):
    """Datagrams dropped by the sockets bound to addr:PORT (the
    listener(s), or the backend for direct): a full receive buffer.
    From /proc/net/udp, the last column."""
    key = "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr), "little"),
                         PORT)
    n = 0
    with open("/proc/net/udp") as f:
        for l in f:
            w = l.split()
            if len(w) > 12 and w[1] == key:
                n += int(w[-1])
    return n


def measure(args, tools, c, wl, backend):
    """One load run through c: the load generator's figures, plus the
    proxy's CPU, the load CPUs' busy %, the client's and backend's CPU,
    the listener's drops and how long the proxy waited for its CPU."""
    cmd = load_cmd(tools, c, wl, args.duration)
    load = R.cpu_list(args.load_cpus)
    pids = c.pids()
    d0, e0 = udp_drops(c.addr), R.cpu_ticks(backend.pids())
    w0 = B.runq_wait_ns(pids)
    t0 = time.monotonic(), R.cpu_ticks(pids), R.cpu_jiffies(load)
    out = R.run(cmd, args.duration + WARMUP + 30, args.load_cpus)
    t1 = time.monotonic(), R.cpu_ticks(pids), R.cpu_jiffies(load)
    w1 = B.runq_wait_ns(pids)
    d1, e1 = udp_drops(c.addr), R.cpu_ticks(backend.pids())
    if out is None:
        R.die("udp_load failed through %s: %s" % (c.name, R.sh(cmd)))
    res = {}
    for l in out.splitlines():
        k, _, v = l.partition(" ")
        k = "cpu_pct_load" if k == "cpu_pct" else k
        try:
            res[k] = float(v)
        except ValueError:
            pass
    hz = os.sysconf("SC_CLK_TCK")
    secs = (t1[1] - t0[1]) / hz
    res["cpu_pct"] = 100.0 * secs / (t1[0] - t0[0])
    res["drops"] = d1 - d0
    # Requests the proxy handled: sent, less those its listener dropped
    # unread (a reply the client had given up on was work done too).
    res["handled"] = res.get("sent", 0) - res["drops"]
    res["us_per_req"] = 1e6 * secs / res["handled"] \
        if res["handled"] > 0 else None
    res["load_pct"] = R.busy_pct(t0[2], t1[2])
    res["lost_pct"] = 100.0 * res["lost"] / res["sent"] \
        if res.get("sent") else 0.0
    # The load generator's own CPU (it prints it) plus the backend's.
    res["client_pct"] = res.get("cpu_pct_load", 0.0) + \
        100.0 * (e1 - e0) / hz / (t1[0] - t0[0])
    res["wait_pct"] = 100.0 * (w1 - w0) / 1e9 / (t1[0] - t0[0])
    return res, cmd


def syscalls(args, tools, c, wl, backend):
    """{syscall: calls per request} of c during a 2 s run, or None."""
    holder = {}

    def small():
        r, _ = measure(args, tools, c, wl, backend)
        holder["r"] = r
        return r
    calls, _, res = R.strace_count(args, c, small)
    if not calls or not res or res.get("handled", 0) <= 0:
        return None
    n = res["handled"]
    return {k: v / n for k, v in calls.items()}


# ---- report ----

def report(args, wls, res, cmds, sys_per, took, svcproxy):
    vers = R.versions(svcproxy)
    L = []
    L.append("Written by `bench/udp.py%s` on %s: %d rounds, %.1f s "
             "warm-up + %d s per run, %.0f s in all (load average %s at "
             "the end).  Each proxy with %d worker%s, started fresh for "
             "each run and pinned (taskset) to CPU %s; the load generator "
             "(bench/udp_load.c) and the echo backend (bench/udp_echo.c) "
             "pinned to CPU %s.  %s, %s, %s." % (
                 " --quick" if args.quick else "",
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 args.rounds, WARMUP, args.duration, took,
                 open("/proc/loadavg").read().split()[0], args.workers,
                 "" if args.workers == 1 else "s", args.proxy_cpus,
                 args.load_cpus + (
                     " (all at nice %d)" % args.nice if args.nice
                     else ""), vers.get("svcproxy", "svcproxy ?"),
                 vers["nginx"], vers["kernel"]))
    L.append("")
    L.append("Workloads: small = %d flows (one client socket per source "
             "address, 127.96.0.1 and up) x %d in flight, 64-byte "
             "datagrams, closed loop (a reply sends the flow's next "
             "request): the most each path carries; small-paced = the "
             "same flows in an open loop at %d requests/s in all (at most "
             "%d in flight per flow): the latency at one load for all; "
             "bulk = 1 flow x %d in flight, 1,400 bytes, closed loop; "
             "ping = 1 flow x 1 in flight, 64 bytes.  nginx = stream UDP "
             "with `proxy_responses 1` (the issue's comparison: nginx "
             "closes a session and its upstream socket once each request "
             "has its reply); nginx-keep = without it, sessions kept until "
             "30 s idle, as svcproxy keeps a flow (svcproxy has no reply "
             "count yet).  Median (min-max) over rounds.  Latency: send "
             "to reply, at the load generator.  Lost: requests with no "
             "reply after %d ms (then sent anew); listener drops: "
             "datagrams the contender's listening socket dropped with a "
             "full receive buffer (/proc/net/udp; direct: the backend's), "
             "%% of requests sent.  Proxy CPU: utime+stime of its "
             "processes (/proc/PID/stat) over the run, %% of one CPU; per "
             "request: that CPU time divided by the requests it handled "
             "(sent, less its listener's drops).  Load CPU "
             "busy: CPU %s (/proc/stat), every process on it; "
             "client+echo: the load generator's and the backend's own "
             "CPU, %% of one CPU." % (
                 args.flows, args.window, args.paced_rate, args.window,
                 args.bulk_window, LOSS_MS, args.load_cpus))
    L.append("")
    L.append("| workload | contender | replies/s | vs nginx | p50 µs | "
             "p99 µs | lost % | listener drops % | proxy CPU % | proxy "
             "waited % | CPU µs/request | vs nginx | load CPU busy % | "
             "client+echo CPU % |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    verdict = []
    sat = []
    for w in wls:
        ng = res.get((w, "nginx"), [])
        ng_rate = med([r["rate"] for r in ng])
        ng_cpu = med([r["us_per_req"] for r in ng])
        busy = []
        for n in args.only:
            rs = res.get((w, n), [])
            if not rs:
                continue
            px = n != "direct"
            rate = [r["rate"] for r in rs]
            cpu = [r["us_per_req"] for r in rs]
            busy += [r["load_pct"] for r in rs if px and r["load_pct"]]
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | "
                     "%s | %s | %s | %s |" % (
                         w, n, cell(rate, "%.0f"),
                         "%.2fx" % (med(rate) / ng_rate) if ng_rate else "-",
                         cell([r["p50_us"] for r in rs], "%.0f"),
                         cell([r["p99_us"] for r in rs], "%.0f"),
                         cell([r["lost_pct"] for r in rs], "%.2f"),
                         cell([100.0 * r["drops"] / r["sent"] if r["sent"]
                               else 0.0 for r in rs], "%.2f"),
                         cell([r["cpu_pct"] for r in rs], "%.0f")
                         if px else "-",
                         cell([r["wait_pct"] for r in rs], "%.0f")
                         if px else "-",
                         cell(cpu, "%.2f") if px else "-",
                         "%.2fx" % (med(cpu) / ng_cpu)
                         if ng_cpu and px and med(cpu) else "-",
                         cell([r["load_pct"] for r in rs], "%.0f"),
                         cell([r["client_pct"] for r in rs], "%.0f")))
        if busy:
            sat.append("%s %.0f%% (%s)" % (
                w, med(busy), "saturated" if med(busy) >= 95
                else "not saturated"))
        sp = res.get((w, "svcproxy"), [])
        if sp and ng:
            sr, sp99 = med([r["rate"] for r in sp]), med(
                [r["p99_us"] for r in sp])
            np99 = med([r["p99_us"] for r in ng])
            # Paced: the same offered load for all; the rate only says
            # whether svcproxy kept up with it.
            ok_rate = sr >= (0.99 * args.paced_rate if w == "small-paced"
                             else ng_rate)
            ok_p99 = sp99 <= np99
            verdict.append("| %s | %.0f / %.0f (%.2fx): %s | %.0f / %.0f "
                           "µs: %s | %s |" % (
                               w, sr, ng_rate, sr / ng_rate,
                               "met" if ok_rate else "not met", sp99, np99,
                               "met" if ok_p99 else "not met",
                               ("**met**" if ok_rate and ok_p99
                                else "**not met**") + (
                                    " (latency probe, not one of the "
                                    "issue's workloads)" if w == "ping"
                                    else "")))
    sm, pc = res.get(("small", "svcproxy")), res.get(("small-paced",
                                                       "svcproxy"))
    smn, pcn = res.get(("small", "nginx")), res.get(("small-paced",
                                                     "nginx"))
    if sm and pc and smn and pcn:
        sr, nr = med([r["rate"] for r in sm]), med([r["rate"] for r in smn])
        sp, np_ = med([r["p99_us"] for r in pc]), med([r["p99_us"]
                                                       for r in pcn])
        ok = sr >= nr and sp <= np_
        verdict.append("| small datagrams, many flows: rate from small, "
                       "p99 at one load from small-paced | %.2fx: %s | "
                       "%.0f / %.0f µs: %s | %s |" % (
                           sr / nr, "met" if sr >= nr else "not met", sp,
                           np_, "met" if sp <= np_ else "not met",
                           "**met**" if ok else "**not met**"))
    L.append("")
    if sat:
        L.append("Load CPU busy through the proxies (median): %s.  Where "
                 "it is saturated, replies/s and latency are bounded by "
                 "the client side, and CPU µs/request compares the "
                 "proxies.  Proxy waited: the time the proxy was runnable "
                 "but another process had its CPU (schedstat; this machine "
                 "is shared), %% of the run." % "; ".join(sat))
        L.append("")
    if verdict:
        L.append("Aim (issue 14): at least nginx's rate and no worse p99 "
                 "(svcproxy / nginx, medians).  In a saturated closed "
                 "loop (small, bulk) the p99 is mostly the queue of "
                 "requests in flight (latency = in flight / rate): a "
                 "contender whose listener drops fewer requests keeps "
                 "more of them queued, so small-paced, the same flows at "
                 "one load below every contender's limit, is where p99 "
                 "compares the proxies themselves:")
        L.append("")
        L.append("| workload | rate | p99 | aim |")
        L.append("|---|---|---|---|")
        L += verdict
        L.append("")
    if sys_per:
        names = [n for n in args.only if n in sys_per]
        allk = {}
        for n in names:
            for k, v in sys_per[n].items():
                allk[k] = max(allk.get(k, 0), v)
        top = sorted((k for k in allk if allk[k] >= 0.01),
                     key=lambda k: -allk[k])[:16]
        L.append("Syscalls per request handled (small workload, `strace -f -c` "
                 "over a 2 s run in the last round; strace slows the "
                 "proxy, so only the counts mean anything):")
        L.append("")
        L.append("| syscall | " + " | ".join(names) + " |")
        L.append("|---|" + "---|" * len(names))
        for k in top:
            L.append("| %s | %s |" % (k, " | ".join(
                "%.2f" % sys_per[n].get(k, 0) for n in names)))
        L.append("| total | %s |" % " | ".join(
            "%.2f" % sum(sys_per[n].values()) for n in names))
        L.append("")
    L.append("Commands (ADDR: the contender's address, %s):" % ", ".join(
        "%s %s" % (n, ADDRS[n]) for n in args.only))
    L.append("")
    L.append("```")
    for k in sorted(cmds):
        L.append(cmds[k])
    L.append("```")
    text = "\n".join(L) + "\n"
    print(text)
    if not args.no_results:
        B.write_results("UDP", text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds of 2 s")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--flows", type=int, default=1000)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--bulk-window", type=int, default=32)
    ap.add_argument("--paced-rate", type=int, default=5000)
    ap.add_argument("--proxy-cpus", default="1")
    ap.add_argument("--load-cpus", default="0")
    ap.add_argument("--only", default=",".join(CONTENDERS),
                    help="contenders, comma-separated")
    ap.add_argument("--workloads", default="small,small-paced,bulk,ping")
    ap.add_argument("--nice", type=int, default=-10 if os.getuid() == 0
                    else 0, help="niceness of the whole run (default -10 "
                    "as root, else 0)")
    ap.add_argument("--no-syscalls", action="store_true")
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration = 2, 2
    args.only = [n for n in args.only.split(",") if n]
    if args.nice:
        # Inherited by every process started below: the proxies, the
        # load and the backend keep their CPUs against the rest of a
        # shared machine (the report shows what waiting was left).
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    for n in args.only:
        if n not in CONTENDERS:
            R.die("unknown contender %s (%s)" % (n, ", ".join(CONTENDERS)))
    all_wl = workloads(args)
    wls = [w for w in args.workloads.split(",") if w]
    for w in wls:
        if w not in all_wl:
            R.die("unknown workload %s" % w)
    os.makedirs(OUT, exist_ok=True)
    for tool in ("cc", "taskset") + (("nginx",) if any(
            n.startswith("nginx") for n in args.only) else ()) + (
            () if args.no_syscalls else ("strace",)):
        if not shutil.which(tool):
            R.die("%s is not installed (.ci/deps --bench)" % tool)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    svcproxy = None
    if "svcproxy" in args.only:
        svcproxy, why = R.find_svcproxy(args)
        if not svcproxy:
            R.die("no svcproxy: %s" % why)
    for n in args.only:
        if not udp_free(ADDRS[n]):
            R.die("%s:%d (udp) is in use" % (ADDRS[n], PORT))
    tools, build_cmds = build_tools()
    user = "user root;\n" if os.getuid() == 0 else ""
    backend = R.Proc("udp-echo", [tools["udp_echo"], "-l", "%s:%d" % (
        BACKEND, PORT)], args.load_cpus)
    # Every process below inherits the niceness: the commands say so.
    pre = "nice -n %d " % args.nice if args.nice else ""
    cmds = {"0 a build %d" % i: c for i, c in enumerate(build_cmds)}
    cmds["0 b backend"] = "%staskset -c %s %s" % (pre, args.load_cpus,
                                                R.sh(backend.cmd))
    if not args.no_syscalls:
        cmds["3 strace"] = ("strace -f -c -o bench/out/udp/strace-NAME-"
                            "small.txt -p PID...  # the proxy's processes, "
                            "during a 2 s small run, once per proxy")
    cons = {n: Contender(n, args, svcproxy, user) for n in args.only}
    for n, c in cons.items():
        if c.cmd:
            cmds["1 " + n] = "%staskset -c %s %s" % (pre, args.proxy_cpus,
                                                     R.sh(c.cmd))
    res = {}
    sys_per = {}
    t_start = time.monotonic()
    try:
        if not udp_ready(BACKEND, 10, backend):
            R.die("the echo backend does not answer: see %s" %
                  backend.log.name)
        for rnd in range(args.rounds):
            for w in wls:
                k = rnd % len(args.only)
                order = args.only[k:] + args.only[:k]
                for n in order:
                    c = cons[n]
                    c.start()
                    try:
                        r, cmd = measure(args, tools, c, all_wl[w],
                                         backend)
                        cmds["2 %s %s" % (w, n)] = "%staskset -c %s %s" % (
                            pre, args.load_cpus, R.sh(cmd).replace(
                                c.addr + ":", "ADDR:"))
                        res.setdefault((w, n), []).append(r)
                        log("round %d/%d %s %s: %.0f/s p99 %.0f us, lost "
                            "%.2f%%, proxy %.0f%% CPU, %s us/req, load "
                            "CPU %.0f%%" % (
                                rnd + 1, args.rounds, w, n, r["rate"],
                                r["p99_us"], r["lost_pct"], r["cpu_pct"],
                                "%.2f" % r["us_per_req"]
                                if r["us_per_req"] else "-",
                                r["load_pct"] or 0))
                        if (rnd == args.rounds - 1 and w == "small" and
                                c.cmd and not args.no_syscalls):
                            time.sleep(0.5)
                            s = syscalls(args, tools, c, all_wl[w], backend)
                            if s:
                                sys_per[n] = s
                    finally:
                        c.stop()
    finally:
        backend.stop()
    took = time.monotonic() - t_start
    # Command order: backend, proxies, then the load per workload.
    cmds = {k: v for k, v in cmds.items() if not k.startswith("2 ") or
            k.endswith(" " + args.only[0])}
    report(args, wls, res, cmds, sys_per, took, svcproxy)


if __name__ == "__main__":
    main()
