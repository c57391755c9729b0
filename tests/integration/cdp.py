#!/usr/bin/env python3
"""cdp.py: evaluate a JavaScript expression in a headless chromium's page
through the DevTools protocol, in real time (dump-dom's virtual time
stops the clock a page measures with).  Standard library only: a
minimal WebSocket client (RFC 6455, text frames, client masking).

  cdp.py USERDATADIR EXPR [SECONDS]

Chromium must run with --remote-debugging-port=0 --user-data-dir=
USERDATADIR (it writes the port it chose to USERDATADIR/DevToolsActivePort)
and one page open.  EXPR is evaluated every 0.1 s until it gives a value
that is not null (printed as JSON, exit 0) or SECONDS pass (exit 1).
Loopback only.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request


def ws_connect(url, deadline):
    # url: ws://127.0.0.1:PORT/devtools/page/ID
    rest = url[len("ws://"):]
    hostport, path = rest.split("/", 1)
    host, port = hostport.rsplit(":", 1)
    s = socket.create_connection((host, int(port)),
                                 max(0.1, deadline - time.time()))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key))
              .encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise OSError("websocket handshake: connection closed")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise OSError("websocket handshake: %r" % head[:80])
    return s, rest


def ws_send(s, text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        hdr = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


class Reader:
    def __init__(self, s, pending):
        self.s, self.buf = s, pending

    def need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise OSError("websocket closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self):
        parts = []
        while True:
            b0, b1 = self.need(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", self.need(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.need(8))[0]
            payload = self.need(n)      # the server does not mask
            if b0 & 0x0f in (0x8,):
                raise OSError("websocket closed by the browser")
            if b0 & 0x0f in (0x9, 0xa):
                continue                # ping/pong
            parts.append(payload)
            if b0 & 0x80:
                return b"".join(parts).decode()


def main():
    ud, expr = sys.argv[1], sys.argv[2]
    deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3
                              else 30)
    port = None
    while time.time() < deadline:
        try:
            with open(os.path.join(ud, "DevToolsActivePort")) as f:
                port = int(f.readline())
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" %
                                        port, timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    else:
        print("no DevTools page within the time", file=sys.stderr)
        return 1
    s, pending = ws_connect(pages[0]["webSocketDebuggerUrl"], deadline)
    s.settimeout(max(0.5, deadline - time.time()))
    rd = Reader(s, pending)
    n = 0
    while time.time() < deadline:
        n += 1
        ws_send(s, json.dumps({"id": n, "method": "Runtime.evaluate",
                               "params": {"expression": expr,
                                          "returnByValue": True}}))
        while True:
            m = json.loads(rd.message())
            if m.get("id") == n:
                break
        v = m.get("result", {}).get("result", {}).get("value")
        if v is not None:
            print(json.dumps(v))
            return 0
        time.sleep(0.1)
    print("no value within the time", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
