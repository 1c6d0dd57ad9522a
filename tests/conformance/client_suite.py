# SPDX-License-Identifier: MIT
"""Conformance cases against `examples/client --autobahn`, playing the
Autobahn TestSuite fuzzingserver.

The client asks GET /getCaseCount (we send the count as one text message,
then close), then /runCase?case=N&agent=NAME for N = 1..count, echoing every
message until we close, then /updateReports?agent=NAME. Each case sends what
only a server can send the client: messages up to 16 MiB, fragmented, with
pings between the fragments, chopped into single bytes; and what the client
must refuse: invalid UTF-8 (close 1007), reserved opcodes and bits, masked
server frames, bad control frames (1002), oversized messages (1009), invalid
close frames. Verdicts are those of server_suite.py. The test passes only when
every case is OK, every request was well-formed, mask keys were fresh, and
the client exits 0.

Usage: client_suite.py --client PATH [--case ID]... [--quiet] [--split SEED]
"""

import argparse
import base64
import os
import random
import socket
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FAILED, OK, Process, Results, Verdict, failed,  # noqa: E402
                     select_cases)
from peer import Peer, msg, pong  # noqa: E402
from wsframe import (BINARY, CLOSE, PING, TEXT, Endpoint, HandshakeError,  # noqa: E402
                     accept_value, header_tokens, header_values, parse_http_head)

HOST = "127.0.0.1"
AGENT = "wsm conformance/1"  # escaped in the query: checks the client's escaping
ACCEPT_WAIT = 15.0           # the client opens its next connection within this
CLIENT_BUF = (16 << 20) + 64 * 1024  # the client's message buffer (examples/client.c)

CASES = []


def case(cid):
    def register(fn):
        CASES.append((cid, fn, {}))
        return fn
    return register


def add_case(cid, fn):
    CASES.append((cid, fn, {}))


KIB, MIB = 1 << 10, 1 << 20
HELLO_UTF8 = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")
KOSME = bytes.fromhex("cebae1bdb9cf83cebcceb5")
# Text in 1-, 2-, 3- and 4-byte sequences, so fragment edges fall inside them.
MIXED_UTF8 = ("ascii \u00e9\u00df\u00b5 \u0915\u094d\u0937 \u6f22\u5b57 "
              "\U0001f600\U00010348 ").encode("utf-8")


def _echo(*messages, timeout=10.0):
    """Send each (opcode, payload) as one frame; all come back in order."""
    def run(p):
        p.send(*[p.frame(op, data) for op, data in messages])
        p.expect(*[msg(op, data) for op, data in messages], timeout=timeout)
        p.close_normal()
    return run


def _echo_fragmented(opcode, payload, size, timeout=30.0):
    def run(p):
        parts = [payload[i:i + size] for i in range(0, len(payload), size)]
        p.send(*p.fragments(opcode, parts))
        p.expect(msg(opcode, payload), timeout=timeout)
        p.close_normal()
    return run


# ---- messages the client echoes ---------------------------------------------

add_case("c.1.1", _echo((TEXT, b"Hello, world!")))
add_case("c.1.2", _echo((BINARY, bytes(range(256)))))
add_case("c.1.3", _echo((TEXT, b""), (BINARY, b"")))
add_case("c.1.4", _echo(*[(TEXT, b"*" * n) for n in (125, 126, 127, 128, 65535, 65536)]))
add_case("c.1.5", _echo((BINARY, os.urandom(MIB))))
add_case("c.1.6", _echo((TEXT, b"*" * (16 * MIB)), timeout=60.0))  # Autobahn 9.1.6's size
add_case("c.1.7", _echo((BINARY, b"\xfe" * (16 * MIB)), timeout=60.0))
add_case("c.1.8", _echo_fragmented(TEXT, MIXED_UTF8 * (4 * MIB // len(MIXED_UTF8)), 64 * KIB))
add_case("c.1.9", _echo_fragmented(BINARY, b"\xfe" * MIB, 256))


@case("c.1.10")
def cc_1_10(p):
    # Empty fragments: three make an empty message, two frame a payload.
    p.send(*p.fragments(TEXT, [b"", b"", b""]))
    p.send(*p.fragments(TEXT, [b"", b"middle frame payload", b""]))
    p.expect(msg(TEXT, b""), msg(TEXT, b"middle frame payload"))
    p.close_normal()


@case("c.1.11")
def cc_1_11(p):
    # Text in 1-byte frames: most frame ends are inside a code point.
    p.send(*p.fragments(TEXT, [KOSME[i:i + 1] for i in range(len(KOSME))]))
    p.expect(msg(TEXT, KOSME))
    p.close_normal()


# Noncharacters, U+10FFFF, U+FFFD and NUL are all valid UTF-8.
add_case("c.1.12", _echo((TEXT, "\ufffe\uffff\U0010ffff\ufffd\u0000".encode("utf-8"))))


@case("c.1.13")
def cc_1_13(p):
    # 1000 round trips, one message at a time (Autobahn 9.7.x).
    payload = b"x" * 16
    t0 = time.monotonic()
    for _ in range(1000):
        p.send(p.text(payload))
        p.expect(msg(TEXT, payload))
    p.note = "%.0f us per round trip" % ((time.monotonic() - t0) * 1000)
    p.close_normal()


@case("c.1.14")
def cc_1_14(p):
    # Everything a byte at a time: a message, then a ping.
    p.send_octetwise(p.text(HELLO_UTF8), p.ping(b"chopped ping"))
    p.expect(msg(TEXT, HELLO_UTF8), pong(b"chopped ping"))
    p.close_normal()


# ---- pings and pongs --------------------------------------------------------

@case("c.2.1")
def cc_2_1(p):
    p.send(p.ping(), p.ping(b"\xfe" * 125), p.ping(bytes.fromhex("00fffefdfcfb00ff")))
    p.expect(pong(b""), pong(b"\xfe" * 125), pong(bytes.fromhex("00fffefdfcfb00ff")))
    p.close_normal()


@case("c.2.2")
def cc_2_2(p):
    # Pings between the fragments of a message: answered before it ends.
    p.send(p.text(b"fragment1", fin=False), p.ping(b"pongme 1!"),
           p.cont(b"fragment2", fin=False))
    p.expect(pong(b"pongme 1!"), timeout=2.0)
    p.send(p.ping(b"pongme 2!"), p.cont(b"fragment3"))
    p.expect(pong(b"pongme 2!"), msg(TEXT, b"fragment1fragment2fragment3"))
    p.close_normal()


@case("c.2.3")
def cc_2_3(p):
    # Ten pings in one write, ten pongs (as Autobahn 2.10 asks of servers).
    payloads = [b"payload-%d" % i for i in range(10)]
    p.send(*[p.ping(x) for x in payloads])
    p.expect(*[pong(x) for x in payloads])
    p.close_normal()


@case("c.2.4")
def cc_2_4(p):
    # An unsolicited pong is answered with nothing.
    p.send(p.pong(b"unsolicited"), p.text(b"after the pong"))
    p.expect(msg(TEXT, b"after the pong"))
    p.close_normal()


@case("c.2.5")
def cc_2_5(p):
    # A ping between the 1 MiB fragments of a 4 MiB message.
    data = os.urandom(4 * MIB)
    parts = [data[i:i + MIB] for i in range(0, len(data), MIB)]
    frames = p.fragments(BINARY, parts)
    p.send(frames[0], p.ping(b"during"), *frames[1:])
    p.expect(pong(b"during"), msg(BINARY, data), timeout=30.0)
    p.close_normal()


# ---- what the client must refuse --------------------------------------------

def _refuse(codes, build, before=()):
    """Send what build(p) returns; the client fails the connection."""
    def run(p):
        p.send(*build(p))
        p.expect_fail(codes, before=before)
    return run


SURROGATE = KOSME + bytes.fromhex("eda080") + b"edited"

add_case("c.3.1", _refuse((1007,), lambda p: [p.text(SURROGATE)]))
add_case("c.3.2", _refuse((1007,), lambda p: [p.text(b"/" + bytes.fromhex("c0af"))]))
add_case("c.3.3", _refuse((1007,), lambda p: [p.text(b"ends inside a code point \xe2\x82")]))
add_case("c.3.4", _refuse((1007,), lambda p: p.fragments(TEXT, [KOSME, b"\xed", b"\xa0\x80"])))


@case("c.3.5")
def cc_3_5(p):
    # Fail fast: the client rejects the invalid fragment before the rest.
    p.fail_fast([p.text(KOSME, fin=False), p.cont(bytes.fromhex("f4908080"), fin=False),
                 p.cont(b"edited")], (1007,))


@case("c.3.6")
def cc_3_6(p):
    # Fail fast inside one frame.
    payload = KOSME + bytes.fromhex("f4908080") + b"edited"
    whole = p.text(payload)
    cut1 = len(whole) - len(payload) + len(KOSME)  # header and the valid part
    cut2 = cut1 + 4                                # U+110000: out of range
    p.fail_fast([whole[:cut1], whole[cut1:cut2], whole[cut2:]], (1007,))


add_case("c.4.1", _refuse((1002,), lambda p: [p.frame(3)]))
add_case("c.4.2", _refuse((1002,), lambda p: [p.frame(11, b"reserved control")]))
add_case("c.4.3", _refuse((1002,), lambda p: [p.text(b"masked by the server", masked=True)]))
add_case("c.4.4", _refuse((1002,), lambda p: [p.text(b"Hello, world!", rsv=1)]))
add_case("c.4.5", _refuse((1002,), lambda p: [p.text(b"Hello, world!"),
                                              p.binary(b"\x00\xff", rsv=2), p.ping()],
                          before=[msg(TEXT, b"Hello, world!")]))
add_case("c.4.6", _refuse((1002,), lambda p: [p.ping(b"\xfe" * 126)]))
add_case("c.4.7", _refuse((1002,), lambda p: [p.frame(PING, b"frag", fin=False), p.cont(b"ment")]))
add_case("c.4.8", _refuse((1002,), lambda p: [p.cont(b"nothing to continue"), p.text(b"x")]))
add_case("c.4.9", _refuse((1002,), lambda p: [p.text(b"fragment1", fin=False),
                                              p.text(b"fragment2")]))
add_case("c.4.10", _refuse((1002,), lambda p: [p.text(b"Hello", form=16)]))
add_case("c.4.11", _refuse((1002,), lambda p: [p.binary(b"", length=1 << 63, form=64)]))
add_case("c.4.12", _refuse((1002,), lambda p: [p.ping(b"x", rsv=4)]))

# Larger than the client's message buffer: refused on the declared length,
# before any payload.
add_case("c.5.1", _refuse((1009,), lambda p: [p.binary(b"", length=CLIENT_BUF + 1, form=64)]))


@case("c.5.2")
def cc_5_2(p):
    # The fragment that crosses the limit is refused.
    part = b"\xfe" * (9 * MIB)
    p.send(p.binary(part, fin=False), p.cont(part))
    p.expect_fail((1009,), timeout=10.0)


# ---- close frames from the server -------------------------------------------

def _server_close(code, reason=b"", accept=None, allow_empty=False):
    """We close; the client answers with an allowed code and waits for us to
    close TCP."""
    def run(p):
        p.close_normal(code, reason, accept=accept or (1000, code), allow_empty=allow_empty)
    return run


add_case("c.6.1", _server_close(1000, b"bye", accept=(1000,)))
add_case("c.6.2", _server_close(None, accept=(1000,), allow_empty=True))
add_case("c.6.3", _server_close(1001))
add_case("c.6.4", _server_close(3000))
add_case("c.6.5", _server_close(4999, b"*" * 123))
add_case("c.6.6", _server_close(1012))  # registered with IANA: wsm accepts it
add_case("c.6.7", _refuse((1002,), lambda p: [p.frame(CLOSE, b"\x03")]))
add_case("c.6.8", _refuse((1002,), lambda p: [p.close_frame(1005)]))
add_case("c.6.9", _refuse((1002,), lambda p: [p.close_frame(1015)]))
add_case("c.6.10", _refuse((1002,), lambda p: [p.close_frame(5000)]))
add_case("c.6.11", _refuse((1002,), lambda p: [p.close_frame(999)]))
add_case("c.6.12", _refuse((1002, 1007), lambda p: [p.close_frame(1000, SURROGATE)]))
add_case("c.6.13", _refuse((1002,), lambda p: [p.close_frame(1000, b"*" * 124)]))


@case("c.6.14")
def cc_6_14(p):
    # After our close, a message and a ping: the client answers neither.
    p.send(p.close_frame(1000), p.text(b"after close"), p.ping(b"after close"))
    p.expect_close((1000,))
    p.end_tcp()


@case("c.6.15")
def cc_6_15(p):
    # A close between the fragments of a message ends it unfinished.
    p.send(p.text(b"fragment1", fin=False), p.close_frame(1000), p.cont(b"fragment2"))
    p.expect_close((1000,))
    p.end_tcp()


# ---- abnormal endings -------------------------------------------------------

@case("c.7.1")
def cc_7_1(p):
    # TCP ends inside a frame: the client gives the case up (1006) and goes on
    # to the next, which is the check.
    whole = p.binary(b"\xfe" * 1000)
    p.send(whole[:500])
    p.ep.idle(0.1)
    p.ep.close()


@case("c.7.2")
def cc_7_2(p):
    # We close cleanly but keep TCP open: the client waits for us to close it
    # (RFC 6455 7.1.1), then gives up when its close wait (5 s by default)
    # runs out and closes TCP itself.
    t0 = time.monotonic()
    p.send(p.close_frame(1000))
    p.expect_close((1000,))
    ev = p.next_event(8.0)
    if ev is None:
        failed("client still holds TCP 8 s after the close handshake")
    if ev.kind != "eof":
        failed("after the close handshake, got %r" % ev)
    p.note = "client closed TCP %.1f s after the close handshake" % (time.monotonic() - t0)


# ---- the fuzzingserver ------------------------------------------------------

class FuzzingServer:
    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.keys = set()
        self.request_problems = []

    def accept(self, client, timeout=ACCEPT_WAIT):
        """The client's next connection and its upgrade request: (peer,
        request target, Sec-WebSocket-Accept to answer with). Raises Verdict
        when none comes or the request is not a valid upgrade."""
        started = time.monotonic()
        deadline = started + timeout
        self.listener.settimeout(0.2)
        while True:
            try:
                sock, _ = self.listener.accept()
                break
            except socket.timeout:
                if time.monotonic() > deadline:
                    failed("client opened no connection within %.0f s (%s)"
                           % (timeout, client.exit_status()))
                if not client.alive() and time.monotonic() > started + 1.0:
                    failed("client is gone (%s); last output: %s"
                           % (client.exit_status(), " | ".join(client.tail(5))))
        peer = Peer(Endpoint(sock, masks=False))
        try:
            head = peer.ep.read_http_head(time.monotonic() + 5.0)
            target, accept = self.check_request(head)
        except HandshakeError as e:
            peer.ep.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                          b"Connection: close\r\n\r\n")
            peer.ep.close()
            failed("bad upgrade request: %s" % e)
        return peer, target, accept

    def check_request(self, head):
        """RFC 6455 4.1 for the client's request: returns its target and the
        Sec-WebSocket-Accept value, or raises HandshakeError."""
        start, fields = parse_http_head(head)
        parts = start.split(" ")
        if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
            raise HandshakeError("request line %r" % start)
        if header_values(fields, "host") != ["%s:%d" % (HOST, self.port)]:
            raise HandshakeError("Host %r, expected %s:%d" % (header_values(fields, "host"),
                                                               HOST, self.port))
        if "websocket" not in header_tokens(fields, "upgrade"):
            raise HandshakeError("no Upgrade: websocket")
        if "upgrade" not in header_tokens(fields, "connection"):
            raise HandshakeError("no Connection: Upgrade")
        if header_values(fields, "sec-websocket-version") != ["13"]:
            raise HandshakeError("Sec-WebSocket-Version %r"
                                 % header_values(fields, "sec-websocket-version"))
        keys = header_values(fields, "sec-websocket-key")
        try:
            raw = base64.b64decode(keys[0], validate=True) if len(keys) == 1 else b""
        except ValueError:
            raw = b""
        if len(raw) != 16:
            raise HandshakeError("Sec-WebSocket-Key %r is not base64 of 16 bytes" % keys)
        if keys[0] in self.keys:  # RFC 6455 4.1: a fresh random nonce per connection
            self.request_problems.append("Sec-WebSocket-Key %s used twice" % keys[0])
        self.keys.add(keys[0])
        for name in ("sec-websocket-extensions", "sec-websocket-protocol"):
            if header_values(fields, name):
                raise HandshakeError("%s offered, but the client was given none" % name)
        return parts[1], accept_value(keys[0])

    def upgrade(self, peer, accept):
        peer.ep.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                       % accept).encode("ascii"))

    def close(self):
        self.listener.close()


def expect_path(path, resource, **query):
    """Check a request target such as /runCase?case=3&agent=NAME."""
    url = urllib.parse.urlsplit(path)
    got = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    want = {k: [v] for k, v in query.items()}
    if url.path != resource or got != want:
        failed("client asked for %r, expected %s with %r" % (path, resource, query))


def quick_session(server, client, resource, body=None, **query):
    """/getCaseCount and /updateReports: optional text message, then our close."""
    peer, path, accept = server.accept(client)
    try:
        expect_path(path, resource, **query)
        server.upgrade(peer, accept)
        if body is not None:
            peer.send(peer.text(body))
        peer.close_normal(1000, accept=(1000,))
    finally:
        peer.ep.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client", required=True, help="path to examples/client")
    ap.add_argument("--case", action="append", default=[],
                    help="run only this case id or group (e.g. c.3); repeatable")
    ap.add_argument("--quiet", action="store_true", help="print only cases that are not OK")
    ap.add_argument("--split", metavar="SEED",
                    help="cut every write at random points chosen from SEED (cases that "
                         "chop their writes themselves keep their chops)")
    args = ap.parse_args()

    cases = select_cases(CASES, args.case)
    title = "client conformance" + (" (random splits, seed %s)" % args.split if args.split else "")
    results = Results(title, verbose=not args.quiet)
    server = FuzzingServer()
    client = Process([args.client, "--autobahn", "ws://%s:%d" % (HOST, server.port),
                      "--agent", AGENT], "client")
    keys = 0
    frames = 0
    try:
        try:
            client.start()
        except OSError as e:
            results.add("count", FAILED, "cannot start %s: %s" % (args.client, e), 0.0)
            return results.summary()
        t0 = time.monotonic()
        try:
            quick_session(server, client, "/getCaseCount", str(len(cases)).encode())
            results.add("count", OK, "", time.monotonic() - t0)
        except Verdict as v:
            results.add("count", v.status, "/getCaseCount: " + v.reason, time.monotonic() - t0)
            cases = None
        for number, (cid, fn, _) in enumerate(cases or [], 1):
            t0 = time.monotonic()
            peer = None
            try:
                peer, path, accept = server.accept(client)
                if args.split:
                    peer.ep.splitter = random.Random("%s/%s" % (args.split, cid))
                expect_path(path, "/runCase", case=str(number), agent=AGENT)
                server.upgrade(peer, accept)
                fn(peer)
                status, reason = OK, ""
            except Verdict as v:
                status, reason = v.status, v.reason
            except Exception as e:  # a bug in the case itself must not hide the others
                status, reason = FAILED, "driver error: %s: %s" % (type(e).__name__, e)
            finally:
                if peer is not None:
                    peer.ep.close()
                    keys += len(set(peer.ep.mask_keys))
                    frames += len(peer.ep.mask_keys)
            results.add(cid, status, reason, time.monotonic() - t0, peer.note if peer else "")
            if status == FAILED and not client.alive():
                reason = "client is gone (%s)" % client.exit_status()
                for cid2, _, _ in cases[number:]:
                    results.add(cid2, FAILED, reason, 0.0)
                cases = None
                break
        if cases is not None and client.alive():
            t0 = time.monotonic()
            try:
                quick_session(server, client, "/updateReports", agent=AGENT)
                results.add("reports", OK, "", time.monotonic() - t0)
            except Verdict as v:
                results.add("reports", v.status, "/updateReports: " + v.reason,
                            time.monotonic() - t0)
        rc = client.wait(10)
        if rc == 0:
            results.add("exit", OK, "", 0.0)
        else:
            results.add("exit", FAILED, "client %s; last output: %s"
                        % ("still running after 10 s" if rc is None else client.exit_status(),
                           " | ".join(client.tail(5))), 0.0)
        # RFC 6455 5.3: a fresh, unpredictable key for every frame. Within
        # one connection, repeats among random 32-bit keys are very rare.
        # RFC 6455 4.1: a fresh nonce for every opening handshake.
        if frames >= 100 and keys < frames * 0.99:
            results.add("keys", FAILED, "only %d distinct mask keys in %d client frames"
                        % (keys, frames), 0.0)
        elif server.request_problems:
            results.add("keys", FAILED, "; ".join(server.request_problems[:3]), 0.0)
        elif frames:
            results.add("keys", OK, "", 0.0, "%d client frames, %d distinct mask keys within "
                        "their connections" % (frames, keys))
    finally:
        client.stop()
        server.close()
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())
