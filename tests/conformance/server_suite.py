# SPDX-License-Identifier: MIT
"""Conformance cases against examples/echo_server, playing the client.

The cases follow the Autobahn TestSuite's public numbering (sections 1-7, 9
and 10) and hold the server to what a strict implementation earns there:

  OK          what was sent came back (whole messages compared after
              reassembly, pongs in order), and the close handshake completed
              with the expected code, the server closing TCP;
  NON-STRICT  a connection that had to fail was dropped without a close
              frame, or (6.4.x) failed only after the whole message arrived;
  FAILED      anything else: wrong data, wrong close code, nothing within
              the time allowed, a protocol violation by the server.

Cases "x.*" are ours, beyond Autobahn: message limits (1009), framing the
RFC forbids but Autobahn does not send, the opening handshake, and load
(concurrent connections, a reader that stalls, a ping flood).

With --split SEED every write is cut at random points as well, so that the
same cases check that nothing depends on how TCP segments the stream.

Usage: server_suite.py --echo-server PATH [--server-arg ARG]... [--case ID]... [--quiet]
                       [--split SEED]
"""

import argparse
import base64
import os
import random
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FAILED, OK, Process, Results, Verdict, failed,  # noqa: E402
                     free_port, select_cases)
from peer import TCP_CLOSE_WAIT, Peer, msg, pong  # noqa: E402
from wsframe import (BINARY, CLOSE, CONT, PING, PONG, TEXT, Endpoint,  # noqa: E402
                     HandshakeError, accept_value, header_tokens, header_values,
                     parse_http_head, utf8_valid)

HOST = "127.0.0.1"
PROTOCOL = "wsm-conformance"
BIG_LIMIT = 32 << 20     # --max-message of the main server: section 9 sends 16 MiB
SMALL_LIMIT = 1024       # --max-message of the server the x.1 cases use

CASES = []


def case(cid, **opts):
    def register(fn):
        CASES.append((cid, fn, opts))
        return fn
    return register


def add_case(cid, fn, **opts):
    CASES.append((cid, fn, opts))


class Session(Peer):
    """One connection to the echo server, as its client."""

    def __init__(self, port, rcvbuf=None):
        self.port = port
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect, so that the window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(5)
        try:
            sock.connect((HOST, port))
        except OSError:
            sock.close()
            raise
        Peer.__init__(self, Endpoint(sock, masks=True))

    def request(self, path="/", protocols=None, key=None, version="13", method="GET",
                drop=()):
        """An upgrade request; drop leaves out headers by lower-case name."""
        key = key or base64.b64encode(os.urandom(16)).decode("ascii")
        self.key = key
        fields = [("Host", "%s:%d" % (HOST, self.port)), ("Upgrade", "websocket"),
                  ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
                  ("Sec-WebSocket-Version", version)]
        if protocols:
            fields.append(("Sec-WebSocket-Protocol", ", ".join(protocols)))
        lines = ["%s %s HTTP/1.1" % (method, path)]
        lines += ["%s: %s" % (n, v) for (n, v) in fields if n.lower() not in drop]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

    def read_response(self, timeout=5.0):
        head = self.ep.read_http_head(time.monotonic() + timeout)
        start, fields = parse_http_head(head)
        parts = start.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HandshakeError("bad status line %r" % start)
        return int(parts[1]), fields

    def check_accept(self, status, fields, protocols=None):
        """The 101 response RFC 6455 4.2.2 requires for our request; returns
        the chosen subprotocol."""
        if status != 101:
            failed("upgrade answered with status %d" % status)
        if "websocket" not in header_tokens(fields, "upgrade"):
            failed("101 without Upgrade: websocket")
        if "upgrade" not in header_tokens(fields, "connection"):
            failed("101 without Connection: Upgrade")
        accept = header_values(fields, "sec-websocket-accept")
        if accept != [accept_value(self.key)]:
            failed("Sec-WebSocket-Accept %r, expected %r" % (accept, accept_value(self.key)))
        if header_values(fields, "sec-websocket-extensions"):
            failed("server answered with extensions we did not offer")
        chosen = header_values(fields, "sec-websocket-protocol")
        if chosen and (not protocols or len(chosen) != 1 or chosen[0] not in protocols):
            failed("server chose subprotocol %r; we offered %r" % (chosen, protocols))
        return chosen[0] if chosen else None

    def handshake(self, protocols=None):
        self.ep.write(self.request(protocols=protocols))
        try:
            status, fields = self.read_response()
        except HandshakeError as e:
            failed("opening handshake: %s" % e)
        return self.check_accept(status, fields, protocols)


# ---- 1 Framing: text and binary messages of growing length ------------------

LENGTHS = [0, 125, 126, 127, 128, 65535, 65536]


def _echo_case(opcode, payload, chop=None):
    def run(s):
        s.send(s.frame(opcode, payload), chop=chop)
        s.expect(msg(opcode, payload))
        s.close_normal()
    return run


for _i, _n in enumerate(LENGTHS, 1):
    add_case("1.1.%d" % _i, _echo_case(TEXT, b"*" * _n))
    add_case("1.2.%d" % _i, _echo_case(BINARY, b"\xfe" * _n))
add_case("1.1.8", _echo_case(TEXT, b"*" * 65536, chop=997))
add_case("1.2.8", _echo_case(BINARY, b"\xfe" * 65536, chop=997))


# ---- 2 Pings and pongs ------------------------------------------------------

def _ping_case(payload, octetwise=False):
    def run(s):
        if octetwise:
            s.send_octetwise(s.ping(payload))
        else:
            s.send(s.ping(payload))
        s.expect(pong(payload))
        s.close_normal()
    return run


add_case("2.1", _ping_case(b""))
add_case("2.2", _ping_case(b"Hello, world!"))
add_case("2.3", _ping_case(bytes.fromhex("00fffefdfcfb00ff")))
add_case("2.4", _ping_case(b"\xfe" * 125))


@case("2.5")
def c2_5(s):
    # RFC 6455 5.5: control frames carry at most 125 bytes.
    s.send(s.ping(b"\xfe" * 126))
    s.expect_fail((1002,))


add_case("2.6", _ping_case(b"\xfe" * 125, octetwise=True))


@case("2.7")
def c2_7(s):
    s.send(s.pong())
    s.close_normal()  # an unsolicited pong is answered with nothing


@case("2.8")
def c2_8(s):
    s.send(s.pong(b"unsolicited pong payload"))
    s.close_normal()


@case("2.9")
def c2_9(s):
    s.send(s.pong(b"unsolicited pong payload"), s.ping(b"ping payload"))
    s.expect(pong(b"ping payload"))
    s.close_normal()


def _ten_pings(octetwise):
    # Autobahn expects a pong for every ping, although RFC 6455 5.5.3 would
    # let an endpoint answer only the latest: a host that drains wsm's output
    # after each event answers them all.
    def run(s):
        payloads = [b"payload-%d" % i for i in range(10)]
        frames = [s.ping(p) for p in payloads]
        if octetwise:
            s.send_octetwise(*frames)
        else:
            s.send(*frames)
        s.expect(*[pong(p) for p in payloads])
        s.close_normal()
    return run


add_case("2.10", _ten_pings(False))
add_case("2.11", _ten_pings(True))


# ---- 3 Reserved bits --------------------------------------------------------

@case("3.1")
def c3_1(s):
    s.send(s.text(b"Hello, world!", rsv=1))
    s.expect_fail((1002,))


def _rsv_after_valid(rsv, mode):
    def run(s):
        frames = (s.text(b"Hello, world!"), s.text(b"Hello, world!", rsv=rsv), s.ping())
        if mode == "frame":
            s.send(*frames, framewise=True)
        elif mode == "octet":
            s.send_octetwise(*frames)
        else:
            s.send(*frames)
        s.expect_fail((1002,), before=[msg(TEXT, b"Hello, world!")])
    return run


add_case("3.2", _rsv_after_valid(2, None))
add_case("3.3", _rsv_after_valid(3, "frame"))
add_case("3.4", _rsv_after_valid(4, "octet"))


@case("3.5")
def c3_5(s):
    s.send(s.binary(bytes(range(256)), rsv=5))
    s.expect_fail((1002,))


@case("3.6")
def c3_6(s):
    s.send(s.ping(bytes.fromhex("00fffefdfcfb00ff"), rsv=6))
    s.expect_fail((1002,))


@case("3.7")
def c3_7(s):
    s.send(s.close_frame(1000, rsv=7))
    s.expect_fail((1002,))


# ---- 4 Reserved opcodes -----------------------------------------------------

def _reserved_opcode(opcode, payload, after_valid):
    def run(s):
        bad = s.frame(opcode, payload)
        if after_valid:
            s.send(s.text(b"Hello, world!"), bad, s.ping())
            s.expect_fail((1002,), before=[msg(TEXT, b"Hello, world!")])
        else:
            s.send(bad)
            s.expect_fail((1002,))
    return run


for _base, _ops in (("4.1", (3, 4, 5, 6, 7)), ("4.2", (11, 12, 13, 14, 15))):
    for _i, _op in enumerate(_ops, 1):
        add_case("%s.%d" % (_base, _i),
                 _reserved_opcode(_op, b"" if _i == 1 else b"reserved opcode payload", _i >= 3))


# ---- 5 Fragmentation --------------------------------------------------------

def _send_mode(s, frames, mode):
    if mode == "frame":
        return s.send(*frames, framewise=True)
    if mode == "octet":
        return s.send_octetwise(*frames)
    return s.send(*frames)


def _fragmented_control(opcode):
    def run(s):
        s.send(s.frame(opcode, b"fragment1", fin=False), s.cont(b"fragment2"))
        s.expect_fail((1002,))  # RFC 6455 5.4: control frames are never fragmented
    return run


add_case("5.1", _fragmented_control(PING))
add_case("5.2", _fragmented_control(PONG))


def _two_fragments(mode):
    def run(s):
        _send_mode(s, (s.text(b"fragment1", fin=False), s.cont(b"fragment2")), mode)
        s.expect(msg(TEXT, b"fragment1fragment2"))
        s.close_normal()
    return run


def _two_fragments_ping(mode):
    def run(s):
        _send_mode(s, (s.text(b"fragment1", fin=False), s.ping(b"ping payload"),
                       s.cont(b"fragment2")), mode)
        s.expect(pong(b"ping payload"), msg(TEXT, b"fragment1fragment2"))
        s.close_normal()
    return run


def _orphan_continuation(fin, mode):
    def run(s):
        _send_mode(s, (s.cont(b"non-continuation payload", fin=fin),
                       s.text(b"Hello, world!")), mode)
        s.expect_fail((1002,))
    return run


for _i, _mode in enumerate((None, "frame", "octet")):
    add_case("5.%d" % (3 + _i), _two_fragments(_mode))
    add_case("5.%d" % (6 + _i), _two_fragments_ping(_mode))
    add_case("5.%d" % (9 + _i), _orphan_continuation(True, _mode))
    add_case("5.%d" % (12 + _i), _orphan_continuation(False, _mode))


@case("5.15")
def c5_15(s):
    s.send(s.text(b"fragment1", fin=False), s.cont(b"fragment2"),
           s.cont(b"fragment3", fin=False), s.text(b"fragment4"))
    s.expect_fail((1002,), before=[msg(TEXT, b"fragment1fragment2")])


def _repeated_orphans(fin):
    def run(s):
        frames = []
        for _ in range(2):
            frames += [s.cont(b"fragment1", fin=fin), s.text(b"fragment2", fin=False),
                       s.cont(b"fragment3")]
        s.send(*frames)
        s.expect_fail((1002,))
    return run


add_case("5.16", _repeated_orphans(False))
add_case("5.17", _repeated_orphans(True))


@case("5.18")
def c5_18(s):
    s.send(s.text(b"fragment1", fin=False), s.text(b"fragment2"))
    s.expect_fail((1002,))  # RFC 6455 5.4: a new message waits for the open one


def _pings_between_fragments(framewise):
    def run(s):
        frag = [b"fragment%d" % i for i in range(1, 6)]
        s.send(s.text(frag[0], fin=False), s.cont(frag[1], fin=False), s.ping(b"pongme 1!"),
               framewise=framewise)
        # The first pong comes before the message is finished.
        s.expect(pong(b"pongme 1!"), timeout=1.0)
        s.ep.idle(1.0)
        s.send(s.cont(frag[2], fin=False), s.cont(frag[3], fin=False), s.ping(b"pongme 2!"),
               s.cont(frag[4]), framewise=framewise)
        s.expect(pong(b"pongme 2!"), msg(TEXT, b"".join(frag)))
        s.close_normal()
    return run


add_case("5.19", _pings_between_fragments(False))
add_case("5.20", _pings_between_fragments(True))


# ---- 6 UTF-8 handling -------------------------------------------------------

def _fragments_case(parts, opcode=TEXT):
    def run(s):
        frames = [s.frame(opcode if i == 0 else CONT, p, fin=(i == len(parts) - 1))
                  for i, p in enumerate(parts)]
        s.send(*frames)
        data = b"".join(parts)
        if opcode == TEXT and not utf8_valid(data):
            s.expect_fail((1007,))
        else:
            s.expect(msg(opcode, data))
            s.close_normal()
    return run


HELLO_UTF8 = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")
KOSME = bytes.fromhex("cebae1bdb9cf83cebcceb5")  # "kosme" in Greek, 5 code points
SURROGATE_EDITED = KOSME + bytes.fromhex("eda080") + b"edited"

add_case("6.1.1", _fragments_case([b""]))
add_case("6.1.2", _fragments_case([b"", b"", b""]))
add_case("6.1.3", _fragments_case([b"", b"middle frame payload", b""]))
add_case("6.2.1", _fragments_case([HELLO_UTF8]))
add_case("6.2.2", _fragments_case([HELLO_UTF8[:12], HELLO_UTF8[12:]]))  # on a code point boundary
add_case("6.2.3", _fragments_case([HELLO_UTF8[i:i + 1] for i in range(len(HELLO_UTF8))]))
add_case("6.2.4", _fragments_case([KOSME[i:i + 1] for i in range(len(KOSME))]))
add_case("6.3.1", _fragments_case([SURROGATE_EDITED]))
add_case("6.3.2", _fragments_case([SURROGATE_EDITED[i:i + 1]
                                   for i in range(len(SURROGATE_EDITED))]))


def _fail_fast(parts, as_frames):
    """6.4.x: the second part makes the text invalid; a strict endpoint fails
    on it, before the third part is sent."""
    def run(s):
        if as_frames:
            pieces = [s.text(parts[0], fin=False), s.cont(parts[1], fin=False), s.cont(parts[2])]
        else:
            whole = s.text(b"".join(parts))
            cut1 = len(whole) - sum(map(len, parts)) + len(parts[0])
            cut2 = cut1 + len(parts[1])
            pieces = [whole[:cut1], whole[cut1:cut2], whole[cut2:]]
        s.fail_fast(pieces, (1007,))
    return run


_P1, _P2, _P3 = KOSME, bytes.fromhex("f4908080"), b"edited"  # U+110000: out of range
add_case("6.4.1", _fail_fast([_P1, _P2, _P3], True))
add_case("6.4.2", _fail_fast([_P1 + b"\xf4", b"\x90", b"\x80\x80" + _P3], True))
add_case("6.4.3", _fail_fast([_P1, _P2, _P3], False))
add_case("6.4.4", _fail_fast([_P1 + b"\xf4", b"\x90", b"\x80\x80" + _P3], False))


def _utf8_groups():
    """The sequences of Markus Kuhn's UTF-8 decoder test and RFC 3629, in the
    groups Autobahn numbers 6.5 to 6.23; validity is judged by Python's strict
    codec (checked against the group's intent below). Where Autobahn's
    generator stops one byte short of a range (6.12.8, 6.13.x) the whole range
    is taken here; those sequences are invalid either way."""
    h = bytes.fromhex
    incomplete = [h(x) for x in ("c0", "e080", "f08080", "f8808080", "fc80808080",
                                 "df", "efbf", "f7bfbf", "fbbfbfbf", "fdbfbfbfbf")]
    lonely = []
    for lo, hi in ((0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd)):
        lonely.append(b"".join(bytes((b, 0x20)) for b in range(lo, hi + 1)))
    high = [h(x) for x in ("eda080", "edadbf", "edae80", "edafbf")]
    low = [h(x) for x in ("edb080", "edbfbf")]
    nonchars = ["\ufffe", "\uffff"]
    for plane in range(1, 17):
        nonchars += [chr(plane * 0x10000 + 0xfffe), chr(plane * 0x10000 + 0xffff)]
    return [
        (True, [b"hello$world", h("68656c6c6fc2a2776f726c64"), h("68656c6c6fe282ac776f726c64"),
                h("68656c6c6ff0a4ada2776f726c64"), KOSME]),
        (None, [KOSME[:i] for i in range(1, len(KOSME) + 1)]),  # all prefixes: mixed
        (True, [h(x) for x in ("00", "c280", "e0a080", "f0908080")]),
        (False, [h(x) for x in ("f888808080", "fc8480808080")]),
        (True, [h(x) for x in ("7f", "dfbf", "efbfbf", "f48fbfbf")]),
        (False, [h(x) for x in ("f7bfbfbf", "fbbfbfbfbf", "fdbfbfbfbfbf")]),
        (None, [h(x) for x in ("ed9fbf", "ee8080", "efbfbd", "f48fbfbf", "f4908080")]),
        (False, [h(x) for x in ("80", "bf", "80bf", "80bf80", "80bf80bf", "80bf80bf80",
                                "80bf80bf80bf")] + [bytes(range(0x80, 0xc0))]),
        (False, lonely),
        (False, incomplete),
        (False, [b"".join(incomplete)]),
        (False, [h(x) for x in ("fe", "ff", "fefeffff")]),
        (False, [h(x) for x in ("c0af", "e080af", "f08080af", "f8808080af", "fc80808080af")]),
        (False, [h(x) for x in ("c1bf", "e09fbf", "f08fbfbf", "f887bfbfbf", "fc83bfbfbfbf")]),
        (False, [h(x) for x in ("c080", "e08080", "f0808080", "f880808080", "fc8080808080")]),
        (False, high + [h(x) for x in ("edb080", "edbe80", "edbfbf")]),
        (False, [a + b for a in high for b in low]),
        (True, [c.encode("utf-8") for c in nonchars]),  # noncharacters are valid UTF-8
        (True, [chr(c).encode("utf-8") for c in range(0xfff9, 0x10000)]),
    ]


for _g, (_intent, _seqs) in enumerate(_utf8_groups(), 5):
    for _j, _seq in enumerate(_seqs, 1):
        assert _intent is None or utf8_valid(_seq) == _intent, (_g, _j)
        add_case("6.%d.%d" % (_g, _j), _fragments_case([_seq]))


# ---- 7 Close handling -------------------------------------------------------

@case("7.1.1")
def c7_1_1(s):
    s.send(s.text(b"Hello World!"))
    s.expect(msg(TEXT, b"Hello World!"))
    s.close_normal()


@case("7.1.2")
def c7_1_2(s):
    s.send(s.close_frame(1000), s.close_frame(1000))  # the second is ignored
    s.expect_close((1000,))
    s.end_tcp()


@case("7.1.3")
def c7_1_3(s):
    s.send(s.close_frame(1000), s.ping(b"after close"))  # no pong after close
    s.expect_close((1000,))
    s.end_tcp()


@case("7.1.4")
def c7_1_4(s):
    s.send(s.close_frame(1000), s.text(b"after close"))  # no echo after close
    s.expect_close((1000,))
    s.end_tcp()


@case("7.1.5")
def c7_1_5(s):
    s.send(s.text(b"fragment1", fin=False), s.close_frame(1000), s.cont(b"fragment2"))
    s.expect_close((1000,))
    s.end_tcp()


@case("7.1.6")
def c7_1_6(s):
    # Autobahn calls this informational; a host that processes input in
    # order echoes both messages before the close, and answers no ping after it.
    big = (b"BAsd7&jh23" * 26215)[:256 * 1024]
    s.send(s.text(big), s.text(b"Hello World!"), s.close_frame(1000), s.ping())
    s.expect(msg(TEXT, big), msg(TEXT, b"Hello World!"), timeout=10.0)
    s.expect_close((1000,))
    s.end_tcp()


@case("7.3.1")
def c7_3_1(s):
    s.send(s.close_frame())  # no body: the reply has none or 1000
    s.expect_close((1000,), allow_empty=True)
    s.end_tcp()


@case("7.3.2")
def c7_3_2(s):
    s.send(s.frame(CLOSE, b"\x2a"))  # RFC 6455 5.5.1: a body starts with a 2-byte code
    s.expect_fail((1002,))


@case("7.3.3")
def c7_3_3(s):
    s.close_normal(1000)


@case("7.3.4")
def c7_3_4(s):
    s.close_normal(1000, b"Hello World!")


@case("7.3.5")
def c7_3_5(s):
    s.close_normal(1000, b"*" * 123)


@case("7.3.6")
def c7_3_6(s):
    s.send(s.close_frame(1000, b"*" * 124))  # 126-byte control frame
    s.expect_fail((1002,))


@case("7.5.1")
def c7_5_1(s):
    s.send(s.close_frame(1000, SURROGATE_EDITED))
    s.expect_fail((1002, 1007))  # Autobahn accepts either; wsm sends 1007


def _valid_close_code(code):
    def run(s):
        s.close_normal(code, accept=(1000, code))
    return run


def _invalid_close_code(code):
    def run(s):
        s.send(s.close_frame(code))
        s.expect_fail((1002,))
    return run


for _i, _code in enumerate((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                            3000, 3999, 4000, 4999), 1):
    add_case("7.7.%d" % _i, _valid_close_code(_code))

# The numbering of Autobahn's older list. 7.9.6-7.9.8 (1012, 1013, 1014) are
# registered with IANA (Service Restart, Try Again Later, Bad Gateway); wsm
# accepts them on purpose, as current Autobahn does (it dropped them from this
# list), so here they must be echoed like any valid code.
for _i, _code in enumerate((0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016,
                            1100, 2000, 2999), 1):
    if 1012 <= _code <= 1014:
        add_case("7.9.%d" % _i, _valid_close_code(_code))
    else:
        add_case("7.9.%d" % _i, _invalid_close_code(_code))
# Autobahn leaves 5000 and 65535 informational; RFC 6455 7.4.2 allows no code
# above 4999, so strict is a protocol error.
add_case("7.13.1", _invalid_close_code(5000))
add_case("7.13.2", _invalid_close_code(65535))


# ---- 9 Limits and performance -----------------------------------------------

KIB, MIB = 1 << 10, 1 << 20


def _big_single(opcode, size):
    def run(s):
        payload = (b"*" if opcode == TEXT else b"\xfe") * size
        s.send(s.frame(opcode, payload))
        s.expect(msg(opcode, payload), timeout=60.0)
        s.close_normal()
    return run


def _big_fragmented(opcode, size, fragment):
    def run(s):
        payload = (b"*" if opcode == TEXT else b"\xfe") * size
        count = size // fragment
        frames = []
        for i in range(count):
            part = payload[i * fragment:(i + 1) * fragment]
            frames.append(s.frame(opcode if i == 0 else CONT, part, fin=(i == count - 1)))
        s.send(*frames)
        s.expect(msg(opcode, payload), timeout=60.0)
        s.close_normal()
    return run


def _big_chopped(opcode, size, chop):
    def run(s):
        payload = (b"*" if opcode == TEXT else b"\xfe") * size
        s.send(s.frame(opcode, payload), chop=chop)
        s.expect(msg(opcode, payload), timeout=60.0)
        s.close_normal()
    return run


def _round_trips(opcode, size, count=1000):
    def run(s):
        payload = (b"*" if opcode == TEXT else b"\xfe") * size
        t0 = time.monotonic()
        for _ in range(count):
            s.send(s.frame(opcode, payload))
            s.expect(msg(opcode, payload))
        s.note = "%.0f us per round trip" % ((time.monotonic() - t0) / count * 1e6)
        s.close_normal()
    return run


for _sec, _op in (("9.1", TEXT), ("9.2", BINARY)):
    for _i, _size in enumerate((64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB), 1):
        add_case("%s.%d" % (_sec, _i), _big_single(_op, _size))
for _sec, _op in (("9.3", TEXT), ("9.4", BINARY)):
    for _i, _frag in enumerate((64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB,
                                4 * MIB), 1):
        add_case("%s.%d" % (_sec, _i), _big_fragmented(_op, 4 * MIB, _frag))
for _sec, _op in (("9.5", TEXT), ("9.6", BINARY)):
    for _i, _chop in enumerate((64, 128, 256, 512, 1024, 2048), 1):
        add_case("%s.%d" % (_sec, _i), _big_chopped(_op, MIB, _chop))
for _sec, _op in (("9.7", TEXT), ("9.8", BINARY)):
    for _i, _size in enumerate((0, 16, 64, 256, 1024, 4096), 1):
        add_case("%s.%d" % (_sec, _i), _round_trips(_op, _size))


# ---- 10 Miscellaneous -------------------------------------------------------

@case("10.1.1")
def c10_1_1(s):
    payload = b"*" * 65536
    parts = [payload[i:i + 1300] for i in range(0, len(payload), 1300)]
    _fragments_case(parts)(s)


# ---- x.1 Message size limit (server started with --max-message 1024) --------

@case("x.1.1", server="small")
def cx_1_1(s):
    # The limit is judged on the declared length: the server fails before
    # the payload arrives (and never reserves room for it).
    whole = s.text(b"*" * (SMALL_LIMIT + 1))
    s.send(whole[:100])
    s.expect_fail((1009,))


@case("x.1.2", server="small")
def cx_1_2(s):
    part = b"\xfe" * 400
    s.send(s.binary(part, fin=False), s.cont(part, fin=False), s.cont(part))
    s.expect_fail((1009,))


@case("x.1.3", server="small")
def cx_1_3(s):
    _echo_case(TEXT, b"*" * SMALL_LIMIT)(s)


@case("x.1.4", server="small")
def cx_1_4(s):
    _fragments_case([b"\xfe" * 256] * 4, opcode=BINARY)(s)


@case("x.1.5", server="small")
def cx_1_5(s):
    # Control frames do not count towards the message limit.
    s.send(s.text(b"*" * 1000, fin=False), s.ping(b"p" * 125), s.cont(b"*" * 24))
    s.expect(pong(b"p" * 125), msg(TEXT, b"*" * 1024))
    s.close_normal()


# ---- x.2 Framing the RFC forbids that Autobahn does not send ----------------

@case("x.2.1")
def cx_2_1(s):
    s.send(s.text(b"Hello", form=16))  # RFC 6455 5.2: minimal length encoding
    s.expect_fail((1002,))


@case("x.2.2")
def cx_2_2(s):
    s.send(s.binary(b"\xfe" * 200, form=64))
    s.expect_fail((1002,))


@case("x.2.3")
def cx_2_3(s):
    # RFC 6455 5.2: the most significant bit of a 64-bit length is 0.
    s.send(s.binary(b"", length=1 << 63, form=64))
    s.expect_fail((1002,))


@case("x.2.4")
def cx_2_4(s):
    s.send(s.text(b"Hello, world!", masked=False))  # RFC 6455 5.1
    s.expect_fail((1002,))


@case("x.2.5")
def cx_2_5(s):
    # A 1 TiB frame header: refused at once, with no payload sent.
    s.send(s.binary(b"", length=1 << 40, form=64))
    s.expect_fail((1009,))


@case("x.2.6")
def cx_2_6(s):
    s.send(s.ping(b"", length=126, form=64))
    s.expect_fail((1002,))


@case("x.2.7")
def cx_2_7(s):
    # A masked frame split inside its mask key, then inside the payload.
    f = s.text(b"split mask key")
    s.send(f[:3], f[3:5], f[5:9], f[9:], framewise=True)
    s.expect(msg(TEXT, b"split mask key"))
    s.close_normal()


@case("x.2.8")
def cx_2_8(s):
    # A close frame a byte at a time: wsm holds control frames until whole.
    s.send_octetwise(s.close_frame(1000, b"r" * 123))
    s.expect_close((1000,))
    s.end_tcp()


@case("x.2.9")
def cx_2_9(s):
    # A ping between two fragments that split a code point: the UTF-8 state
    # of the message survives the control frame.
    s.send(s.text(KOSME[:1], fin=False), s.ping(b"between"), s.cont(KOSME[1:]))
    s.expect(pong(b"between"), msg(TEXT, KOSME))
    s.close_normal()


@case("x.2.10")
def cx_2_10(s):
    # One text frame a byte at a time: the echo is streamed in chunks that
    # end inside code points, and must still be sent as valid text.
    s.send_octetwise(s.text(HELLO_UTF8 + KOSME))
    s.expect(msg(TEXT, HELLO_UTF8 + KOSME))
    s.close_normal()


# ---- x.3 Opening handshake --------------------------------------------------

def _raw_request_case(build, expect_status):
    def run(s):
        s.ep.write(build(s))
        try:
            status, fields = s.read_response()
        except HandshakeError as e:
            failed("no HTTP response: %s" % e)
        if not expect_status(status, fields):
            failed("answered with status %d %r" % (status, fields))
        ev = s.next_event(TCP_CLOSE_WAIT)
        if ev is None or ev.kind != "eof":
            failed("after refusing the upgrade, the server did not close (got %r)" % ev)
    return run


@case("x.3.1", raw=True)
def cx_3_1(s):
    chosen = s.handshake(protocols=["foo", PROTOCOL])
    if chosen != PROTOCOL:
        failed("server chose subprotocol %r, expected %r" % (chosen, PROTOCOL))
    s.send(s.text(b"with a subprotocol"))
    s.expect(msg(TEXT, b"with a subprotocol"))
    s.close_normal()


@case("x.3.2", raw=True)
def cx_3_2(s):
    chosen = s.handshake(protocols=["foo"])
    if chosen is not None:
        failed("server chose %r, which we did not offer" % chosen)
    s.close_normal()


add_case("x.3.3", _raw_request_case(lambda s: s.request(drop=("sec-websocket-key",)),
                                    lambda st, f: st == 400), raw=True)
add_case("x.3.4", _raw_request_case(
    lambda s: s.request(version="8"),
    lambda st, f: st == 426 and header_values(f, "sec-websocket-version") == ["13"]), raw=True)
add_case("x.3.5", _raw_request_case(lambda s: s.request(method="POST"),
                                    lambda st, f: 400 <= st < 500), raw=True)


@case("x.3.6", raw=True)
def cx_3_6(s):
    # The request arrives a byte at a time.
    s.ep.write(s.request(), chop=1, pause=0.0005)
    try:
        status, fields = s.read_response()
    except HandshakeError as e:
        failed("opening handshake: %s" % e)
    s.check_accept(status, fields)
    s.send(s.text(b"after a slow request"))
    s.expect(msg(TEXT, b"after a slow request"))
    s.close_normal()


@case("x.3.7", raw=True)
def cx_3_7(s):
    # Frames in the same write as the request: bytes after the head are frames.
    s.ep.write(s.request() + s.text(b"pipelined") + s.ping(b"pipelined ping"))
    try:
        status, fields = s.read_response()
    except HandshakeError as e:
        failed("opening handshake: %s" % e)
    s.check_accept(status, fields)
    s.expect(msg(TEXT, b"pipelined"), pong(b"pipelined ping"))
    s.close_normal()


@case("x.3.8", raw=True)
def cx_3_8(s):
    # A request head larger than the server's bound (RFC 6585 4).
    req = s.request()
    big = req[:-2] + b"X-Padding: " + b"a" * 20000 + b"\r\n\r\n"
    _raw_request_case(lambda s: big, lambda st, f: st == 431)(s)


@case("x.3.9", raw=True)
def cx_3_9(s):
    # Browsers offer permessage-deflate; a server without it answers without
    # the header (RFC 6455 9.1), never with an empty one.
    req = s.request()
    offer = (req[:-2] + b"Sec-WebSocket-Extensions: permessage-deflate; "
             b"client_max_window_bits\r\n\r\n")
    s.ep.write(offer)
    try:
        status, fields = s.read_response()
    except HandshakeError as e:
        failed("opening handshake: %s" % e)
    s.check_accept(status, fields)
    s.send(s.text(b"uncompressed"))
    s.expect(msg(TEXT, b"uncompressed"))
    s.close_normal()


@case("x.3.10", raw=True)
def cx_3_10(s):
    # As Firefox asks: Connection is a list, Upgrade capitalised, header
    # names in any case (RFC 9110 5.1, 7.8; RFC 6455 4.2.1).
    s.key = base64.b64encode(os.urandom(16)).decode("ascii")
    req = ("GET /chat?x=1 HTTP/1.1\r\nhost: %s:%d\r\nUser-Agent: conformance\r\n"
           "connection: keep-alive, Upgrade\r\nUPGRADE: WebSocket\r\n"
           "sec-websocket-version: 13\r\nSec-Websocket-Key:   %s  \r\n"
           "Origin: http://%s:%d\r\n\r\n" % (HOST, s.port, s.key, HOST, s.port))
    s.ep.write(req.encode("ascii"))
    try:
        status, fields = s.read_response()
    except HandshakeError as e:
        failed("opening handshake: %s" % e)
    s.check_accept(status, fields)
    s.send(s.text(b"firefox"))
    s.expect(msg(TEXT, b"firefox"))
    s.close_normal()


# ---- x.4 Load: many connections, a reader that stalls, a ping flood ---------

@case("x.4.1", raw=True)
def cx_4_1(s):
    """Sixteen connections at once, each echoing 40 messages of mixed sizes
    and fragmentation, interleaved."""
    errors = []

    def one(seed):
        rnd = random.Random(seed)
        c = None
        try:
            c = Session(s.port)
            c.handshake()
            for _ in range(40):
                opcode = rnd.choice((TEXT, BINARY))
                size = rnd.choice((0, 1, 125, 126, 1000, 65536, rnd.randrange(200000)))
                data = b"*" * size if opcode == TEXT else rnd.randbytes(size)
                step = rnd.choice((size or 1, 1000, 4096))
                parts = [data[i:i + step] for i in range(0, size, step)] or [b""]
                c.send(*c.fragments(opcode, parts))
                c.expect(msg(opcode, data), timeout=20.0)
            c.close_normal()
        except Verdict as v:
            errors.append("connection %d: %s" % (seed, v.reason))
        except OSError as e:
            errors.append("connection %d: %s" % (seed, e))
        finally:
            if c is not None:
                c.ep.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        failed("%d of 16 connections failed; %s" % (len(errors), errors[0]))
    s.handshake()
    s.close_normal()


@case("x.4.2")
def cx_4_2(s):
    """We stop reading while the server echoes 16 MiB: it must hold back
    (not read, not buffer) until we read again, and lose nothing."""
    data = os.urandom(16 << 20)
    frame = s.binary(data)
    sent = s.ep.write_until_blocked(frame, stall=0.5)
    s.note = "stalled after %d of %d bytes" % (sent, len(frame))
    s.ep.idle(0.5)
    s.send(frame[sent:])
    s.expect(msg(BINARY, data), timeout=60.0)
    s.close_normal()


def _kernel_buffer_max(name):
    """The largest buffer TCP autotuning may give a socket here (tcp_rmem or
    tcp_wmem), or 64 MiB when the system does not say."""
    try:
        with open("/proc/sys/net/ipv4/" + name) as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 64 << 20


@case("x.4.4", rcvbuf=65536)
def cx_4_4(s):
    """We send 16 MiB messages and never read: the server must stop reading
    (backpressure), not queue echoes without bound. We send more than the
    kernel can hold on both sides (the server's receive and send buffers at
    their largest, ours, and 16 MiB for the server's own read buffers), so
    our writes must block before the end; then every echo comes back."""
    size = 16 << 20
    room = _kernel_buffer_max("tcp_rmem") + 2 * _kernel_buffer_max("tcp_wmem") + (16 << 20)
    count = room // size + 2
    data = bytes(range(256)) * (size // 256)
    frames = b"".join(s.binary(data) for _ in range(count))
    sent = s.ep.write_until_blocked(frames, stall=1.0)
    s.note = "%d messages of 16 MiB; stalled after %d of %d bytes" % (count, sent, len(frames))
    if sent == len(frames):
        failed("the server read all %d bytes while we read nothing" % sent)
    s.ep.idle(0.3)
    s.send(frames[sent:])
    for _ in range(count):
        s.expect(msg(BINARY, data), timeout=60.0)
    s.close_normal()


def _cpu_seconds(pid):
    """utime + stime of a process (Linux /proc), or None where there is none."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@case("x.4.5", rcvbuf=4096)
def cx_4_5(s):
    """We send a 3 MiB message without reading, then end our side (FIN): the
    server reads all of it and our FIN, but its echo waits on us. With
    nothing more to read it must wait without spinning: at most 0.3 s of CPU
    in a second. Then we read the echo, whole, and the server closes."""
    data = bytes(range(256)) * (3 << 12)
    frame = s.binary(data)
    sent = s.ep.write_until_blocked(frame, stall=0.5)
    time.sleep(0.5)  # without reading: the echo stays in the server's queue
    s.ep.shutdown_write()
    time.sleep(0.3)
    c0 = _cpu_seconds(s.server_pid)
    time.sleep(1.0)
    c1 = _cpu_seconds(s.server_pid)
    s.note = "sent %d of %d bytes" % (sent, len(frame))
    if c0 is not None and c1 is not None:
        s.note += "; server CPU %.2f s in the second after our FIN" % (c1 - c0)
        if c1 - c0 > 0.3:
            failed("the server used %.2f s of CPU in 1 s while waiting on us" % (c1 - c0))
    deadline = time.monotonic() + 30.0
    while True:
        ev = s.ep.next_event(deadline)
        if ev is None:
            failed("the server did not close after our FIN (%s)" % s.note)
        if ev.kind == "eof":
            break
        if ev.kind == "message" and (sent < len(frame) or ev.data != data):
            failed("the echo came back wrong: %r" % ev)


@case("x.4.3", rcvbuf=8192)
def cx_4_3(s):
    """60000 pings of 100 bytes while we do not read, through a small receive
    window, so that the server's pongs block: the server stays bounded. RFC
    6455 5.5.3 lets it answer only the latest of the pings it has not answered
    yet, so pongs may be missing, but those that come are in order, and the
    last ping is answered."""
    count = 60000
    payloads = [b"%06d" % i + b"." * 94 for i in range(count)]
    known = set(payloads)
    flood = b"".join(s.ping(x) for x in payloads)
    sent = s.ep.write_until_blocked(flood, stall=0.5)
    s.ep.idle(0.3)
    s.send(flood[sent:], s.text(b"after the flood"))
    deadline = time.monotonic() + 20.0
    pongs, echoed = [], False
    while not echoed or (not pongs or pongs[-1] != payloads[-1]):
        ev = s.ep.next_event(deadline)
        s.check_violations()
        if ev is None:
            failed("after the flood: %d pongs, last %r; echo %s" % (
                len(pongs), pongs[-1] if pongs else None, "seen" if echoed else "missing"))
        if ev.kind == "pong":
            if ev.data not in known or (pongs and ev.data <= pongs[-1]):
                failed("pong %r out of order after %r" % (ev.data, pongs[-1] if pongs else None))
            pongs.append(ev.data)
        elif ev.kind == "message" and ev.data == b"after the flood" and not echoed:
            echoed = True
        else:
            failed("during the flood, got %r" % ev)
    s.note = "%d of %d pings answered" % (len(pongs), count)
    s.close_normal()


# ---- the runner -------------------------------------------------------------

class Servers:
    """The echo servers the cases need, started on demand and restarted
    after a crash (which fails the case that saw it)."""

    def __init__(self, binary, extra_args=()):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.running = {}
        self.broken = {}  # kind -> why it would not start: not tried again

    def args(self, kind):
        limit = SMALL_LIMIT if kind == "small" else BIG_LIMIT
        return ["--protocol", PROTOCOL, "--max-message", str(limit)] + self.extra_args

    def get(self, kind):
        p = self.running.get(kind)
        if p is not None and p.alive():
            return p
        if kind in self.broken:
            raise RuntimeError(self.broken[kind])
        port = free_port()
        argv = [self.binary, "--host", HOST, "--port", str(port)] + self.args(kind)
        p = Process(argv, "echo_server")
        try:
            p.start(r"listening on ws://([^/\s]+):(\d+)/")
        except OSError as e:
            self.broken[kind] = "cannot start %s: %s" % (self.binary, e)
            raise RuntimeError(self.broken[kind])
        if not p.wait_ready(10):
            p.stop()
            self.broken[kind] = ("%s did not print its listening line within 10 s (%s); "
                                 "output: %s" % (" ".join(argv), p.exit_status(),
                                                 " | ".join(p.tail())))
            raise RuntimeError(self.broken[kind])
        p.port = int(p.ready_match.group(2))
        self.running[kind] = p
        return p

    def stop(self):
        for p in self.running.values():
            p.stop()
        self.running.clear()


def run_case(servers, cid, fn, opts, split_seed=None):
    kind = opts.get("server", "main")
    server = servers.get(kind)
    s = None
    note = ""
    try:
        try:
            s = Session(server.port, opts.get("rcvbuf"))
        except OSError as e:
            failed("cannot connect: %s" % e)
        s.server_pid = server.proc.pid
        if split_seed is not None:
            s.ep.splitter = random.Random("%s/%s" % (split_seed, cid))
        s.note = ""
        if not opts.get("raw"):
            s.handshake()
        fn(s)
        status, reason = OK, ""
        note = s.note
    except Verdict as v:
        status, reason = v.status, v.reason
    except Exception as e:  # a bug in the case itself must not hide the others
        status, reason = FAILED, "driver error: %s: %s" % (type(e).__name__, e)
    finally:
        if s is not None:
            s.ep.close()
    if not server.alive():
        status = FAILED
        reason = ("echo_server died (%s) during this case; last output: %s"
                  % (server.exit_status(), " | ".join(server.tail(8)))) + (
                      "; case said: " + reason if reason else "")
    return status, reason, note


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--echo-server", required=True, help="path to examples/echo_server")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="one more argument for the echo server (e.g. --server-arg=--loop "
                         "--server-arg=epoll); repeatable")
    ap.add_argument("--case", action="append", default=[],
                    help="run only this case id or group (e.g. 6.4 or 9.1.6); repeatable")
    ap.add_argument("--quiet", action="store_true", help="print only cases that are not OK")
    ap.add_argument("--split", metavar="SEED",
                    help="cut every write at random points chosen from SEED (cases that "
                         "chop their writes themselves keep their chops)")
    args = ap.parse_args()

    cases = select_cases(CASES, args.case)
    title = "server conformance" + (" (random splits, seed %s)" % args.split if args.split else "")
    results = Results(title, verbose=not args.quiet)
    servers = Servers(args.echo_server, args.server_arg)
    try:
        for cid, fn, opts in cases:
            t0 = time.monotonic()
            try:
                status, reason, note = run_case(servers, cid, fn, opts, args.split)
            except RuntimeError as e:
                status, reason, note = FAILED, str(e), ""
            results.add(cid, status, reason, time.monotonic() - t0, note)
    finally:
        servers.stop()
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())
