#!/usr/bin/env python3
"""affinity_clients: many clients, each from its own loopback source.

  affinity_clients.py HOST:PORT PREFIX N CONNS [--out FILE]

Client i (0 <= i < N) binds PREFIX.(i // 250).(i % 250 + 1) (PREFIX is
two octets, e.g. 127.77) before each connect, makes CONNS connections
one after another and reads the backend's first line (tcptool's id
mode: its name).  Prints one line per client: "SOURCE NAME NAME ...".
Clients run 16 at a time; every socket times out after 10 s.  Exit 1
if any connection failed (its name is then "-").
"""
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def one(host, port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.bind((src, 0))
        s.connect((host, port))
        buf = b""
        while b"\n" not in buf:
            d = s.recv(256)
            if not d:
                break
            buf += d
        return buf.split(b"\n")[0].decode() or "-"
    except OSError:
        return "-"
    finally:
        s.close()


def client(host, port, src, conns):
    return src, [one(host, port, src) for _ in range(conns)]


def main():
    target, prefix, n, conns = sys.argv[1:5]
    host, _, port = target.rpartition(":")
    n, conns, port = int(n), int(conns), int(port)
    srcs = ["%s.%d.%d" % (prefix, i // 250, i % 250 + 1) for i in range(n)]
    with ThreadPoolExecutor(16) as ex:
        res = list(ex.map(lambda s: client(host, port, s, conns), srcs))
    bad = 0
    for src, names in res:
        print(src, " ".join(names))
        bad += names.count("-")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
