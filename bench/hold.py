#!/usr/bin/env python3
"""hold.py: open N TCP connections to ADDR:PORT and hold them, idle.

  hold.py ADDR PORT N [MAX_SECONDS]

Connects N sockets (non-blocking, a few hundred in flight at a time),
then prints "held K" (K: connections established) and waits for a line
on stdin (or MAX_SECONDS, default 60, whichever comes first).  It then
prints "alive K": connections the far end has not closed meanwhile (a
proxy that dropped them would show here), closes everything and exits.
bench/run uses it to measure a proxy's memory with many idle
connections.  Every step is bounded in time.
"""

import errno
import resource
import select
import socket
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: hold.py ADDR PORT N [MAX_SECONDS]")
    addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    deadline = time.monotonic() + limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))

    ep = select.epoll()
    pending = {}
    done = []
    failed = 0
    started = 0
    while (started < n or pending) and time.monotonic() < deadline:
        while started < n and len(pending) < 256:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((addr, port))
            started += 1
            if err not in (0, errno.EINPROGRESS):
                failed += 1
                s.close()
                continue
            pending[s.fileno()] = s
            ep.register(s.fileno(), select.EPOLLOUT)
        for fd, _ in ep.poll(0.5):
            s = pending.pop(fd)
            ep.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.append(s)
            else:
                failed += 1
                s.close()
    for s in pending.values():
        s.close()
    print("held %d failed %d" % (len(done), failed), flush=True)

    left = max(0.0, deadline - time.monotonic())
    select.select([sys.stdin], [], [], left)

    # A socket readable now has seen EOF or RST: the far end closed it.
    p = select.poll()
    for s in done:
        p.register(s.fileno(), select.POLLIN)
    closed = len(p.poll(0))
    alive = len(done) - closed
    for s in done:
        s.close()
    print("alive %d" % alive, flush=True)


if __name__ == "__main__":
    main()
