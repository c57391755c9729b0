#!/usr/bin/env python3
"""loadgen: traffic for the reload and upgrade tests (reload.sh,
upgrade.sh, failover.sh), against echo backends (tcptool.py serve).

  short H:P --threads N --stop FILE --out FILE [--ready FILE] [--pause S]
      N threads open short connections back to back until FILE exists:
      connect, send 256 random bytes, half-close, read the echo to EOF,
      compare.  --out gets "ok N fail M" and one line per failure.
  stream H:P --conns N --stop FILE --out FILE [--ready FILE]
      N long-lived connections, each sending 4 KiB blocks of a seeded
      stream and checking every echoed byte, until FILE exists.  --out
      gets "streams N broken M bytes B" and one line per broken stream.
  probe H:P --ready FILE --out FILE [--interval S]
      one connection echoing a few bytes every S seconds until it
      breaks; --out gets "alive SECONDS end eof|reset|timeout|mismatch",
      SECONDS from the first echo (when --ready is written).
  until-ok H:P --timeout S
      connect repeatedly (20 ms apart) until an echo succeeds; prints
      the seconds it took, or "timeout".
Loopback or the test's own namespaces only; every wait is bounded.
"""
import os
import random
import socket
import sys
import threading
import time

TIMEOUT = 10.0


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def connect(target, timeout=TIMEOUT):
    host, port = hostport(target)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            break
        buf += b
    return bytes(buf)


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def opts(args):
    return dict(zip(args[::2], args[1::2]))


def short(target, o):
    stop = o["--stop"]
    pause = float(o.get("--pause", "0"))
    lock = threading.Lock()
    st = {"ok": 0, "fail": 0, "errors": []}

    def one(rng):
        data = rng.randbytes(256)
        s = connect(target)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = bytearray()
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
        finally:
            s.close()
        if bytes(got) != data:
            raise RuntimeError("echo mismatch: %d of 256 bytes" % len(got))

    def loop(k):
        rng = random.Random(k)
        while not os.path.exists(stop):
            try:
                one(rng)
                with lock:
                    st["ok"] += 1
                time.sleep(pause)
            except Exception as e:  # every failure counts
                with lock:
                    st["fail"] += 1
                    st["errors"].append("%.3f %r" % (time.time(), e))
                time.sleep(0.01)

    th = [threading.Thread(target=loop, args=(k,))
          for k in range(int(o.get("--threads", "4")))]
    for t in th:
        t.start()
    if "--ready" in o:
        write_file(o["--ready"], "1\n")
    for t in th:
        t.join()
    write_file(o["--out"], "ok %d fail %d\n%s" % (
        st["ok"], st["fail"], "".join(e + "\n" for e in st["errors"][:50])))
    return 0 if st["fail"] == 0 else 1


def stream(target, o):
    stop = o["--stop"]
    n = int(o.get("--conns", "4"))
    socks = [connect(target) for _ in range(n)]
    res = [None] * n
    total = [0] * n

    def run(k):
        rng = random.Random(1000 + k)
        s = socks[k]
        try:
            while not os.path.exists(stop):
                block = rng.randbytes(4096)
                s.sendall(block)
                got = recv_exact(s, len(block))
                if got != block:
                    res[k] = "mismatch after %d bytes (%d back)" % (
                        total[k], len(got))
                    return
                total[k] += len(block)
                time.sleep(0.005)
            s.close()
        except Exception as e:
            res[k] = "%r after %d bytes" % (e, total[k])

    th = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in th:
        t.start()
    if "--ready" in o:
        write_file(o["--ready"], "%d\n" % n)
    for t in th:
        t.join()
    broken = [r for r in res if r is not None]
    write_file(o["--out"], "streams %d broken %d bytes %d\n%s" % (
        n, len(broken), sum(total), "".join(b + "\n" for b in broken)))
    return 0 if not broken else 1


def probe(target, o):
    interval = float(o.get("--interval", "0.1"))
    s = connect(target)
    s.sendall(b"x")
    if recv_exact(s, 1) != b"x":
        write_file(o["--out"], "alive 0 end mismatch\n")
        return 1
    t0 = time.time()
    write_file(o["--ready"], "%.3f\n" % t0)
    end = "timeout"
    while time.time() - t0 < 120:
        time.sleep(interval)
        try:
            s.sendall(b"y")
            b = recv_exact(s, 1)
            if b == b"":
                end = "eof"
                break
            if b != b"y":
                end = "mismatch"
                break
        except (ConnectionResetError, BrokenPipeError):
            end = "reset"
            break
        except socket.timeout:
            end = "timeout"
            break
    write_file(o["--out"], "alive %.2f end %s\n" % (time.time() - t0, end))
    return 0


def until_ok(target, o):
    limit = float(o.get("--timeout", "30"))
    t0 = time.time()
    while time.time() - t0 < limit:
        try:
            s = connect(target, 0.5)
            s.sendall(b"ping")
            if recv_exact(s, 4) == b"ping":
                print("%.2f" % (time.time() - t0))
                return 0
        except OSError:
            pass
        time.sleep(0.02)
    print("timeout")
    return 1


def main(argv):
    cmd, target, o = argv[0], argv[1], opts(argv[2:])
    fn = {"short": short, "stream": stream, "probe": probe,
          "until-ok": until_ok}[cmd]
    return fn(target, o)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
