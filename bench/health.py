#!/usr/bin/env python3
"""bench/health.py: active health checks at scale, beside HAProxy.

  bench/health.py [--quick] [--rounds N] [--duration S] [--endpoints N]
                  [--kinds tcp,http] [--proxy-cpus LIST]
                  [--server-cpus LIST] [--no-results]

10,000 endpoints (one hcserver, tests/integration/hcserver.c, listening
on 127.90.0.1 .. 127.90.39.16, one socket each, on one port) checked every
second, with TCP and with HTTP checks, by each contender in turn,
interleaved over rounds:

  engine    svcproxy's health thread alone (hc_engine through
            tests/integration/hc_scale.c in bench mode, -B): what the
            checks cost svcproxy, wired or not
  svcproxy  `svcproxy run --workers 1` with the 10,000 Pods behind one
            Service carrying svcproxy.io/health-check annotations;
            only when this build knows them (`svcproxy check` warns
            about unknown annotations: then "not measured")
  haproxy   one backend with the 10,000 servers, `check inter 1s`
            (rise 2 fall 3, as svcproxy's defaults), and for HTTP
            `option httpchk GET /`; nbthread 1
  floor     bench/hc_floor.c: the same checks from a bare epoll loop
            with no event library, timer or allocation per check: what
            the kernel's TCP and the socket calls cost, the least any
            checker can spend (so the floor for "half of HAProxy's CPU")

hcserver counts the SYNs that reach each address (-P, a packet socket
on lo: run as root), since HAProxy's plain TCP check never completes
the handshake (SYN, SYN-ACK, RST) and so never reaches accept().

Each run: a warm-up of 3 s (the first checks spread over the first
interval), hcserver's counts zeroed (SIGUSR2), DURATION seconds, the
counts dumped (SIGUSR1).  Reported per kind and contender (median and
min-max over rounds): CPU (% of one CPU: the whole process for HAProxy
and svcproxy, the health thread for the engine), checks per second
seen by hcserver, and how late checks ran: the gap between two checks
of one endpoint at its 99th percentile and its maximum, minus the
interval.  svcproxy spreads every interval by +-25% on purpose
(HAProxy's spread-checks, off in HAProxy by default), so its gaps are
also shown beyond that window.  The contender runs on --proxy-cpus
(default 1), hcserver on --server-cpus (default 0).

Writes the "Health checks" section of bench/RESULTS.md.  Loopback
only; not run by `make check`.  Needs haproxy, cc, and an open-file
hard limit of at least 20000.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "health")



from run_module import load_run  # noqa: E402
import benchlib as B  # noqa: E402

R = load_run()
R.OUT = OUT

BASE = "127.90.0.1"
SVC_CIDR = "127.91.0.0/24"
SVC_IP = "127.91.0.10"
ADMIN = "127.0.0.1:19183"
FRONT = ("127.91.0.20", 18443)       # HAProxy's (unused) frontend
WARMUP = 3
CONTENDERS = ["engine", "svcproxy", "haproxy", "floor"]


def log(*a):
    print("bench/health:", *a, file=sys.stderr, flush=True)


def addr(i):
    b = [int(x) for x in BASE.split(".")]
    v = (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) + i
    return "%d.%d.%d.%d" % (v >> 24, v >> 16 & 255, v >> 8 & 255, v & 255)


# ---- building ----

def build_tools(svcproxy):
    """hcserver and hc_scale at -O2, against svcproxy's build dir."""
    build = os.path.dirname(os.path.dirname(svcproxy))
    libs = [os.path.join(build, "src", l) for l in (
        "libsvcp_dp.a", "libsvcp_core.a")]
    r = subprocess.run(["make", "-s", "-C", build] + [
        os.path.relpath(l, build) for l in libs])
    if r.returncode != 0:
        R.die("cannot build svcproxy's libraries in %s" % build)
    srv = os.path.join(OUT, "hcserver")
    scale = os.path.join(OUT, "hc_scale")
    floor = os.path.join(OUT, "hc_floor")
    cmds = [
        ["cc", "-O2", "-std=gnu11", "-o", floor,
         os.path.join(HERE, "hc_floor.c")],
        ["cc", "-O2", "-std=gnu11", "-o", srv,
         os.path.join(TOP, "tests", "integration", "hcserver.c")],
        ["cc", "-O2", "-std=gnu11", "-I", os.path.join(TOP, "src"), "-I",
         build, "-o", scale,
         os.path.join(TOP, "tests", "integration", "hc_scale.c")] + libs +
        ["-levent_openssl", "-lssl", "-lcrypto", "-levent", "-lpthread"],
    ]
    for c in cmds:
        if subprocess.run(c).returncode != 0:
            R.die("cannot build: %s" % R.sh(c))
    return srv, scale, floor


# ---- hcserver ----

class Server:
    def __init__(self, exe, n, port, cpus):
        self.dump = os.path.join(OUT, "dump")
        ready = os.path.join(OUT, "ready")
        for f in (ready, self.dump):
            if os.path.exists(f):
                os.unlink(f)
        # -P: count SYNs, so that HAProxy's plain TCP checks (SYN,
        # SYN-ACK, RST: never accepted) are counted as svcproxy's are.
        self.cmd = [exe, "-b", BASE, "-n", str(n), "-p", str(port), "-d",
                    self.dump, "-r", ready, "-P"]
        self.proc = R.Proc("hcserver", self.cmd, cpus)
        deadline = time.monotonic() + 30
        while not (os.path.exists(ready) and os.path.getsize(ready) > 0):
            if time.monotonic() > deadline or not self.proc.alive():
                self.proc.stop()
                R.die("hcserver did not start: see %s" % self.proc.log.name)
            time.sleep(0.1)

    def reset(self):
        os.kill(self.proc.p.pid, signal.SIGUSR2)

    def counts(self):
        if os.path.exists(self.dump):
            os.unlink(self.dump)
        os.kill(self.proc.p.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.dump):
            if time.monotonic() > deadline:
                R.die("no dump from hcserver")
            time.sleep(0.02)
        return parse_dump(self.dump)


def parse_dump(path):
    """{'connections', 'gaps': {ms: count}, 'maxgap_ms', 'addrs'}."""
    d = {"connections": 0, "gaps": {}, "maxgap_ms": 0, "addrs": 0,
         "min_count": None}
    with open(path) as f:
        for l in f:
            w = l.split()
            if not w:
                continue
            if w[0] == "connections":
                d["connections"] = int(w[1])
            elif w[0] == "gap":
                d["gaps"][int(w[1])] = int(w[2])
            elif w[0] == "addr":
                d["addrs"] += 1
                d["maxgap_ms"] = max(d["maxgap_ms"], int(w[5]) / 1000.0)
                c = int(w[2])
                if d["min_count"] is None or c < d["min_count"]:
                    d["min_count"] = c
    return d


def gap_pct(gaps, pct):
    tot = sum(gaps.values())
    acc = 0
    for ms in sorted(gaps):
        acc += gaps[ms]
        if acc * 100 >= tot * pct:
            return ms
    return 0


def beyond(gaps, lim):
    """Share (%) of the gaps longer than lim ms."""
    tot = sum(gaps.values())
    return 100.0 * sum(c for ms, c in gaps.items() if ms > lim) / tot \
        if tot else 0.0


# ---- contenders ----

def haproxy_conf(n, port, kind):
    L = ["# Generated by bench/health.py.  Loopback only.",
         "global", "  nbthread 1", "  maxconn 1000",
         "defaults", "  mode tcp", "  timeout connect 1s",
         "  timeout client 30s", "  timeout server 30s",
         "  timeout check 1s",
         "frontend f", "  bind %s:%d" % FRONT, "  default_backend b",
         "backend b"]
    if kind == "http":
        L.append("  option httpchk GET /")
    L.append("  default-server check inter 1s rise 2 fall 3")
    for i in range(n):
        L.append("  server s%d %s:%d" % (i, addr(i), port))
    return R.write(os.path.join(OUT, "haproxy-%s.cfg" % kind),
                   "\n".join(L) + "\n")


def svcproxy_conf(n, port, kind):
    out = [B.svcproxy_yaml(
        "bench/health.py", SVC_CIDR, ADMIN, SVC_IP, port, port,
        namespace="health", name="checked", port_name="http",
        selector="checked", idle=None,
        annotations={"svcproxy.io/health-check": kind,
                     "svcproxy.io/health-check-interval": "1s",
                     "svcproxy.io/health-check-rise": '"2"',
                     "svcproxy.io/health-check-fall": '"3"'})]
    for i in range(n):
        out.append("""---
apiVersion: v1
kind: Pod
metadata:
  labels: {app: checked}
  name: p%d
  namespace: health
spec:
  containers:
  - name: c
    ports: [{containerPort: %d}]
status:
  conditions: [{status: "True", type: Ready}]
  phase: Running
  podIP: %s
""" % (i, port, addr(i)))
    return R.write(os.path.join(OUT, "svcproxy-%s.yaml" % kind),
                   "".join(out))


def svcproxy_wired(svcproxy, conf):
    """None when svcproxy runs health checks, else why not."""
    r = subprocess.run([svcproxy, "check", "-c", conf],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    if "svcproxy.io/health-check" in r.stdout:
        return "health checks not wired in this build (`svcproxy " \
               "check` warns: unknown annotation)"
    if r.returncode != 0:
        return "`svcproxy check` failed: %s" % r.stdout.strip()[-300:]
    return None


def measure(server, pids_fn, duration):
    """(cpu %, counts, seconds, waited %) over duration after the
    warm-up."""
    time.sleep(WARMUP)
    server.reset()
    t0 = time.monotonic()
    c0 = R.cpu_ticks(pids_fn())
    w0 = B.runq_wait_ns(pids_fn())
    time.sleep(duration)
    c1 = R.cpu_ticks(pids_fn())
    w1 = B.runq_wait_ns(pids_fn())
    t1 = time.monotonic()
    counts = server.counts()
    hz = os.sysconf("SC_CLK_TCK")
    return (100.0 * (c1 - c0) / hz / (t1 - t0), counts, t1 - t0,
            100.0 * (w1 - w0) / 1e9 / (t1 - t0))


def run_engine(args, tools, server, port, kind):
    cmd = [tools[1], "-b", BASE, "-n", str(args.endpoints), "-p",
           str(port), "-S", str(server.proc.p.pid), "-d", server.dump,
           "-k", kind, "-i", "1000", "-t", str(args.duration), "-w",
           str(WARMUP), "-B"]
    out = R.run(cmd, args.duration + WARMUP + 60, args.proxy_cpus)
    if out is None:
        R.die("hc_scale failed: %s" % R.sh(cmd))
    kv = dict(l.split(None, 1) for l in out.splitlines() if " " in l)
    counts = parse_dump(server.dump)
    return (float(kv["thread_cpu_percent"]), counts,
            float(kv["seconds"]), float(kv["thread_runq_wait_percent"])), cmd


def run_proc(args, server, name, cmd):
    p = R.Proc(name, cmd, args.proxy_cpus)
    try:
        time.sleep(0.5)
        if not p.alive():
            R.die("%s exited: see %s" % (name, p.log.name))
        return measure(server, p.pids, args.duration)
    finally:
        p.stop()


def row(kind, name, rs, interval, haproxy_cpu):
    cpu = [r[0] for r in rs]
    rate = [r[1]["connections"] / r[2] for r in rs]
    p99 = [gap_pct(r[1]["gaps"], 99) - interval for r in rs]
    mx = [r[1]["maxgap_ms"] - interval for r in rs]
    over = [beyond(r[1]["gaps"], interval * 1.25) for r in rs]
    per = [r[0] * 1e4 / max(1.0, r[1]["connections"] / r[2]) for r in rs]
    wait = [r[3] for r in rs]

    def mm(v, f="%.0f"):
        return (f + " (" + f + "-" + f + ")") % (
            statistics.median(v), min(v), max(v))
    ratio = ""
    if haproxy_cpu:
        ratio = "%.2f" % (statistics.median(per) / haproxy_cpu)
    return "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        kind, name, mm(cpu, "%.1f"), mm(wait, "%.0f"), mm(per), ratio,
        mm(rate), mm(p99), mm(mx), mm(over, "%.1f"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds of 10 s")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--endpoints", type=int, default=10000)
    ap.add_argument("--kinds", default="tcp,http")
    ap.add_argument("--port", type=int, default=18280)
    ap.add_argument("--proxy-cpus", default="1")
    ap.add_argument("--server-cpus", default="0")
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration = 2, 10
    os.makedirs(OUT, exist_ok=True)
    kinds = args.kinds.split(",")
    if not shutil.which("haproxy"):
        R.die("haproxy is needed (.ci/deps --bench)")
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 20000:
        R.die("open-file hard limit %d < 20000" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if not R.port_free(BASE, args.port):
        R.die("port %d is taken on %s" % (args.port, BASE))

    svcproxy, why = R.find_svcproxy(args)
    if svcproxy is None:
        R.die("no svcproxy: %s" % why)
    tools = build_tools(svcproxy)
    server = Server(tools[0], args.endpoints, args.port, args.server_cpus)
    confs = {}
    not_wired = None
    for k in kinds:
        confs[k] = (haproxy_conf(args.endpoints, args.port, k),
                    svcproxy_conf(args.endpoints, args.port, k))
        not_wired = not_wired or svcproxy_wired(svcproxy, confs[k][1])
    if not_wired:
        log("svcproxy not measured:", not_wired)
    cmds = {"hcserver": R.sh(["taskset", "-c", args.server_cpus] +
                             server.cmd)}
    res = {}
    t_start = time.monotonic()
    try:
        for rnd in range(args.rounds):
            k0 = rnd % len(CONTENDERS)
            order = CONTENDERS[k0:] + CONTENDERS[:k0]
            for k in kinds:
                for name in order:
                    if name == "svcproxy" and not_wired:
                        continue
                    log("round %d/%d: %s %s" % (rnd + 1, args.rounds, k,
                                                name))
                    if name == "engine":
                        r, cmd = run_engine(args, tools, server, args.port,
                                            k)
                        cmd[cmd.index("-S") + 1] = "HCSERVER_PID"
                        cmds["engine " + k] = R.sh(["taskset", "-c",
                                                    args.proxy_cpus] + cmd)
                    else:
                        if name == "haproxy":
                            cmd = ["haproxy", "-db", "-f", confs[k][0]]
                        elif name == "floor":
                            # Runs until stopped, as the proxies do.
                            cmd = [tools[2], "-b", BASE, "-n",
                                   str(args.endpoints), "-p",
                                   str(args.port), "-k", k, "-i", "1000",
                                   "-t", "100000"]
                        else:
                            cmd = [svcproxy, "run", "-c", confs[k][1],
                                   "--workers", "1"]
                        r = run_proc(args, server, name, cmd)
                        cmds[name + " " + k] = R.sh(["taskset", "-c",
                                                     args.proxy_cpus] + cmd)
                    res.setdefault((k, name), []).append(r)
                    log("  cpu %.1f%%, %d checks, gap p99 %d ms" % (
                        r[0], r[1]["connections"],
                        gap_pct(r[1]["gaps"], 99)))
    finally:
        server.proc.stop()
    took = time.monotonic() - t_start
    report(args, kinds, res, cmds, not_wired, svcproxy, took)


def report(args, kinds, res, cmds, not_wired, svcproxy, took):
    vers = R.versions(svcproxy)
    L = []
    L.append("`bench/health.py%s`: %d endpoints (one hcserver, "
             "`tests/integration/hcserver.c`, on %s and up), checked "
             "every 1 s, rise 2 fall 3, timeout 1 s; %d rounds of %d s "
             "after a %d s warm-up, contenders interleaved; the checker "
             "on CPU %s, hcserver on CPU %s; %.0f s in all.  %s, %s." % (
                 " --quick" if args.quick else "", args.endpoints, BASE,
                 args.rounds, args.duration, WARMUP, args.proxy_cpus,
                 args.server_cpus, took, vers["HAProxy"], vers["kernel"]))
    L.append("")
    L.append("CPU: % of one CPU (engine: the health thread; haproxy, "
             "svcproxy: the whole process).  Checks/s: connections "
             "hcserver counted.  Late: the gap between two checks of one "
             "endpoint minus the 1 s interval (99th percentile over all "
             "gaps; worst endpoint); svcproxy varies each interval by "
             "+-25% on purpose (jitter), so \"> 1.25 s\" is the share of "
             "gaps beyond that window.  Waited for a CPU: the time the "
             "checker was runnable but not running (schedstat), i.e. "
             "other processes had the CPU; when it is high, checks/s falls "
             "short of endpoints/s and lateness measures the machine, "
             "while CPU us per check still compares the checkers.  "
             "Median (min-max) over rounds.")
    L.append("")
    L.append("| check | contender | CPU % | waited for a CPU % | CPU us "
             "per check | per check / HAProxy | checks/s | late p99 ms | "
             "late max ms | gaps > 1.25 s % |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for k in kinds:
        hp = res.get((k, "haproxy"))
        hcpu = statistics.median([
            r[0] * 1e4 / max(1.0, r[1]["connections"] / r[2])
            for r in hp]) if hp else None
        for name in CONTENDERS:
            if (k, name) in res:
                L.append(row(k, name, res[(k, name)], 1000,
                             hcpu if name != "haproxy" else None))
            elif name == "svcproxy":
                L.append("| %s | svcproxy | not measured: %s | | | | | | "
                         "| |"
                         % (k, not_wired or "?"))
    L.append("")
    L.append("Aim (issue 12): at most half of HAProxy's CPU for the same "
             "checks, and no check late by more than one interval.  The "
             "engine row is what the checks cost svcproxy's health "
             "thread; the svcproxy row, once health checks are wired in, "
             "is the whole process.  On loopback the checker's connect() "
             "also runs the server side of each handshake in its own "
             "softirq, so most of both contenders' CPU is the kernel's "
             "TCP, not their own code.  One difference in what a check "
             "does: HAProxy's plain TCP check turns TCP_QUICKACK off "
             "before connect() and closes with SO_LINGER 0, so the "
             "exchange is SYN, SYN-ACK, RST: no final ACK, no accept() "
             "on the server, no FIN exchange and no TIME_WAIT; svcproxy's "
             "tcp probe (src/probe.c) does the same.  The floor row "
             "(bench/hc_floor.c) makes the same checks from a bare epoll "
             "loop: no checker can spend less than it, so half of "
             "HAProxy's CPU is out of reach wherever the floor is above "
             "that half.")
    L.append("")
    L.append("Connection rate while the checks run (the issue's \"within "
             "5%%\"): `bench/run --health-checks %d` (with `--health-kind "
             "http` for HTTP checks) runs its own hcserver on the same "
             "addresses and measures svcproxy's and HAProxy's new "
             "connections/s while each checks these endpoints every "
             "second, against the same proxy checking none, in the same "
             "rounds (its \"Data path, %d health checks\" section)." % (
                 args.endpoints, args.endpoints))
    L.append("")
    L.append("Commands:")
    L.append("")
    for k in sorted(cmds):
        L.append("- %s: `%s`" % (k, cmds[k]))
    text = "\n".join(L) + "\n"
    print(text)
    if not args.no_results:
        B.write_results("Health checks", text)


if __name__ == "__main__":
    main()
