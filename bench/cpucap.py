"""cpucap.py: cap a set of processes to a fraction of one CPU, through a
cgroup this script makes and removes, so that a proxy (not the client
or the backends) is what limits a benchmark.

  with CpuCap("bench-haproxy", 0.15) as cap:
      cap.add(pids)          # every process of the contender
      ...                    # run the load
      cap.stats()            # {"nr_throttled": .., "throttled_s": ..}

The cgroup v1 cpu controller (/sys/fs/cgroup/cpu/NAME, cpu.cfs_quota_us
over cpu.cfs_period_us) is used where it is mounted, as on these
machines; otherwise cgroup v2's cpu.max in the unified hierarchy.  The
period is short (10 ms, not the kernel's 100 ms default) so that a
capped proxy is throttled often and briefly: a 100 ms period would show
up as 85 ms stalls in every latency percentile.  Needs root.

Processes are moved back to the root group and the group is removed on
close, also when the benchmark fails (atexit), so no cgroup outlives
the run.
"""

import atexit
import os
import time

V1 = "/sys/fs/cgroup/cpu"
V2 = "/sys/fs/cgroup"
PERIOD_US = 10000

_open = []


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _read(path):
    with open(path) as f:
        return f.read()


def available():
    """The cgroup flavour this machine offers: "v1", "v2", or None."""
    if os.path.exists(os.path.join(V1, "cpu.cfs_quota_us")):
        return "v1"
    if os.path.exists(os.path.join(V2, "cgroup.controllers")) and \
            "cpu" in _read(os.path.join(V2, "cgroup.controllers")).split():
        return "v2"
    return None


class CpuCap:
    def __init__(self, name, fraction, period_us=PERIOD_US):
        if not 0 < fraction <= 64:
            raise ValueError("fraction %r" % fraction)
        self.kind = available()
        if self.kind is None:
            raise RuntimeError("no cgroup cpu controller (v1 %s or v2 %s)"
                               % (V1, V2))
        self.name = name
        self.fraction = fraction
        self.period_us = period_us
        self.quota_us = max(1000, int(round(fraction * period_us)))
        base = V1 if self.kind == "v1" else V2
        self.path = os.path.join(base, name)
        self.root = base
        if os.path.isdir(self.path):
            self._remove()	# left by a run that was killed
        os.mkdir(self.path)
        if self.kind == "v1":
            _write(os.path.join(self.path, "cpu.cfs_period_us"),
                   str(period_us))
            _write(os.path.join(self.path, "cpu.cfs_quota_us"),
                   str(self.quota_us))
        else:
            ctl = os.path.join(V2, "cgroup.subtree_control")
            if "cpu" not in _read(ctl).split():
                _write(ctl, "+cpu")
            _write(os.path.join(self.path, "cpu.max"),
                   "%d %d" % (self.quota_us, period_us))
        _open.append(self)

    def describe(self):
        if self.kind == "v1":
            return ("cgroup v1 %s: cpu.cfs_quota_us %d / cpu.cfs_period_us "
                    "%d" % (self.path, self.quota_us, self.period_us))
        return "cgroup v2 %s: cpu.max \"%d %d\"" % (
            self.path, self.quota_us, self.period_us)

    def add(self, pids):
        """Move processes (all their threads) into the group."""
        for pid in pids:
            _write(os.path.join(self.path, "cgroup.procs"), str(pid))

    def stats(self):
        """Throttling so far: periods, throttled periods, seconds."""
        out = {}
        for line in _read(os.path.join(self.path, "cpu.stat")).splitlines():
            k, v = line.split()
            out[k] = int(v)
        if self.kind == "v1":
            return {"nr_periods": out.get("nr_periods", 0),
                    "nr_throttled": out.get("nr_throttled", 0),
                    "throttled_s": out.get("throttled_time", 0) / 1e9}
        return {"nr_periods": out.get("nr_periods", 0),
                "nr_throttled": out.get("nr_throttled", 0),
                "throttled_s": out.get("throttled_usec", 0) / 1e6}

    def _remove(self):
        procs = os.path.join(self.path, "cgroup.procs")
        for _ in range(50):
            try:
                pids = _read(procs).split()
            except OSError:
                return
            for pid in pids:
                try:
                    _write(os.path.join(self.root, "cgroup.procs"), pid)
                except OSError:
                    pass	# exited meanwhile
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.02)

    def close(self):
        if self in _open:
            _open.remove(self)
            self._remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@atexit.register
def _close_all():
    for cap in list(_open):
        cap.close()


if __name__ == "__main__":
    # Self-check: a busy loop capped to 20% uses about 20% of a CPU.
    import subprocess
    import sys
    frac = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with CpuCap("cpucap-selftest", frac) as cap:
            cap.add([p.pid])
            t0 = os.times()
            def cpu():
                with open("/proc/%d/stat" % p.pid) as f:
                    f = f.read().rsplit(")", 1)[1].split()
                return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
            c0, w0 = cpu(), time.monotonic()
            time.sleep(2)
            used = (cpu() - c0) / (time.monotonic() - w0)
            print("%s\nasked %.2f of a CPU, used %.2f; %s" % (
                cap.describe(), frac, used, cap.stats()))
            if abs(used - frac) > 0.05 + frac * 0.15:
                sys.exit("cap not effective")
    finally:
        p.kill()
        p.wait()
