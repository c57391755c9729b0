#!/usr/bin/env python3
"""relaytool: a backend and clients for relay_bytes.sh (how the relay
moves bytes: pipes filled by many small segments, EOF right behind
data).

Server (writes its kernel-chosen port to --ready once listening):
  serve --host H --ready F --go G
        per connection: read a first line "N\\n"; wait (up to 30 s)
        until file G exists, reading nothing meanwhile; then read
        exactly N bytes (up to --timeout seconds) and answer
        "got N SHA256\\n", or "short M\\n" with the M bytes that came
Clients (print one result line; exit 0 when it is the expected one):
  fragments H:P CHUNKS SIZE GO [fin]
        announce CHUNKS*SIZE bytes, then send them as CHUNKS sendfile
        calls of SIZE bytes, each from a page of its own (TCP_NODELAY):
        page fragments that no pipe slot can merge.  Once a send would
        block (everything between here and the backend is full), create
        GO so the backend starts reading.  The connection stays open (no
        FIN: nothing but the data may wake the relay), or with "fin" is
        half-closed right behind the last chunk (a FIN known to the
        relay must not end a pipe's worth of fragments early).  Print
        "ok N" when the backend's answer matches what was sent, else
        what it said.
  burst H:P SIZE
        send SIZE seeded bytes and shut write at once (the FIN right
        behind the data), read the echo to EOF: print "ok SIZE" when it
        is byte-exact, else "bad GOT"
Every client gives up after --timeout seconds (default 20).
"""
import hashlib
import os
import random
import select
import socket
import sys
import tempfile
import time

TIMEOUT = 20.0
PAGE = 4096


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def connect(target):
    host, port = hostport(target)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect((host, port))
    return s


def serve_conn(c, go):
    c.settimeout(TIMEOUT)
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            return
        line += b
    want = int(line)
    deadline = time.monotonic() + 30
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.02)
    h = hashlib.sha256()
    got = 0
    end = time.monotonic() + TIMEOUT
    try:
        while got < want and time.monotonic() < end:
            c.settimeout(max(0.1, end - time.monotonic()))
            b = c.recv(min(1 << 20, want - got))
            if not b:
                break
            h.update(b)
            got += len(b)
    except socket.timeout:
        pass
    if got == want:
        c.sendall(("got %d %s\n" % (got, h.hexdigest())).encode())
    else:
        c.sendall(("short %d\n" % got).encode())


def serve(host, ready, go):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, 0))
    ls.listen(16)
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, ready)
    while True:
        c, _ = ls.accept()
        try:
            serve_conn(c, go)
        except OSError:
            pass
        c.close()


def c_fragments(target, chunks, size, go, fin=False):
    rng = random.Random(chunks * 7919 + size)
    with tempfile.TemporaryFile() as f:
        for _ in range(chunks):
            f.write(rng.randbytes(PAGE))
        f.flush()
        sent_h = hashlib.sha256()
        f.seek(0)
        for i in range(chunks):
            f.seek(i * PAGE)
            sent_h.update(f.read(size))
        s = connect(target)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(b"%d\n" % (chunks * size))
        s.setblocking(False)
        end = time.monotonic() + TIMEOUT
        i = off = 0
        while i < chunks:
            if time.monotonic() > end:
                print("timeout sending chunk %d" % i)
                return 1
            try:
                n = os.sendfile(s.fileno(), f.fileno(), i * PAGE + off,
                                size - off)
            except BlockingIOError:
                if not os.path.exists(go):
                    open(go, "w").close()
                select.select([], [s], [], 1.0)
                continue
            off += n
            if off == size:
                i, off = i + 1, 0
        if fin:
            s.shutdown(socket.SHUT_WR)
        if not os.path.exists(go):
            open(go, "w").close()
        s.setblocking(True)
        s.settimeout(max(0.1, end - time.monotonic()))
        reply = b""
        try:
            while not reply.endswith(b"\n"):
                b = s.recv(256)
                if not b:
                    break
                reply += b
        except socket.timeout:
            reply += b"(timeout)"
        want = "got %d %s" % (chunks * size, sent_h.hexdigest())
        got = reply.decode(errors="replace").strip()
        print("ok %d" % (chunks * size) if got == want else got)
        return 0 if got == want else 1


def c_burst(target, size):
    data = random.Random(size).randbytes(size)
    s = connect(target)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    ok = got == data
    print("ok %d" % size if ok else "bad %d" % len(got))
    return 0 if ok else 1


def main(argv):
    global TIMEOUT
    if len(argv) > 2 and argv[1] == "--timeout":
        TIMEOUT = float(argv[2])
        argv = argv[:1] + argv[3:]
    cmd, rest = argv[1], argv[2:]
    if cmd == "serve":
        opts = dict(zip(rest[::2], rest[1::2]))
        serve(opts["--host"], opts["--ready"], opts["--go"])
        return 0
    if cmd == "fragments":
        return c_fragments(rest[0], int(rest[1]), int(rest[2]), rest[3],
                           rest[4:] == ["fin"])
    if cmd == "burst":
        return c_burst(rest[0], int(rest[1]))
    print("unknown command", cmd)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError) as e:
        print("error %s" % e)
        sys.exit(1)
