#!/usr/bin/env python3
"""srcmap: which backend does each client address reach, and through
which proxy?  For consistency.sh and ecmp.sh.

  serve --hosts A,B,... --ready F [--port P]
      listen on every address on one port (kernel-chosen unless --port)
      and write the port to F; answer each connection with one line,
      "LOCAL PEER" (the backend's own address, its id; the address the
      connection came from, i.e. the proxy that relayed it), then close;
      with --echo 1, echo what comes next until the client's EOF.
  query H:P --src-base IP --src-count N [--per K] [--conc C] [--seed S]
      from each of N consecutive IPv4 source addresses, K connections,
      each bound to its source before connect (port kernel-chosen), C
      at once, sources in an order shuffled with seed S (0: in order);
      print "SRC LOCAL PEER" per connection, or "SRC error WHAT".
  failover H:P --src-base IP --src-count N --survivor PEER --run R
      --mark F --ready F
      connect back to back, from source after source; write --ready
      after the first answer.  Once file --mark exists, holding the
      wall-clock time T of a node's stop, wait for R answers in a row,
      all relayed by PEER, the first begun after T: print "took S
      attempts A failed E" (S: from T to the first of those R).
  hold H:P --src-base IP --src-count N --ready F --rounds R
      one connection from each source, to an --echo server; write F.0
      with "SRC PEER" per connection once all are open.  Then for each
      round r in 1..R: wait for file F.go.r, send a line on every
      connection still open and write F.r with "SRC PEER STATE", STATE
      alive (echoed), or reset, eof, timeout (then closed), or dead
      (an earlier round closed it).
Every connection gives up after --timeout seconds (5; failover: 0.5),
every run after --deadline seconds (120).  Loopback or the test's own
network namespaces only.
"""
import asyncio
import ipaddress
import os
import random
import resource
import socket
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def opts(args, flags):
    o = dict(flags)
    it = iter(args)
    for k in it:
        if k not in o:
            sys.exit("srcmap: unknown option %s" % k)
        o[k] = next(it)
    return o


def sources(o):
    base = int(ipaddress.IPv4Address(o["--src-base"]))
    return [str(ipaddress.IPv4Address(base + i))
            for i in range(int(o["--src-count"]))]


def write_file(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


# ---- server ----

class Answer(asyncio.Protocol):
    echo = False

    def connection_made(self, transport):
        self.transport = transport
        local = transport.get_extra_info("sockname")[0]
        peer = transport.get_extra_info("peername")[0]
        transport.write(("%s %s\n" % (local, peer)).encode())
        if not self.echo:
            transport.close()

    def data_received(self, data):
        self.transport.write(data)


class Echo(Answer):
    echo = True


async def serve(o):
    hosts = o["--hosts"].split(",")
    loop = asyncio.get_running_loop()
    fixed = int(o["--port"])
    proto = Echo if o["--echo"] == "1" else Answer
    for attempt in range(50):
        port, servers = fixed, []
        try:
            for h in hosts:
                s = await loop.create_server(proto, h, port, backlog=4096,
                                             reuse_address=True)
                port = s.sockets[0].getsockname()[1]
                servers.append(s)
            break
        except OSError:
            # Another program holds the port on one of the addresses:
            # try another kernel-chosen one.
            for s in servers:
                s.close()
            if fixed:
                raise
    else:
        sys.exit("srcmap: no port free on all of %s" % o["--hosts"])
    write_file(o["--ready"], "%d\n" % port)
    await asyncio.Event().wait()


# ---- clients ----

async def ask(loop, src, target, timeout):
    """One connection from src: the backend's line, or "error WHAT"."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.bind((src, 0))
        await asyncio.wait_for(loop.sock_connect(s, target), timeout)
        buf = b""
        while not buf.endswith(b"\n"):
            b = await asyncio.wait_for(loop.sock_recv(s, 512), timeout)
            if not b:
                break
            buf += b
        line = buf.decode(errors="replace").strip()
        return line if len(line.split()) == 2 else "error eof"
    except (OSError, asyncio.TimeoutError) as e:
        return "error " + (type(e).__name__)
    finally:
        s.close()


async def query(target, o):
    loop = asyncio.get_running_loop()
    srcs = sources(o)
    seed = int(o["--seed"])
    if seed:
        random.Random(seed).shuffle(srcs)
    per = int(o["--per"])
    timeout = float(o["--timeout"])
    work = [s for s in srcs for _ in range(per)]
    out = []
    nxt = 0

    async def worker():
        nonlocal nxt
        while nxt < len(work):
            src = work[nxt]
            nxt += 1
            out.append("%s %s" % (src, await ask(loop, src, target,
                                                   timeout)))

    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(int(o["--conc"])))),
        float(o["--deadline"]))
    sys.stdout.write("\n".join(out) + "\n")


def ask_sync(src, target, timeout):
    """As ask(), blocking: one connection at a time."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect(target)
        buf = b""
        while not buf.endswith(b"\n"):
            b = s.recv(512)
            if not b:
                break
            buf += b
        line = buf.decode(errors="replace").strip()
        return line if len(line.split()) == 2 else "error eof"
    except OSError as e:
        return "error " + type(e).__name__
    finally:
        s.close()


def readline(s):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(512)
        if not b:
            raise EOFError
        buf += b
    return buf.decode(errors="replace").split()


def hold(target, o):
    timeout = float(o["--timeout"])
    end = time.time() + float(o["--deadline"])
    ready = o["--ready"]
    conns = []
    for src in sources(o):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(target)
        conns.append([src, readline(s)[1], s, "alive"])
    write_file(ready + ".0", "".join("%s %s\n" % (c[0], c[1])
                                     for c in conns))
    for r in range(1, int(o["--rounds"]) + 1):
        while not os.path.exists("%s.go.%d" % (ready, r)):
            if time.time() > end:
                return 1
            time.sleep(0.05)
        for c in conns:
            if c[2] is None:
                c[3] = "dead"
                continue
            try:
                c[2].sendall(b"ping\n")
                c[3] = "alive" if readline(c[2]) == ["ping"] else "mismatch"
            except EOFError:
                c[3] = "eof"
            except socket.timeout:
                c[3] = "timeout"
            except OSError:
                c[3] = "reset"
            if c[3] != "alive":
                c[2].close()
                c[2] = None
        write_file("%s.%d" % (ready, r), "".join(
            "%s %s %s\n" % (c[0], c[1], c[3]) for c in conns))
    return 0


def failover(target, o):
    srcs = sources(o)
    survivor = o["--survivor"]
    want = int(o["--run"])
    timeout = float(o["--timeout"])
    end = time.time() + float(o["--deadline"])
    ready = False
    t_kill = None
    run_start, run = None, 0
    attempts = failed = 0
    i = 0
    while time.time() < end:
        src = srcs[i % len(srcs)]
        i += 1
        t = time.time()
        got = ask_sync(src, target, timeout)
        ok = not got.startswith("error")
        if ok and not ready:
            write_file(o["--ready"], "ready\n")
            ready = True
        time.sleep(0.01)
        if t_kill is None and os.path.exists(o["--mark"]):
            with open(o["--mark"]) as f:
                t_kill = float(f.read())
        if t_kill is None or t < t_kill:
            continue
        attempts += 1
        failed += not ok
        if ok and got.split()[1] == survivor:
            if run == 0:
                run_start = t
            run += 1
            if run >= want:
                print("took %.3f attempts %d failed %d" %
                      (run_start - t_kill, attempts, failed))
                return 0
        else:
            run = 0
    print("timeout attempts %d failed %d" % (attempts, failed))
    return 1


def main(argv):
    raise_nofile()
    if len(argv) >= 2 and argv[1] == "serve":
        o = opts(argv[2:], {"--hosts": None, "--ready": None, "--port": "0",
                            "--echo": "0"})
        asyncio.run(serve(o))
        return 0
    if len(argv) >= 3 and argv[1] == "query":
        o = opts(argv[3:], {"--src-base": None, "--src-count": None,
                            "--per": "1", "--conc": "32", "--seed": "0",
                            "--timeout": "5", "--deadline": "120"})
        asyncio.run(query(hostport(argv[2]), o))
        return 0
    if len(argv) >= 3 and argv[1] == "hold":
        o = opts(argv[3:], {"--src-base": None, "--src-count": None,
                            "--ready": None, "--rounds": "1",
                            "--timeout": "2", "--deadline": "90"})
        return hold(hostport(argv[2]), o)
    if len(argv) >= 3 and argv[1] == "failover":
        o = opts(argv[3:], {"--src-base": None, "--src-count": None,
                            "--survivor": None, "--run": "50",
                            "--mark": None, "--ready": None,
                            "--timeout": "0.5", "--deadline": "60"})
        return failover(hostport(argv[2]), o)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
