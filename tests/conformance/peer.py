# SPDX-License-Identifier: MIT
"""Our end of one conversation, and the expectations both drivers check.

A Peer wraps an Endpoint. As the client (server_suite) it masks its frames
and, after the close handshake, waits for the server to close TCP (RFC 6455
7.1.1); as the server (client_suite) it sends unmasked frames and closes TCP
itself once the handshake is done.
"""

import time

from harness import failed, non_strict
from wsframe import BINARY, CLOSE, CONT, PING, PONG, TEXT, close_payload, show

FAIL_WAIT = 2.0       # a connection that must fail has failed within this
TCP_CLOSE_WAIT = 3.0  # the server closes TCP within this after the close handshake


def msg(opcode, data):
    return ("message", opcode, bytes(data))


def pong(data):
    return ("pong", bytes(data))


def describe(want):
    if want[0] == "message":
        return "%s message (%s)" % ("text" if want[1] == TEXT else "binary", show(want[2]))
    return "%s (%s)" % (want[0], show(want[1]))


def matches(ev, want):
    if ev.kind != want[0]:
        return False
    if want[0] == "message":
        return ev.opcode == want[1] and ev.data == want[2]
    return ev.data == want[1]


def difference(ev, want):
    """Where a payload of the right kind differs, for long payloads."""
    if ev.kind != want[0] or (want[0] == "message" and ev.opcode != want[1]):
        return ""
    data = want[2] if want[0] == "message" else want[1]
    n = min(len(ev.data), len(data))
    at = next((i for i in range(n) if ev.data[i] != data[i]), n)
    return "; first difference at byte %d (lengths %d, expected %d)" % (at, len(ev.data), len(data))


def codes_text(codes):
    return "/".join(map(str, codes))


class Peer:
    def __init__(self, ep):
        self.ep = ep
        self.is_client = ep.masks
        self.other = "server" if self.is_client else "client"
        self.note = ""

    # ---- frames ---------------------------------------------------------

    def frame(self, opcode, payload=b"", **kw):
        return self.ep.frame(opcode, payload, **kw)

    def text(self, payload, **kw):
        return self.frame(TEXT, payload, **kw)

    def binary(self, payload, **kw):
        return self.frame(BINARY, payload, **kw)

    def cont(self, payload, **kw):
        return self.frame(CONT, payload, **kw)

    def ping(self, payload=b"", **kw):
        return self.frame(PING, payload, **kw)

    def pong(self, payload=b"", **kw):
        return self.frame(PONG, payload, **kw)

    def close_frame(self, code=None, reason=b"", **kw):
        return self.frame(CLOSE, close_payload(code, reason), **kw)

    def fragments(self, opcode, parts):
        """A message as one frame per part."""
        return [self.frame(opcode if i == 0 else CONT, p, fin=(i == len(parts) - 1))
                for i, p in enumerate(parts)]

    def send(self, *frames, chop=None, pause=0.0, framewise=False):
        """Write frames: at once, one write per frame (framewise: Autobahn's
        "frame-wise chopped"), or in pieces of chop bytes ("octet-wise" when
        1). Returns False if the other side closed meanwhile."""
        if framewise:
            for f in frames:
                if not self.ep.write(f):
                    return False
                self.ep.idle(0.002)
            return True
        return self.ep.write(b"".join(frames), chop=chop, pause=pause)

    def send_octetwise(self, *frames):
        return self.send(*frames, chop=1, pause=0.001)

    # ---- expectations -------------------------------------------------------

    def check_violations(self):
        if self.ep.violations:
            failed("%s broke the protocol: %s" % (self.other, "; ".join(self.ep.violations[:3])))

    def next_event(self, timeout):
        ev = self.ep.next_event(time.monotonic() + timeout)
        self.check_violations()
        return ev

    def expect(self, *wanted, timeout=5.0):
        """Receive exactly these events, in order: ("message", opcode, data)
        or ("pong", data)."""
        deadline = time.monotonic() + timeout
        for i, want in enumerate(wanted):
            ev = self.ep.next_event(deadline)
            self.check_violations()
            if ev is None:
                failed("timed out after %.1f s waiting for %s (event %d of %d; %d bytes of an "
                       "unfinished message)" % (timeout, describe(want), i + 1, len(wanted),
                                                len(self.ep.partial())))
            if not matches(ev, want):
                failed("expected %s, got %r%s" % (describe(want), ev, difference(ev, want)))

    def expect_quiet(self, seconds):
        """Nothing may arrive for a while: returns what did, or None.
        Fragments of an unfinished message are not events."""
        return self.next_event(seconds)

    def expect_close(self, accept, allow_empty=False, timeout=3.0):
        """The other side's close frame, with a code in accept (or none, when
        allow_empty)."""
        ev = self.next_event(timeout)
        if ev is None:
            failed("no close frame within %.1f s" % timeout)
        if ev.kind != "close":
            failed("expected a close frame, got %r" % ev)
        if not (ev.code in accept or (allow_empty and ev.code is None)):
            failed("close frame with code %s, expected %s%s" % (
                ev.code, codes_text(accept), " or none" if allow_empty else ""))
        return ev

    def end_tcp(self):
        """After the close handshake: the server closes TCP (RFC 6455 7.1.1)."""
        if not self.is_client:
            self.ep.close()
            return
        ev = self.next_event(TCP_CLOSE_WAIT)
        if ev is None:
            failed("server did not close TCP within %.1f s of the close handshake" % TCP_CLOSE_WAIT)
        if ev.kind != "eof":
            failed("after the close handshake, got %r" % ev)

    def close_normal(self, code=1000, reason=b"", accept=(1000,), allow_empty=False):
        """Start the close handshake; the other side answers with an allowed
        code, then TCP closes."""
        self.send(self.close_frame(code, reason))
        self.expect_close(accept, allow_empty)
        self.end_tcp()

    def expect_fail(self, codes, before=(), timeout=FAIL_WAIT):
        """The other side fails the connection: the events in before arrive
        first, then a close with one of codes (which we answer), then TCP
        closes. Fragments of an unfinished message may come first."""
        self.expect(*before, timeout=timeout)
        ev = self.next_event(timeout)
        if ev is None:
            failed("connection not failed within %.1f s (expected close %s)"
                   % (timeout, codes_text(codes)))
        self.judge_failure(ev, codes)

    def judge_failure(self, ev, codes):
        if ev.kind == "eof":
            non_strict("connection dropped without a close frame (expected close %s)"
                       % codes_text(codes))
        if ev.kind != "close":
            failed("expected close %s, got %r" % (codes_text(codes), ev))
        if ev.code not in codes:
            failed("closed with code %s, expected %s" % (ev.code, codes_text(codes)))
        self.ep.write(self.close_frame(ev.code))
        self.end_tcp()

    def fail_fast(self, pieces, codes, quiet=0.5, wait=1.0):
        """pieces[1] makes the stream invalid. The other side must stay quiet
        after pieces[0] and fail on pieces[1], before pieces[2] is sent; failing
        only once everything arrived is non-strict (Autobahn 6.4.x)."""
        self.send(pieces[0])
        ev = self.expect_quiet(quiet)
        if ev is not None:
            failed("after the valid first part, got %r" % ev)
        self.send(pieces[1])
        ev = self.next_event(wait)
        if ev is None:
            self.send(*pieces[2:])
            ev = self.next_event(FAIL_WAIT)
            if ev is not None and ev.kind in ("close", "eof"):
                non_strict("failed only after the rest arrived (not fail-fast): %r" % ev)
            failed("invalid input not rejected: after all of it, got %r" % ev)
        self.judge_failure(ev, codes)
