#!/usr/bin/env python3
"""tcptool: backends and clients for the data-path integration tests.

Servers (write their kernel-chosen port to --ready once listening):
  serve --mode echo|id|eofreply|rst|watch|finfirst --host H [--name N]
        --ready F [--watch W]
        finfirst: send 64 KiB + "bye\n", shut write, then read to EOF
        and append "got N SHA256" of what came after to W
  blackhole --host H --ready F      listen, never accept, queue full
                                    (checked: a probe connect must not
                                    complete before --ready is written)
Clients (print one result line; exit 0 when it is the expected one):
  echo H:P DATA                     send DATA, print what comes back
  id H:P                            print the backend's first line
  bulk H:P MIB                      MIB MiB both ways at once, SHA-256
  halfclose H:P DATA                send, shut write, print the reply
  mixed H:P N CONC SEED             N echo connections, CONC at once, of
                                    seeded sizes 0 to 256 KiB, each sent
                                    and half-closed while reading the
                                    echo to EOF: print "ok N fail M",
                                    then "bytes B" (the sum of sizes)
  rst H:P                           send, then reset the connection
  expect-reset H:P DATA             print reset|eof|data:<bytes>
  resets H:P DATA N                 N connections one after another as
                                    expect-reset: print how many were
                                    reset
  reset-time H:P DATA               as expect-reset, then the seconds
                                    from connect to that outcome (the
                                    interpreter's start left out)
  idle H:P                          echo once, print seconds until EOF
  slow H:P SECONDS                  echo, print started, sleep, echo
                                    again: print ok
  hold H:P N READY [silent]         hold N echo connections until stdin
                                    closes; then check each again
                                    (silent: send nothing until then)
  persist H:P READY GO              echo once, write READY, wait (up to
                                    60 s) for file GO, echo again: print
                                    alive|reset|eof
  finlater H:P KIB                  read to the backend's EOF, then send
                                    KIB KiB of seeded bytes and shut
                                    write: print "eof N sent M SHA256"
                                    (N bytes before the EOF)
Every client gives up after --timeout seconds (default 20); --source H
binds clients to address H first (a Pod or outside client's address);
--connected F writes F once the client's connect has completed (the
connection is established, accepted or not).
"""
import asyncio
import hashlib
import os
import random
import resource
import selectors
import socket
import struct
import sys
import threading
import time

TIMEOUT = 20.0
SOURCE = None
CONNECTED = None
FINFIRST = b"f" * 65536 + b"bye\n"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(target):
    host, port = hostport(target)
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if SOURCE:
        s.bind((SOURCE, 0))
    s.connect((host, port))
    if CONNECTED:
        write_ready(CONNECTED, s.getsockname()[1])
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            break
        buf += b
    return buf


def write_ready(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def linger0(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


# ---- servers ----

async def serve_conn(mode, name, watch, reader, writer):
    sock = writer.get_extra_info("socket")
    try:
        if mode == "id":
            writer.write(name.encode() + b"\n")
            await writer.drain()
        if mode in ("echo", "id"):
            while True:
                data = await reader.read(262144)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            writer.write_eof()
        elif mode == "eofreply":
            h = hashlib.sha256()
            n = 0
            while True:
                data = await reader.read(262144)
                if not data:
                    break
                h.update(data)
                n += len(data)
            await asyncio.sleep(0.2)  # reply well after the client's FIN
            writer.write(("got %d %s\n" % (n, h.hexdigest())).encode())
            await writer.drain()
        elif mode == "rst":
            await reader.read(1)
            linger0(sock)
        elif mode == "watch":
            what = "eof"
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
            except ConnectionResetError:
                what = "reset"
            with open(watch, "a") as f:
                f.write(what + "\n")
        elif mode == "finfirst":
            writer.write(FINFIRST)
            await writer.drain()
            writer.write_eof()
            h = hashlib.sha256()
            n = 0
            while True:
                data = await reader.read(262144)
                if not data:
                    break
                h.update(data)
                n += len(data)
            with open(watch, "a") as f:
                f.write("got %d %s\n" % (n, h.hexdigest()))
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()


async def serve_main(args):
    opts = dict(zip(args[::2], args[1::2]))
    mode = opts.get("--mode", "echo")
    name = opts.get("--name", "backend")
    host = opts.get("--host", "127.0.0.1")
    watch = opts.get("--watch", "/dev/null")
    server = await asyncio.start_server(
        lambda r, w: serve_conn(mode, name, watch, r, w),
        host=host, port=int(opts.get("--port", "0")), backlog=4096,
        reuse_address=True, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    write_ready(opts["--ready"], port)
    async with server:
        await server.serve_forever()


def blackhole(args):
    """A listener whose accept queue is full: SYNs to it are dropped."""
    opts = dict(zip(args[::2], args[1::2]))
    host = opts.get("--host", "127.0.0.1")
    fam = family(host)
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.bind((host, 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    # One established connection fills a backlog of 0; wait for it
    # (bounded) rather than for a fixed time.
    fillers = [socket.create_connection((host, port), 10)]
    for _ in range(3):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect((host, port))
        except BlockingIOError:
            pass
        fillers.append(c)
    # Check: a probe's SYN must go unanswered.  One that completes
    # (the filler was not queued yet) fills the queue itself: keep it.
    for _ in range(5):
        probe = socket.socket(fam, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect((host, port))
            fillers.append(probe)
        except (socket.timeout, TimeoutError):
            probe.close()
            write_ready(opts["--ready"], port)
            break
    else:
        print("blackhole: every probe connect completed: queue not full")
        return 1
    while True:
        time.sleep(3600)


# ---- clients ----

def c_echo(target, data):
    s = connect(target)
    s.sendall(data.encode())
    print(recv_exact(s, len(data)).decode())
    return 0


def c_id(target):
    s = connect(target)
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(256)
        if not b:
            break
        line += b
    print(line.decode().strip())
    return 0 if line else 1


def c_bulk(target, mib):
    total = int(mib) << 20
    chunk = 1 << 20
    s = connect(target)
    sent_h = hashlib.sha256()
    rng = random.Random(12345)
    blocks = [rng.randbytes(chunk) for _ in range(7)]
    err = []

    def sender():
        try:
            for i in range(total // chunk):
                b = blocks[i % 7][i % 997:] + blocks[i % 7][:i % 997]
                sent_h.update(b)
                s.sendall(b)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t0 = time.time()
    th = threading.Thread(target=sender)
    th.start()
    got_h = hashlib.sha256()
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        got_h.update(b)
        n += len(b)
    th.join()
    dt = time.time() - t0
    ok = not err and n == total and got_h.digest() == sent_h.digest()
    print("%s bytes=%d sent=%s got=%s MiB/s=%.0f" % (
        "ok" if ok else "MISMATCH", n, sent_h.hexdigest()[:16],
        got_h.hexdigest()[:16], 2 * n / dt / (1 << 20)))
    return 0 if ok else 1


def c_halfclose(target, data):
    s = connect(target)
    s.sendall(data.encode())
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        reply += b
    print(reply.decode().strip())
    return 0


def echo_exchange(target, data):
    """Send data and half-close while reading the echo to EOF, both at
    once (no deadlock on full buffers); None, or what went wrong."""
    s = connect(target)
    s.setblocking(False)
    deadline = time.monotonic() + TIMEOUT
    sel = selectors.DefaultSelector()
    sent, got, shut = 0, [], False
    try:
        if not data:
            s.shutdown(socket.SHUT_WR)
            shut = True
        sel.register(s, selectors.EVENT_READ |
                     (0 if shut else selectors.EVENT_WRITE))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout after %d of %d bytes sent, %d back" % (
                    sent, len(data), sum(map(len, got)))
            for _, ev in sel.select(left):
                if ev & selectors.EVENT_WRITE and not shut:
                    sent += s.send(data[sent:sent + 65536])
                    if sent == len(data):
                        s.shutdown(socket.SHUT_WR)
                        shut = True
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    b = s.recv(262144)
                    if not b:
                        back = b"".join(got)
                        if back != data:
                            return "%d bytes sent, %d different back" % (
                                len(data), len(back))
                        return None
                    got.append(b)
    except OSError as e:
        return "%s after %d bytes sent" % (e, sent)
    finally:
        sel.close()
        s.close()


def c_mixed(target, n, conc, seed):
    rng = random.Random(int(seed))
    sizes = [0 if rng.random() < 0.05 else int(2 ** rng.uniform(0, 18))
             for _ in range(int(n))]
    errors, lock = [], threading.Lock()
    todo = list(enumerate(sizes))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i, size = todo.pop()
            err = echo_exchange(target, rng_bytes(seed, i, size))
            if err:
                with lock:
                    errors.append("conn %d (%d bytes): %s" % (i, size, err))

    threads = [threading.Thread(target=worker) for _ in range(int(conc))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("ok %d fail %d" % (len(sizes) - len(errors), len(errors)))
    print("bytes %d" % sum(sizes))
    for e in errors[:5]:
        print(e)
    return 0 if not errors else 1


def rng_bytes(seed, i, size):
    return random.Random("%s-%d" % (seed, i)).randbytes(size)


def c_rst(target):
    s = connect(target)
    s.sendall(b"hello")
    time.sleep(0.3)
    linger0(s)
    s.close()
    print("sent-reset")
    return 0


def expect_reset(target, data):
    try:
        # A reset can come before connect() has reported success.
        s = connect(target)
        s.sendall(data.encode())
        b = s.recv(65536)
        return "eof" if not b else "data:%d" % len(b)
    except ConnectionResetError:
        return "reset"


def c_expect_reset(target, data):
    print(expect_reset(target, data))
    return 0


def c_resets(target, data, n):
    print(sum(expect_reset(target, data) == "reset" for _ in range(int(n))))
    return 0


def c_reset_time(target, data):
    t0 = time.monotonic()
    what = expect_reset(target, data)
    print("%s %.3f" % (what, time.monotonic() - t0))
    return 0


def c_idle(target):
    s = connect(target)
    s.sendall(b"x")
    recv_exact(s, 1)
    t0 = time.time()
    try:
        b = s.recv(10)
        what = "eof" if not b else "data"
    except ConnectionResetError:
        what = "reset"
    print("%s %.2f" % (what, time.time() - t0))
    return 0


def c_slow(target, seconds):
    s = connect(target)
    s.sendall(b"one")
    a = recv_exact(s, 3)
    print("started", flush=True)
    time.sleep(float(seconds))
    s.sendall(b"two")
    b = recv_exact(s, 3)
    print("ok" if a == b"one" and b == b"two" else "bad %r %r" % (a, b))
    return 0


def c_persist(target, ready, go):
    s = connect(target)
    s.sendall(b"one")
    ok = recv_exact(s, 3) == b"one"
    write_ready(ready, 1 if ok else 0)
    for _ in range(600):
        if os.path.exists(go):
            break
        time.sleep(0.1)
    try:
        s.sendall(b"two")
        b = recv_exact(s, 3)
        print("alive" if b == b"two" else "eof" if not b else "data")
    except (ConnectionResetError, BrokenPipeError):
        print("reset")
    return 0


def c_finlater(target, kib):
    """The backend closes its side first; then this client's bytes."""
    s = connect(target)
    n = 0
    data = random.Random(int(kib)).randbytes(int(kib) * 1024)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            n += len(b)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        # The proxy closes once both FINs have passed: wait for it, so
        # the caller knows the bytes had their chance to arrive.
        while s.recv(65536):
            pass
    except OSError as e:
        print("error %d bytes before: %s" % (n, e))
        return 1
    print("eof %d sent %d %s" % (n, len(data),
                                 hashlib.sha256(data).hexdigest()))
    return 0


async def hold_main(target, n, ready, silent=False):
    host, port = hostport(target)
    conns = []
    sem = asyncio.Semaphore(200)

    async def one(i):
        async with sem:
            r, w = await asyncio.open_connection(
                host, port, local_addr=(SOURCE, 0) if SOURCE else None)
            msg = b"c%d\n" % i
            if not silent:
                w.write(msg)
                await w.drain()
                got = await r.readexactly(len(msg))
                if got != msg:
                    raise RuntimeError("bad echo")
            conns.append((r, w, msg))

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))),
                           TIMEOUT)
    write_ready(ready, len(conns))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for r, w, msg in conns:
        w.write(msg)

    # Read them all at once, each closed as soon as it echoed: at a
    # connection limit the ones still queued are accepted only once
    # others close, and which ones the proxy accepted first is not the
    # order they connected in (one queue per worker).
    async def echoed(r, w, msg):
        try:
            return await r.readexactly(len(msg)) == msg
        except (OSError, asyncio.IncompleteReadError):
            return False
        finally:
            w.close()

    try:
        res = await asyncio.wait_for(asyncio.gather(
            *(echoed(r, w, msg) for r, w, msg in conns)), TIMEOUT)
    except asyncio.TimeoutError:
        res = []
    ok = sum(1 for x in res if x)
    print("held %d alive %d" % (len(conns), ok))
    return 0 if ok == n else 1


def main(argv):
    global TIMEOUT, SOURCE, CONNECTED
    if "--timeout" in argv:
        i = argv.index("--timeout")
        TIMEOUT = float(argv[i + 1])
        del argv[i:i + 2]
    if "--connected" in argv:
        i = argv.index("--connected")
        CONNECTED = argv[i + 1]
        del argv[i:i + 2]
    if "--source" in argv:
        i = argv.index("--source")
        SOURCE = argv[i + 1]
        del argv[i:i + 2]
    raise_nofile()
    cmd, args = argv[0], argv[1:]
    if cmd == "serve":
        asyncio.run(serve_main(args))
        return 0
    if cmd == "blackhole":
        return blackhole(args)
    if cmd == "hold":
        return asyncio.run(hold_main(args[0], int(args[1]), args[2],
                                     args[3:] == ["silent"]))
    fn = {"echo": c_echo, "id": c_id, "bulk": c_bulk,
          "halfclose": c_halfclose, "mixed": c_mixed, "rst": c_rst,
          "expect-reset": c_expect_reset, "reset-time": c_reset_time,
          "resets": c_resets,
          "idle": c_idle,
          "slow": c_slow, "persist": c_persist,
          "finlater": c_finlater}[cmd]
    try:
        return fn(*args)
    except (socket.timeout, TimeoutError):
        print("timeout")
        return 1
    except ConnectionRefusedError:
        print("refused")
        return 1
    except ConnectionResetError:
        print("reset")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
