# SPDX-License-Identifier: MIT
"""Python websockets (Debian's, legacy asyncio API of 10.x) as a client of
wsm's echo_server, plus hand-written frames over plain sockets.

Usage: /usr/bin/python3 py_client.py path/to/echo_server

Checks byte for byte: text and binary messages from 0 bytes to 16 MiB,
fragmented messages, ping payloads, subprotocol choice, close codes echoed on
their own connections; then frames no peer may send (each answered by a close
frame with 1002 or 1007 and the end of the TCP connection), the default frame
and fragment limits and --max-message (1009), bad upgrade requests (400, 426),
40 connections at once, IPv6 loopback, SIGTERM (close 1001, exit 0), and the
HTML page on a plain GET /.
"""

import asyncio
import base64
import hashlib
import http.client
import os
import random
import signal
import socket
import struct
import sys
import time

import harness

try:
    import websockets
    import websockets.client
    import websockets.exceptions
except ImportError as e:
    harness.skip(f"python3-websockets is not importable from {sys.executable}: {e}")

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok or not detail else f": {detail}"),
          flush=True)
    return ok


def diff(want, got):
    if got is None:
        return f"got nothing, want {len(want)} bytes"
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return f"first difference at byte {i} of {len(want)}: want {a:#x}, got {b:#x}"
    return f"length: want {len(want)}, got {len(got)}"


async def step(name, seconds, coro):
    t0 = time.monotonic()
    try:
        await asyncio.wait_for(coro, seconds)
    except asyncio.TimeoutError:
        check(name, False, f"timed out after {seconds} s")
    except Exception as e:  # one failing step must not hide the others
        check(name, False, f"{type(e).__name__}: {e}")
    dt = time.monotonic() - t0
    if dt > 2:
        print(f"     ({name}: {dt:.1f} s)", flush=True)


async def within(seconds, what, aw):
    """Awaits aw; a timeout fails with what was awaited, not as the step's."""
    try:
        return await asyncio.wait_for(aw, seconds)
    except asyncio.TimeoutError:
        raise AssertionError(f"no {what} within {seconds} s") from None


def connect(url, **kwargs):
    # No keepalive pings of its own: they would race with the pongs we count.
    return websockets.client.connect(url, max_size=64 << 20, ping_interval=None,
                                     open_timeout=10, close_timeout=10, **kwargs)


def check_echo(name, want, got):
    if isinstance(want, str):
        if not check(f"{name}: echoed as text", isinstance(got, str), type(got).__name__):
            return
        want_b, got_b = want.encode(), got.encode()
    else:
        if not check(f"{name}: echoed as binary", isinstance(got, bytes), type(got).__name__):
            return
        want_b, got_b = want, got
    check(f"{name}: echo byte for byte", want_b == got_b, diff(want_b, got_b))


TEXTS = [
    ("empty text", ""),
    ("ascii text", "Hello, wsm!"),
    ("two-byte UTF-8", "héllo wörld, ça va"),
    ("three-byte UTF-8", "€ 漢字 ✓ かな"),
    ("emoji", "😀🎉👍🏽🇫🇷"),
    ("1 MiB mixed UTF-8", "aé€😀" * 104858),
]
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20]


async def messages(url):
    async with connect(url, subprotocols=["nope", "chat"]) as ws:
        check("subprotocol: first offered that the server knows", ws.subprotocol == "chat",
              repr(ws.subprotocol))
        for name, text in TEXTS:
            await ws.send(text)
            check_echo(name, text, await ws.recv())
        for n in SIZES:
            data = os.urandom(n)
            await ws.send(data)
            check_echo(f"binary {n} bytes", data, await ws.recv())


async def fragments(url):
    async with connect(url) as ws:
        parts = [os.urandom(70000), b"", os.urandom(1), os.urandom(300)]
        await ws.send(parts)  # an iterable is sent as one fragmented message
        check_echo("binary in 4 fragments, one empty", b"".join(parts), await ws.recv())
        words = ["frag", "mented ", "tëxt ", "😀"]
        await ws.send(words)
        check_echo("text in 4 fragments", "".join(words), await ws.recv())


async def pings(url):
    async with connect(url) as ws:
        for n in (0, 1, 125):
            payload = os.urandom(n)
            waiter = await ws.ping(payload)
            # websockets completes the waiter only for a pong with this payload.
            try:
                await asyncio.wait_for(waiter, 5)
                check(f"ping of {n} bytes: pong carries its payload", True)
            except asyncio.TimeoutError:
                check(f"ping of {n} bytes: pong carries its payload", False, "no such pong")


async def subprotocols(url):
    for offer, want in ((["superchat", "chat"], "superchat"), (["nope"], None), (None, None)):
        async with connect(url, subprotocols=offer) as ws:
            check(f"offer {offer}: server chose {want!r}", ws.subprotocol == want,
                  repr(ws.subprotocol))


async def close_code(url, code):
    async with connect(url) as ws:
        await ws.send("before close")
        await ws.recv()
        await ws.close(code, f"closing with {code}")
        check(f"close {code}: the server echoed code {code}", ws.close_code == code,
              f"got {ws.close_code} {ws.close_reason!r}")


async def concurrency(url, conns=40, per_conn=25):
    """Many connections at once, each echoing messages of random kinds and
    sizes: the event loop must keep every connection's bytes apart."""
    async def one(i):
        rng = random.Random(i)
        bad = 0
        async with connect(url) as ws:
            for _ in range(per_conn):
                n = rng.choice((0, 1, 125, 126, 1000, 65536, rng.randrange(200000)))
                msg = os.urandom(n) if rng.random() < 0.5 else "ü✓" * (n // 5)
                await ws.send(msg)
                bad += await ws.recv() != msg
        return bad
    bad = await asyncio.gather(*(one(i) for i in range(conns)))
    check(f"{conns} connections at once, {per_conn} echoes each", sum(bad) == 0,
          f"{sum(bad)} echoes differ")


async def ipv6(binary):
    try:
        socket.socket(socket.AF_INET6).close()
        harness.free_port("::1")
    except OSError as e:
        print(f"     (no IPv6 loopback here: {e}; not checked)")
        return
    with harness.EchoServer(binary, host="::1") as srv:
        check("IPv6: the listening line shows the address in brackets",
              any("ws://[::1]:" in line for line in srv.lines), srv.dump())
        async with connect(srv.url) as ws:
            await ws.send("over IPv6 ✓")
            check_echo("IPv6 loopback", "over IPv6 ✓", await ws.recv())


async def sigterm(binary):
    """SIGTERM: open connections get close 1001, then the server exits 0."""
    with harness.EchoServer(binary) as srv:
        async with connect(srv.url) as ws:
            await ws.send("before SIGTERM")
            await ws.recv()
            os.kill(srv.proc.pid, signal.SIGTERM)
            await within(10, "close after SIGTERM", ws.wait_closed())
            check("SIGTERM: the server closes with 1001", ws.close_code == 1001,
                  f"{ws.close_code} {ws.close_reason!r}")
        try:
            rc = await asyncio.to_thread(srv.proc.wait, 10)
            check("SIGTERM: then the server exits 0", rc == 0, f"exit {rc}\n" + srv.dump())
        except Exception:
            check("SIGTERM: then the server exits", False, "still running after 10 s")


class Raw:
    """A TCP connection that did the opening handshake by hand."""

    @classmethod
    async def open(cls, host, port, after=b""):
        """after: bytes sent in the same write as the request."""
        self = cls()
        self.reader, self.writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16))
        self.writer.write(b"GET /raw HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          b"Sec-WebSocket-Version: 13\r\n\r\n" % (host.encode(), port, key)
                          + after)
        head = await self.reader.readuntil(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if not head.startswith(b"HTTP/1.1 101 "):
            raise AssertionError(f"no 101: {head!r}")
        if b"\r\nsec-websocket-accept: " + accept.lower() + b"\r\n" not in head.lower():
            raise AssertionError(f"bad Sec-WebSocket-Accept in {head!r}")
        return self

    async def frame(self):
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        if b1 & 0x80:
            raise AssertionError("the server masked a frame")
        return b0 & 0x80, (b0 >> 4) & 7, b0 & 0x0F, await self.reader.readexactly(n)

    def close(self):
        self.writer.close()


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """A client frame; length overrides the payload length field."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def parse_frames(data):
    """Server frames in data: a list of (fin, rsv, opcode, payload), and the
    bytes of an incomplete frame at the end."""
    frames, i = [], 0
    while i + 2 <= len(data):
        n, j = data[i + 1] & 0x7F, i + 2
        if data[i + 1] & 0x80:
            raise AssertionError("the server masked a frame")
        if n >= 126:
            k = 2 if n == 126 else 8
            if j + k > len(data):
                break
            n, j = int.from_bytes(data[j:j + k], "big"), j + k
        if j + n > len(data):
            break
        frames.append((data[i] & 0x80, (data[i] >> 4) & 7, data[i] & 0x0F, data[j:j + n]))
        i = j + n
    return frames, data[i:]


async def expect_failure(srv, name, data, code):
    """Sends data and reads to the end of the TCP connection: the last thing
    before it must be a close frame with code."""
    raw = await Raw.open(harness.HOST, srv.port)
    got, ended = bytearray(), False
    try:
        raw.writer.write(data)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = await asyncio.wait_for(raw.reader.read(1 << 16),
                                               max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            except ConnectionResetError:
                check(f"{name}: TCP closed in order (FIN, not reset)", False, "reset")
                break
            if not chunk:
                ended = True
                break
            got += chunk
    finally:
        raw.close()
    frames, partial = parse_frames(bytes(got))
    closes = [f for f in frames if f[2] == 0x8]
    payload = closes[0][3] if closes else b""
    code_got = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    check(f"{name}: close code {code}", code_got == code,
          f"got {code_got}, reason {payload[2:]!r}" if closes else
          f"no close frame in {len(frames)} frames ({len(got)} bytes)")
    check(f"{name}: TCP closed right after the close frame", ended and len(closes) == 1
          and frames[-1][2] == 0x8 and not partial,
          f"ended {ended}, {len(closes)} close frames, last opcode "
          f"{frames[-1][2] if frames else None}, {len(partial)} bytes after")


async def protocol_errors(srv):
    cases = [
        ("reserved opcode 0x3", frame(0x3, b"x"), 1002),
        ("unmasked client frame", frame(0x1, b"hello", mask=False), 1002),
        ("ping of 126 bytes", frame(0x9, b"p" * 126), 1002),
        ("fragmented ping", frame(0x9, b"p", fin=False), 1002),
        ("continuation with no message", frame(0x0, b"c"), 1002),
        ("new text inside a fragmented one",
         frame(0x1, b"a", fin=False) + frame(0x1, b"b"), 1002),
        ("64-bit length with the top bit set", frame(0x2, b"", length=1 << 63), 1002),
        ("16-bit length field for 5 bytes",
         bytes([0x82, 0x80 | 126, 0, 5]) + b"\0\0\0\0" + b"12345", 1002),
        ("close with a 1-byte payload", frame(0x8, b"\x03"), 1002),
        ("close with code 1005 on the wire", frame(0x8, struct.pack("!H", 1005)), 1002),
        ("close with code 999", frame(0x8, struct.pack("!H", 999)), 1002),
        ("close with code 5000", frame(0x8, struct.pack("!H", 5000)), 1002),
        ("invalid UTF-8 text", frame(0x1, b"ok \xc3\x28"), 1007),
        ("overlong UTF-8 text", frame(0x1, b"\xc0\xaf"), 1007),
        ("UTF-16 surrogate in text", frame(0x1, b"\xed\xa0\x80"), 1007),
        ("text ending inside a character",
         frame(0x1, b"abc \xe2\x82", fin=False) + frame(0x0, b"!"), 1007),
        ("close reason not UTF-8", frame(0x8, struct.pack("!H", 1000) + b"\xff"), 1007),
        ("65537 fragments (the default limit is 65536)",
         b"".join([bytes([0x02, 0x81, 0, 0, 0, 0, 7])]
                  + [bytes([0x00, 0x81, 0, 0, 0, 0, 7])] * 65535
                  + [bytes([0x80, 0x81, 0, 0, 0, 0, 7])]), 1009),
        # Refused at the header: the payload is never sent.
        ("frame header of 16 MiB + 1 (the default limit)",
         frame(0x2, b"", length=(16 << 20) + 1), 1009),
    ]
    for name, data, code in cases:
        await step(name, 12, expect_failure(srv, name, data, code))
    check("echo_server still running after the protocol errors", srv.alive())


async def raw_interleaving(srv):
    """A text message split inside a character, with a ping between its
    frames: the pong comes first, then the echo, whole and valid."""
    raw = await Raw.open(harness.HOST, srv.port)
    try:
        text = "split 😀 here".encode()
        cut = text.index(b"\xf0") + 2
        raw.writer.write(frame(0x1, text[:cut], fin=False) + frame(0x9, b"mid-message")
                         + frame(0x0, text[cut:]))
        got, pong = b"", None
        while True:
            fin, rsv, opcode, payload = await within(5, "pong and echo", raw.frame())
            if opcode == 0xA:
                pong = payload
            elif opcode in (0x0, 0x1):
                got += payload
                if fin:
                    break
            else:
                raise AssertionError(f"unexpected opcode {opcode:#x}")
        check("ping inside a fragmented text: pong payload", pong == b"mid-message", repr(pong))
        check("ping inside a fragmented text: echo byte for byte", got == text, diff(text, got))
        raw.writer.write(frame(0x8, struct.pack("!H", 1000)))
        fin, rsv, opcode, payload = await within(5, "close echo", raw.frame())
        check("close handshake by hand: echoed 1000",
              opcode == 0x8 and payload[:2] == struct.pack("!H", 1000), repr(payload))
        rest = await within(5, "end of TCP", raw.reader.read())
        check("close handshake by hand: then the server closes TCP", rest == b"", repr(rest[:20]))
    finally:
        raw.close()


async def frame_with_request(srv):
    """A frame in the same segment as the upgrade request."""
    raw = await Raw.open(harness.HOST, srv.port, after=frame(0x1, "right behind ✓".encode()))
    try:
        fin, rsv, opcode, payload = await within(5, "echo", raw.frame())
        check("frame sent with the request: echoed",
              fin and opcode == 0x1 and payload == "right behind ✓".encode(),
              f"fin {fin} opcode {opcode} {payload!r}")
    finally:
        raw.close()


async def bad_upgrade(srv, name, request, status, header=None):
    reader, writer = await asyncio.open_connection(harness.HOST, srv.port)
    try:
        writer.write(request)
        answer = await within(5, "answer and end of TCP", reader.read())
        check(f"{name}: HTTP {status}, then TCP closed",
              answer.startswith(b"HTTP/1.1 %d " % status), repr(answer[:200]))
        if header:
            check(f"{name}: answer has {header.decode().strip()}", header.lower() in answer.lower(),
                  repr(answer[:200]))
    finally:
        writer.close()


async def bad_upgrades(srv):
    base = (b"GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            % (harness.HOST.encode(), srv.port))
    key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    await bad_upgrade(srv, "upgrade without a key", base + b"Sec-WebSocket-Version: 13\r\n\r\n",
                      400)
    await bad_upgrade(srv, "upgrade with version 12",
                      base + key + b"Sec-WebSocket-Version: 12\r\n\r\n", 426,
                      b"\r\nSec-WebSocket-Version: 13\r\n")


async def max_message(small):
    async with connect(small.url) as ws:
        data = os.urandom(1024)
        await ws.send(data)
        check_echo("--max-message 1024: a 1024-byte message", data, await ws.recv())
    await expect_failure(small, "--max-message 1024: a 1025-byte message",
                         frame(0x2, os.urandom(1025)), 1009)
    await expect_failure(small, "--max-message 1024: 2 fragments of 600 bytes",
                         frame(0x2, os.urandom(600), fin=False) + frame(0x0, os.urandom(600)),
                         1009)


def page(srv):
    conn = http.client.HTTPConnection(harness.HOST, srv.port, timeout=5)
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        body = r.read()
        check("GET / answers 200", r.status == 200, f"{r.status} {r.reason}")
        check("GET / is HTML", (r.getheader("Content-Type") or "").startswith("text/html"),
              repr(r.getheader("Content-Type")))
        check("GET / has a body", b"<" in body and len(body) > 0, repr(body[:80]))
    finally:
        conn.close()


async def main(binary):
    with harness.EchoServer(binary, ["--protocol", "chat", "--protocol", "superchat"]) as srv:
        url = srv.url
        await step("messages of every size", 60, messages(url))
        await step("fragmented messages", 20, fragments(url))
        await step("ping payloads", 10, pings(url))
        await step("subprotocol choice", 10, subprotocols(url))
        for code in (1000, 1001, 3000, 4999):
            await step(f"close {code}", 10, close_code(url, code))
        await step("many connections at once", 40, concurrency(url))
        await step("ping inside a fragmented message", 15, raw_interleaving(srv))
        await step("frame in the request's segment", 10, frame_with_request(srv))
        await step("bad upgrade requests", 15, bad_upgrades(srv))
        await protocol_errors(srv)
        await step("plain GET /", 10, asyncio.to_thread(page, srv))
        check("echo_server still running at the end", srv.alive())
        if results["failed"]:
            print(srv.dump(), flush=True)
    with harness.EchoServer(binary, ["--max-message", "1024"]) as small:
        await step("--max-message", 20, max_message(small))
        if results["failed"]:
            print(small.dump(), flush=True)
    await step("IPv6 loopback", 15, ipv6(binary))
    await step("SIGTERM", 25, sigterm(binary))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: py_client.py path/to/echo_server")
    harness.alarm(150, "py_client.py")
    asyncio.run(main(sys.argv[1]))
    print(f"websockets {websockets.__version__} client against echo_server: "
          f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(0 if results["failed"] == 0 and results["passed"] > 0 else 1)
