#!/usr/bin/env python3
"""bench/listeners.py: many Services on one node, listener sockets per
worker (SO_REUSEPORT) against shared (one per address, EPOLLEXCLUSIVE).

  bench/listeners.py [--services N] [--workers N] [--rounds N]
                     [--duration S] [--cap F] [--modes LIST]
                     [--defer] [--no-results]

The configuration is bench/gen_config.py's (default 5,000 Services,
50,000 Pods, 1,000 NetworkPolicies: every listening address of the
generated node), plus one Service, bench/bench-http, on 127.207.255.250
with an nginx backend (127.95.0.1, one worker, a 1 KiB file) that the
load goes through.  For each mode (ProxyConfig spec.listenerSockets
PerWorker, then Shared, in an order rotated each round) a fresh
`svcproxy run --workers 2` (pinned to CPU 1) is measured:

  startup   wall time from exec to /healthz answering 200
  fds       /proc/PID/fd once ready, and the listener sockets /status
            counts; the connections the fd budget leaves (the log)
  RSS       VmRSS once ready
  reload    wall time from SIGHUP to the "applied" log line, for a
            change of connectTimeout (a full reload: load, validate,
            resolve, build, listener diff), median of 3
  conn/s    wrk -t1 -c32 -H 'Connection: close' for --duration seconds
            through bench-http (wrk and nginx on CPU 0), the proxy
            capped to --cap of one CPU (bench/cpucap.py) so that it is
            the bottleneck; the proxy's CPU per connection
            (utime+stime / connections); the shared mode's wake-ups
            and idle wake-ups per worker (/status)

With --defer, the conn/s runs compare svcproxy.io/defer-accept "true"
against "false" on bench-http instead (shared mode), for
TCP_DEFER_ACCEPT's effect per connection: the "TCP_DEFER_ACCEPT"
section.

Writes the "Many Services" section of bench/RESULTS.md through
bench/results.py unless --no-results.  Output under bench/out/listeners.
Loopback only; needs wrk and nginx.  Not run by `make check`.
"""

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "listeners")
sys.path.insert(0, HERE)
from cpucap import CpuCap  # noqa: E402

SVC_ADDR = "127.207.255.250"
SVC_PORT = 18080
BACKEND = "127.95.0.1"
BACKEND_PORT = 18081
ADMIN_PORT = 19188
CMDS = []


def log(*a):
    print("bench/listeners:", *a, file=sys.stderr, flush=True)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def backend():
    root = os.path.join(OUT, "www")
    os.makedirs(root, exist_ok=True)
    write(os.path.join(root, "small"), "x" * 1023 + "\n")
    conf = write(os.path.join(OUT, "nginx.conf"), """\
worker_processes 1;
worker_rlimit_nofile 20000;
pid %s/nginx.pid;
error_log %s/nginx.err warn;
events { worker_connections 19000; }
http {
    access_log off;
    server { listen %s:%d backlog=4096; root %s; }
}
""" % (OUT, OUT, BACKEND, BACKEND_PORT, root))
    cmd = ["taskset", "-c", "0", "nginx", "-e", os.path.join(OUT,
           "nginx.err"), "-c", conf, "-g", "daemon off;"]
    CMDS.append(" ".join(map(shlex.quote, cmd)))
    return subprocess.Popen(cmd)


def gen(services):
    conf = os.path.join(OUT, "conf")
    cmd = [sys.executable, os.path.join(HERE, "gen_config.py"), "-o", conf,
           "--services", str(services), "--pods", str(services * 10),
           "--netpols", str(services // 5)]
    CMDS.append(" ".join(map(shlex.quote, cmd[1:])))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(conf, "proxyconfig.yaml")) as f:
        base = f.read()
    return conf, base


def set_config(conf, base, mode, workers, timeout, defer=None):
    """proxyconfig.yaml for mode, and bench-http's file."""
    pc = base.replace("adminAddress: 127.0.0.1:19180",
                      "adminAddress: 127.0.0.1:%d" % ADMIN_PORT)
    pc += "  workers: %d\n  connectionLog: \"off\"\n" % workers
    pc += "  listenerSockets: %s\n  connectTimeout: %s\n" % (mode, timeout)
    write(os.path.join(conf, "proxyconfig.yaml.tmp"), pc)
    os.replace(os.path.join(conf, "proxyconfig.yaml.tmp"),
               os.path.join(conf, "proxyconfig.yaml"))
    ann = "" if defer is None else \
        "  annotations: {svcproxy.io/defer-accept: \"%s\"}\n" % defer
    write(os.path.join(conf, "zz-bench.yaml"), """\
apiVersion: v1
kind: Namespace
metadata: {name: bench}
---
apiVersion: v1
kind: Service
metadata:
  name: bench-http
  namespace: bench
%sspec:
  selector: {app: bench-http}
  clusterIP: %s
  ports: [{name: http, port: %d, targetPort: %d, appProtocol: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: bench-http-0, namespace: bench, labels: {app: bench-http}}
spec: {containers: [{name: c, ports: [{containerPort: %d}]}]}
status: {phase: Running, podIP: "%s", conditions: [{type: Ready, status: "True"}]}
""" % (ann, SVC_ADDR, SVC_PORT, BACKEND_PORT, BACKEND_PORT, BACKEND))


def http(path, timeout=2):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (ADMIN_PORT,
                                    path), timeout=timeout) as r:
            return r.status, r.read()
    except Exception:
        return 0, b""


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def applied(logf):
    with open(logf) as f:
        return f.read().count("reload: configuration ")


class Proxy:
    def __init__(self, svcproxy, conf, tag):
        self.logf = os.path.join(OUT, "run-%s.log" % tag)
        cmd = ["taskset", "-c", "1", svcproxy, "run", "-c", conf]
        CMDS.append(" ".join(map(shlex.quote, cmd)))
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, stdout=open(self.logf, "w"),
                                  stderr=subprocess.STDOUT)
        self.pid = self.p.pid

    def wait_ready(self, bound=120):
        while time.monotonic() - self.t0 < bound:
            if self.p.poll() is not None:
                sys.exit("svcproxy exited: see %s" % self.logf)
            if http("/healthz", 1)[0] == 200:
                return time.monotonic() - self.t0
            time.sleep(0.02)
        sys.exit("svcproxy not ready in %d s: %s" % (bound, self.logf))

    def reload(self, bound=60):
        n = applied(self.logf)
        t0 = time.monotonic()
        self.p.send_signal(signal.SIGHUP)
        while time.monotonic() - t0 < bound:
            if applied(self.logf) > n:
                return time.monotonic() - t0
            time.sleep(0.005)
        sys.exit("reload not applied in %d s: %s" % (bound, self.logf))

    def status(self):
        code, body = http("/status", 10)
        return json.loads(body) if code == 200 else {}

    def conns_budget(self):
        with open(self.logf) as f:
            for line in f:
                if "connections (2 fds each)" in line:
                    return int(line.split("up to ")[1].split()[0])
        return 0

    def open_ms(self):
        """lsn_open's time at startup (its log line)."""
        with open(self.logf) as f:
            for line in f:
                if "sockets opened in " in line:
                    return int(line.split("sockets opened in ")[1].split()[0])
        return 0

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def wrk(duration):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", "-c32", "-d%ds" % duration,
           "-H", "Connection: close",
           "http://%s:%d/small" % (SVC_ADDR, SVC_PORT)]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    reqs = 0
    for line in out.splitlines():
        if "requests in" in line:
            reqs = int(line.split()[0])
    return reqs, out


def traced(px, duration, tag):
    """Syscalls per connection over a wrk run under strace -c (every
    thread of px): {"sys": all, "epoll_wait": .., "accept4": ..}."""
    out = os.path.join(OUT, "strace-%s.txt" % tag)
    cmd = ["strace", "-c", "-o", out]
    for t in os.listdir("/proc/%d/task" % px.pid):
        cmd += ["-p", t]
    st = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    reqs, _ = wrk(duration)
    st.send_signal(signal.SIGINT)
    st.wait(20)
    r = {"sys": 0}
    with open(out) as f:
        for line in f:
            v = line.split()
            if len(v) >= 5 and v[-1] not in ("syscall", "total") and \
                    v[0][0].isdigit():
                calls = int(v[3])
                r["sys"] += calls
                r[v[-1]] = calls
    return {k: v / max(reqs, 1) for k, v in r.items()}


def load(px, tag, args):
    """conn/s and CPU per connection through bench-http, px capped."""
    with CpuCap("lsn-%s" % tag, args.cap) as cap:
        cap.add([px.pid])
        wrk(1)                              # warm-up
        s0 = px.status()
        c0 = cpu_s(px.pid)
        reqs, _ = wrk(args.duration)
        c1 = cpu_s(px.pid)
        s1 = px.status()
    r = {"conns": reqs / args.duration,
         "cpu_us": (c1 - c0) / reqs * 1e6 if reqs else 0}
    if args.strace:
        tr = traced(px, 2, tag)
        r["sys_conn"] = tr["sys"]
        r["epoll_conn"] = tr.get("epoll_wait", 0)
    w0 = s0.get("listenerSockets", {}).get("workers", [])
    w1 = s1.get("listenerSockets", {}).get("workers", [])
    if w0 and w1:
        r["accepted"] = [b["accepted"] - a["accepted"]
                         for a, b in zip(w0, w1)]
        r["wakeups"] = sum(b["wakeups"] - a["wakeups"] for a, b in
                           zip(w0, w1))
        r["idle"] = sum(b["idleWakeups"] - a["idleWakeups"] for a, b in
                        zip(w0, w1))
    return r


def one(args, conf, base, mode, rnd):
    set_config(conf, base, mode, args.workers, "5s")
    px = Proxy(args.svcproxy, conf, "%s-%d" % (mode, rnd))
    try:
        r = {"startup": px.wait_ready()}
        r["rss_mb"] = rss_kb(px.pid) / 1024
        r["fds"] = len(os.listdir("/proc/%d/fd" % px.pid))
        st = px.status().get("listenerSockets", {})
        r["sockets"] = st.get("sockets", 0)
        r["addresses"] = st.get("addresses", 0)
        r["mode"] = st.get("mode", "?")
        r["budget"] = px.conns_budget()
        r["open_ms"] = px.open_ms()
        rl = []
        if not args.defer:
            for i in range(3):
                set_config(conf, base, mode, args.workers, "%ds" % (6 + i))
                rl.append(px.reload())
        r["reload"] = statistics.median(rl) if rl else 0
        r.update(load(px, "%s-%d" % (mode, rnd), args))
    finally:
        px.stop()
    log(mode, rnd, {k: (round(v, 3) if isinstance(v, float) else v)
                    for k, v in r.items()})
    return r


def med(rs, k):
    v = [r[k] for r in rs if k in r]
    return statistics.median(v) if v else 0


def span(rs, k, fmt):
    v = sorted(r[k] for r in rs if k in r)
    if not v:
        return "-"
    if len(v) == 1:
        return fmt % v[0]
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(v),
                                                    v[0], v[-1])


def report(args, res, modes):
    L = []
    if args.defer:
        L.append("TCP_DEFER_ACCEPT on bench-http (appProtocol: http, "
                 "svcproxy.io/defer-accept forced \"true\" against "
                 "\"false\"), shared sockets, %d workers, "
                 "%d Services generated beside it, proxy capped to %.2f "
                 "of CPU 1; median (min-max) of %d rounds, "
                 "interleaved." % (args.workers, args.services, args.cap,
                                   args.rounds))
        L.append("")
        L.append("| defer-accept | conn/s | proxy CPU us/conn | "
                 "syscalls/conn | epoll_wait/conn |")
        L.append("|---|---|---|---|---|")
        for m in modes:
            L.append("| %s | %s | %s | %s | %s |" % (
                m, span(res[m], "conns", "%.0f"),
                span(res[m], "cpu_us", "%.1f"),
                span(res[m], "sys_conn", "%.2f"),
                span(res[m], "epoll_conn", "%.2f")))
    else:
        L.append("%d Services from bench/gen_config.py (plus bench-http), "
                 "`svcproxy run` with %d workers on CPU 1, open file limit "
                 "%d; median (min-max) of %d rounds, modes interleaved. "
                 "conn/s: wrk -t1 -c32 -H 'Connection: close' for %d s "
                 "through one address, proxy capped to %.2f of one CPU; "
                 "syscalls/conn: strace -c on every thread over a 2 s "
                 "uncapped run (--strace); wake-ups: the shared sockets' "
                 "(/status), idle ones found nothing to accept." %
                 (args.services, args.workers, args.nofile, args.rounds,
                  args.duration, args.cap))
        L.append("")
        L.append("| listenerSockets | addresses | listener sockets | "
                 "fds open | connections the budget leaves | listeners "
                 "opened in ms | startup s | "
                 "RSS MB | reload s | conn/s | proxy CPU us/conn | "
                 "syscalls/conn | wake-ups/conn (idle) |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for m in modes:
            rs = res[m]
            wk = "-"
            if any("wakeups" in r for r in rs):
                n = sum(sum(r["accepted"]) for r in rs if "accepted" in r)
                wk = "%.2f (%.2f)" % (
                    sum(r.get("wakeups", 0) for r in rs) / max(n, 1),
                    sum(r.get("idle", 0) for r in rs) / max(n, 1))
            L.append("| %s | %d | %d | %d | %d | %s | %s | %s | %s | %s | "
                     "%s | %s | %s |" % (m, med(rs, "addresses"),
                                    med(rs, "sockets"), med(rs, "fds"),
                                    med(rs, "budget"),
                                    span(rs, "open_ms", "%.0f"),
                                    span(rs, "startup", "%.2f"),
                                    span(rs, "rss_mb", "%.0f"),
                                    span(rs, "reload", "%.2f"),
                                    span(rs, "conns", "%.0f"),
                                    span(rs, "cpu_us", "%.1f"),
                                    span(rs, "sys_conn", "%.2f"), wk))
        L.append("")
        L.append("Per-worker accepts in the conn/s runs (split between the "
                 "two workers):")
        L.append("")
        for m in modes:
            L.append("- %s: %s" % (m, "; ".join(
                "/".join(str(a) for a in r["accepted"])
                for r in res[m] if "accepted" in r)))
    L.append("")
    L.append("Commands:")
    L.append("")
    L.append("```")
    L.append("bench/listeners.py " + " ".join(map(shlex.quote,
                                                  sys.argv[1:])))
    for c in dict.fromkeys(CMDS):
        L.append(c.replace(TOP + "/", ""))
    L.append("```")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--cap", type=float, default=0.15)
    ap.add_argument("--modes", default="PerWorker,Shared")
    ap.add_argument("--defer", action="store_true")
    ap.add_argument("--strace", action="store_true",
                    help="syscalls per connection (uncapped, 2 s)")
    ap.add_argument("--no-results", action="store_true")
    ap.add_argument("--svcproxy", default=os.environ.get(
        "SVCPROXY", os.path.join(TOP, "build", "src", "svcproxy")))
    args = ap.parse_args()
    import resource
    args.nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    modes = args.modes.split(",") if not args.defer else ["true", "false"]
    os.makedirs(OUT, exist_ok=True)
    conf, base = gen(args.services)
    nginx = backend()
    res = {m: [] for m in modes}
    try:
        for rnd in range(args.rounds):
            order = modes[rnd % len(modes):] + modes[:rnd % len(modes)]
            for m in order:
                if args.defer:
                    res[m].append(defer_one(args, conf, base, m, rnd))
                else:
                    res[m].append(one(args, conf, base, m, rnd))
    finally:
        nginx.terminate()
        nginx.wait()
    text = report(args, res, modes)
    print(text)
    if not args.no_results:
        subprocess.run([sys.executable, os.path.join(HERE, "results.py"),
                        os.path.join(HERE, "RESULTS.md"),
                        "TCP_DEFER_ACCEPT" if args.defer else
                        "Many Services"], input=text, text=True, check=True)


def defer_one(args, conf, base, defer, rnd):
    set_config(conf, base, "Shared", args.workers, "5s", defer)
    px = Proxy(args.svcproxy, conf, "defer-%s-%d" % (defer, rnd))
    try:
        px.wait_ready()
        r = load(px, "defer-%s-%d" % (defer, rnd), args)
    finally:
        px.stop()
    log("defer-accept", defer, rnd, r)
    return r


if __name__ == "__main__":
    main()
