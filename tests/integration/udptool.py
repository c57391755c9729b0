#!/usr/bin/env python3
"""UDP helpers for udp.sh: an echo backend and clients, loopback only.

  serve --host H --name N --ready FILE   echo "N:<datagram>" from H:port
        [--delay MS]                     each reply MS ms after its request
  ask --to A:P [--bind B] --msg M        one request; prints "SRC REPLY"
  many --to A:P --net 127.X --n N        N clients on N source addresses,
                                         concurrently; prints how many got
                                         their own reply
  steady --to A:P --ms 10 --secs S       one client, a datagram every ms
                                         ms for S s; prints "sent got"
  burst --to A:P --n N [--bind B --port P]  N datagrams at once from one
                                         socket; prints how many distinct
                                         replies came within --secs
  freeport LO HI HOST...                 a UDP port free on every host
Every wait is bounded.
"""
import argparse, random, select, socket, sys, time


def split(hp):
    h, p = hp.rsplit(":", 1)
    return h.strip("[]"), int(p)


def fam(h):
    return socket.AF_INET6 if ":" in h else socket.AF_INET


def fmt(a):
    return ("[%s]:%d" if ":" in a[0] else "%s:%d") % (a[0], a[1])


def serve(a):
    s = socket.socket(fam(a.host), socket.SOCK_DGRAM)
    s.bind((a.host, a.port))
    with open(a.ready + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(a.ready + ".tmp", a.ready)
    tag = a.name.encode() + b":"
    if not a.delay:
        while True:
            d, src = s.recvfrom(65536)
            s.sendto(tag + d, src)
    # Delayed: replies wait in arrival order (one delay for all), so the
    # oldest is always the next due.
    import collections
    due = collections.deque()
    while True:
        wait = None
        if due:
            wait = max(0.0, due[0][0] - time.time())
        r, _, _ = select.select([s], [], [], wait)
        if r:
            d, src = s.recvfrom(65536)
            due.append((time.time() + a.delay / 1000.0, tag + d, src))
        while due and due[0][0] <= time.time():
            _, d, src = due.popleft()
            s.sendto(d, src)


def ask(a):
    h, p = split(a.to)
    s = socket.socket(fam(h), socket.SOCK_DGRAM)
    if a.bind:
        s.bind((a.bind, a.port))
    s.settimeout(a.timeout)
    for _ in range(a.tries):
        s.sendto(a.msg.encode(), (h, p))
        try:
            d, src = s.recvfrom(65536)
            print(fmt(src), d.decode())
            return 0
        except socket.timeout:
            continue
    print("timeout")
    return 1


def many(a):
    h, p = split(a.to)
    socks = {}
    for i in range(a.n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("%s.%d.%d" % (a.net, 1 + i // 250, 1 + i % 250), 0))
        s.setblocking(False)
        socks[s.fileno()] = (s, b"c%d" % i)
    ok = set()
    deadline = time.time() + a.secs
    p_ = select.epoll()
    for fd in socks:
        p_.register(fd, select.EPOLLIN)
    # Send all at once, then resend to whoever has no answer yet.
    while len(ok) < a.n and time.time() < deadline:
        for fd, (s, m) in socks.items():
            if fd not in ok:
                try:
                    s.sendto(m, (h, p))
                except BlockingIOError:
                    pass
        end = min(deadline, time.time() + 1.0)
        while len(ok) < a.n and time.time() < end:
            for fd, _ in p_.poll(0.2):
                s, m = socks[fd]
                try:
                    d, src = s.recvfrom(65536)
                except BlockingIOError:
                    continue
                if d.endswith(b":" + m) and src == (h, p):
                    ok.add(fd)
    print(len(ok))


def steady(a):
    h, p = split(a.to)
    s = socket.socket(fam(h), socket.SOCK_DGRAM)
    s.setblocking(False)
    sent, got = 0, set()
    end = time.time() + a.secs
    nxt = time.time()
    while time.time() < end:
        if time.time() >= nxt:
            s.sendto(b"%d" % sent, (h, p))
            sent += 1
            nxt += a.ms / 1000.0
        r, _, _ = select.select([s], [], [], max(0, nxt - time.time()))
        while r:
            try:
                d, _ = s.recvfrom(65536)
                got.add(d.rsplit(b":", 1)[1])
            except BlockingIOError:
                break
    # The last replies: up to one more second.
    end = time.time() + 1.0
    while time.time() < end and len(got) < sent:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            d, _ = s.recvfrom(65536)
            got.add(d.rsplit(b":", 1)[1])
    print(sent, len(got))


def burst(a):
    h, p = split(a.to)
    s = socket.socket(fam(h), socket.SOCK_DGRAM)
    if a.bind:
        s.bind((a.bind, a.port))
    for i in range(a.n):
        s.sendto(b"b%d" % i, (h, p))
    got = set()
    end = time.time() + a.secs
    while len(got) < a.n and time.time() < end:
        r, _, _ = select.select([s], [], [], max(0, end - time.time()))
        if r:
            d, _ = s.recvfrom(65536)
            got.add(d.rsplit(b":", 1)[1])
    print(len(got))


def freeport(a):
    for _ in range(200):
        p = random.randint(a.lo, a.hi)
        try:
            for h in a.hosts:
                for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(fam(h), t)
                    s.bind((h, p))
                    s.close()
            print(p)
            return 0
        except OSError:
            pass
    return 1


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    x = sp.add_parser("serve")
    x.add_argument("--host", required=True)
    x.add_argument("--port", type=int, default=0)
    x.add_argument("--name", required=True)
    x.add_argument("--ready", required=True)
    x.add_argument("--delay", type=float, default=0)
    x = sp.add_parser("ask")
    x.add_argument("--to", required=True)
    x.add_argument("--bind")
    x.add_argument("--port", type=int, default=0)
    x.add_argument("--msg", default="hi")
    x.add_argument("--timeout", type=float, default=1.0)
    x.add_argument("--tries", type=int, default=5)
    x = sp.add_parser("many")
    x.add_argument("--to", required=True)
    x.add_argument("--net", required=True)
    x.add_argument("--n", type=int, default=1000)
    x.add_argument("--secs", type=float, default=30)
    x = sp.add_parser("steady")
    x.add_argument("--to", required=True)
    x.add_argument("--ms", type=float, default=10)
    x.add_argument("--secs", type=float, default=3)
    x = sp.add_parser("burst")
    x.add_argument("--to", required=True)
    x.add_argument("--bind")
    x.add_argument("--port", type=int, default=0)
    x.add_argument("--n", type=int, default=3)
    x.add_argument("--secs", type=float, default=3)
    x = sp.add_parser("freeport")
    x.add_argument("lo", type=int)
    x.add_argument("hi", type=int)
    x.add_argument("hosts", nargs="+")
    a = ap.parse_args()
    return {"serve": serve, "ask": ask, "many": many, "steady": steady,
            "burst": burst, "freeport": freeport}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
