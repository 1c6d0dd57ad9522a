# SPDX-License-Identifier: MIT
"""Raw RFC 6455 for the conformance drivers, standard library only.

The encoder writes exactly the bits it is asked for, so a case can send
frames no correct endpoint would (reserved bits and opcodes, wrong masking,
non-minimal or absurd lengths). The reader is the opposite: it is strict about
what the peer sends and records every rule the peer breaks in
Endpoint.violations instead of raising, so a case can say what went wrong.
"""

import base64
import hashlib
import os
import select
import socket
import time

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OPCODE_NAMES = {CONT: "continuation", TEXT: "text", BINARY: "binary",
                CLOSE: "close", PING: "ping", PONG: "pong"}
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HTTP_HEAD_MAX = 16384
# A peer declaring more than this in one frame is treated as broken; the
# largest frame any case expects is 16 MiB.
FRAME_ACCEPT_MAX = 64 << 20


def accept_value(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    digest = hashlib.sha1(key.encode("ascii") + WS_GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def apply_mask(data, key):
    """XOR data with a 4-byte key. One big-integer XOR, so that a 16 MiB
    payload costs milliseconds rather than seconds of Python loops."""
    n = len(data)
    if n == 0:
        return b""
    stream = (bytes(key) * (n // 4 + 1))[:n]
    value = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
    return value.to_bytes(n, "little")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, masked=False, key=None,
                 length=None, form=None):
    """Encode one frame as asked. length overrides the declared payload length
    (the given payload bytes follow regardless); form (7, 16 or 64) forces a
    length encoding, minimal or not; key defaults to 4 fresh random bytes."""
    declared = len(payload) if length is None else length
    if form is None:
        form = 7 if declared < 126 else (16 if declared < 65536 else 64)
    first = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mask_bit = 0x80 if masked else 0
    if form == 7:
        head = bytes((first, mask_bit | declared))
    elif form == 16:
        head = bytes((first, mask_bit | 126)) + declared.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + declared.to_bytes(8, "big")
    if not masked:
        return head + bytes(payload)
    if key is None:
        key = os.urandom(4)
    return head + bytes(key) + apply_mask(payload, key)


def close_payload(code=None, reason=b""):
    """Body of a close frame: nothing, or a 2-byte code and a reason."""
    if code is None:
        return b""
    return code.to_bytes(2, "big") + reason


def close_code_valid(code):
    """Codes allowed on the wire (RFC 6455 7.4, IANA registry), as wsm judges
    them: 1000-1003, 1007-1014, 3000-4999."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def utf8_valid(data):
    """RFC 3629 validity: Python's strict codec rejects overlongs, surrogates
    and code points above U+10FFFF, as RFC 6455 requires."""
    try:
        bytes(data).decode("utf-8", "strict")
        return True
    except UnicodeDecodeError:
        return False


def show(data, limit=24):
    """Short printable form of a payload for reports."""
    data = bytes(data)
    if len(data) <= limit:
        return "%d bytes %s" % (len(data), data.hex())
    return "%d bytes %s..." % (len(data), data[:limit].hex())


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "masked", "key", "payload", "minimal")

    def __repr__(self):
        return "Frame(fin=%d rsv=%d op=%d masked=%d %s)" % (
            self.fin, self.rsv, self.opcode, self.masked, show(self.payload))


class Event:
    """What the reader reports: 'message' (opcode, data), 'ping', 'pong' (data),
    'close' (code: None when the frame had no body, reason, data = raw body),
    'eof' (reset: the peer reset rather than closed)."""
    __slots__ = ("kind", "opcode", "data", "code", "reason", "reset")

    def __init__(self, kind, opcode=None, data=b"", code=None, reason=b"", reset=False):
        self.kind, self.opcode, self.data = kind, opcode, data
        self.code, self.reason, self.reset = code, reason, reset

    def __repr__(self):
        if self.kind == "message":
            return "%s message (%s)" % (OPCODE_NAMES[self.opcode], show(self.data))
        if self.kind in ("ping", "pong"):
            return "%s (%s)" % (self.kind, show(self.data))
        if self.kind == "close":
            return "close (code %s, reason %s)" % (self.code, show(self.reason))
        return "TCP reset" if self.reset else "TCP end of stream"


class HandshakeError(Exception):
    pass


def parse_http_head(head):
    """Split an HTTP/1.1 head into its start line and (lower-case name, value)
    pairs. Raises HandshakeError on anything malformed."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:
        raise HandshakeError("HTTP head is not text")
    if not text.endswith("\r\n\r\n"):
        raise HandshakeError("HTTP head does not end with an empty line")
    lines = text[:-4].split("\r\n")
    fields = []
    for line in lines[1:]:
        if ":" not in line or line[:1] in (" ", "\t"):
            raise HandshakeError("malformed header line %r" % line)
        name, value = line.split(":", 1)
        if name != name.strip() or not name:
            raise HandshakeError("malformed header name %r" % name)
        fields.append((name.lower(), value.strip(" \t")))
    return lines[0], fields


def header_values(fields, name):
    return [v for (n, v) in fields if n == name]


def header_tokens(fields, name):
    """The comma-separated elements of every header of that name, lower-cased."""
    out = []
    for value in header_values(fields, name):
        out.extend(t.strip().lower() for t in value.split(",") if t.strip())
    return out


class Endpoint:
    """One side of a WebSocket connection over a non-blocking socket.

    masks: True when we are the client (we mask, the peer must not), False
    when we are the server. Writing always keeps reading, so that a large send
    never deadlocks against a peer that echoes while it reads.
    """

    def __init__(self, sock, masks):
        self.sock = sock
        self.masks = masks
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.rbuf = bytearray()
        self.eof = False
        self.reset = False
        self.write_error = None
        self.violations = []
        self.msg_opcode = None
        self.msg_parts = []
        self.close_received = False
        self.mask_keys = []
        self.frames_received = 0
        self.splitter = None  # random.Random: cut every write at random points

    # ---- output -------------------------------------------------------------

    def frame(self, opcode, payload=b"", **kw):
        """Encode a frame, masked as our role requires unless told otherwise."""
        kw.setdefault("masked", self.masks)
        return encode_frame(opcode, payload, **kw)

    def write(self, data, chop=None, pause=0.0, stall=30.0):
        """Send data, in pieces of chop bytes with pause seconds between them.
        Returns False when the peer closed or reset before all of it went out
        (the reason is in write_error)."""
        view = memoryview(bytes(data))
        if chop is None and self.splitter is not None:
            return self._write_split(view, stall)
        step = chop or max(len(view), 1)
        for start in range(0, len(view), step):
            if not self._write_all(view[start:start + step], stall):
                return False
            if pause and start + step < len(view):
                self.idle(pause)
        return True

    def _write_split(self, view, stall):
        """Write in pieces of random sizes, mostly small, so that the peer
        sees headers, mask keys and code points cut anywhere."""
        start = 0
        while start < len(view):
            size = self.splitter.choice((1, 2, 3, 5, 8, 13, 100, 1000, 4096, 65536))
            if not self._write_all(view[start:start + size], stall):
                return False
            start += size
        return True

    def _write_all(self, chunk, stall):
        sent = 0
        last = time.monotonic()
        while sent < len(chunk):
            if self.write_error:
                return False
            rlist = [] if self.eof else [self.sock]
            r, w, _ = select.select(rlist, [self.sock], [], 0.5)
            if r:
                self._recv_some()
            if w:
                try:
                    n = self.sock.send(chunk[sent:])
                except (BlockingIOError, InterruptedError):
                    n = 0
                except OSError as e:
                    self.write_error = "send failed: %s" % (e.strerror or e)
                    return False
                if n:
                    sent += n
                    last = time.monotonic()
            if time.monotonic() - last > stall:
                self.write_error = "send stalled for %.0f s" % stall
                return False
        return True

    def write_until_blocked(self, data, stall=0.5):
        """Send without reading until the peer has taken nothing for stall
        seconds (its buffers and ours are full); returns the bytes sent."""
        view = memoryview(bytes(data))
        sent = 0
        last = time.monotonic()
        while sent < len(view) and time.monotonic() - last < stall:
            _, w, _ = select.select([], [self.sock], [], 0.05)
            if not w:
                continue
            try:
                n = self.sock.send(view[sent:sent + 65536])
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as e:
                self.write_error = "send failed: %s" % (e.strerror or e)
                break
            if n:
                sent += n
                last = time.monotonic()
        return sent

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- input --------------------------------------------------------------

    def _recv_some(self):
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.eof = self.reset = True
            return
        if data:
            self.rbuf += data
        else:
            self.eof = True

    def _wait_readable(self, deadline):
        """Read what arrives before deadline; False when nothing did."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        self._recv_some()
        return True

    def idle(self, seconds):
        """Wait, buffering whatever arrives meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.eof:
                time.sleep(max(0.0, deadline - time.monotonic()))
                return
            self._wait_readable(deadline)

    def read_http_head(self, deadline):
        """The bytes of an HTTP head, up to its empty line; later bytes stay
        buffered (they may already be frames)."""
        while True:
            end = self.rbuf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.rbuf[:end + 4])
                del self.rbuf[:end + 4]
                return head
            if len(self.rbuf) > HTTP_HEAD_MAX:
                raise HandshakeError("HTTP head longer than %d bytes" % HTTP_HEAD_MAX)
            if self.eof:
                raise HandshakeError("connection closed during the HTTP head (%s)"
                                     % show(self.rbuf, 60))
            if not self._wait_readable(deadline) and time.monotonic() >= deadline:
                raise HandshakeError("no complete HTTP head before the deadline (%s)"
                                     % show(self.rbuf, 60))

    def _decode(self):
        """One frame from the buffer, or None when it is not all there."""
        buf = self.rbuf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        n = b1 & 0x7F
        pos = 2
        minimal = True
        if n == 126:
            if len(buf) < 4:
                return None
            n = int.from_bytes(buf[2:4], "big")
            pos = 4
            minimal = n >= 126
        elif n == 127:
            if len(buf) < 10:
                return None
            n = int.from_bytes(buf[2:10], "big")
            pos = 10
            minimal = n >= 65536
        if n > FRAME_ACCEPT_MAX:
            raise ValueError("peer declared a %d-byte frame payload" % n)
        masked = bool(b1 & 0x80)
        key = None
        if masked:
            if len(buf) < pos + 4:
                return None
            key = bytes(buf[pos:pos + 4])
            pos += 4
        if len(buf) < pos + n:
            return None
        f = Frame()
        f.fin = b0 >> 7
        f.rsv = (b0 >> 4) & 7
        f.opcode = b0 & 0xF
        f.masked = masked
        f.key = key
        f.minimal = minimal
        payload = bytes(buf[pos:pos + n])
        del buf[:pos + n]
        f.payload = apply_mask(payload, key) if masked else payload
        return f

    def read_frame(self, deadline):
        """The next frame, 'eof' at end of stream, None at the deadline."""
        while True:
            try:
                f = self._decode()
            except ValueError as e:
                self.violations.append(str(e))
                self.rbuf.clear()
                self.eof = True
                return "eof"
            if f is not None:
                return f
            if self.eof:
                if self.rbuf:
                    self.violations.append("stream ended inside a frame (%s)" % show(self.rbuf))
                    self.rbuf.clear()
                return "eof"
            if not self._wait_readable(deadline) and time.monotonic() >= deadline:
                return None

    def _judge(self, f):
        """Record what the peer got wrong in this frame (RFC 6455 5.1-5.5)."""
        self.frames_received += 1
        who = "server" if self.masks else "client"
        if self.masks and f.masked:
            self.violations.append("server sent a masked frame: %r" % f)
        if not self.masks:
            if not f.masked:
                self.violations.append("client sent an unmasked frame: %r" % f)
            else:
                self.mask_keys.append(f.key)
        if f.rsv:
            self.violations.append("%s set RSV bits: %r" % (who, f))
        if f.opcode not in OPCODE_NAMES:
            self.violations.append("%s used reserved opcode %d" % (who, f.opcode))
        if not f.minimal:
            self.violations.append("%s used a non-minimal length encoding: %r" % (who, f))
        if f.opcode >= 8 and (not f.fin or len(f.payload) > 125):
            self.violations.append("%s sent a fragmented or oversized control frame: %r" % (who, f))
        if self.close_received:
            self.violations.append("%s sent a frame after its close frame: %r" % (who, f))

    def next_event(self, deadline):
        """The next event (see Event), or None at the deadline. Data frames
        are gathered into whole messages; an unfinished message is in
        partial()."""
        while True:
            f = self.read_frame(deadline)
            if f is None:
                return None
            if f == "eof":
                return Event("eof", reset=self.reset)
            self._judge(f)
            if f.opcode in (TEXT, BINARY):
                if self.msg_opcode is not None:
                    self.violations.append("new data frame inside a fragmented message: %r" % f)
                self.msg_opcode = f.opcode
                self.msg_parts = [f.payload]
            elif f.opcode == CONT:
                if self.msg_opcode is None:
                    self.violations.append("continuation frame with no message open: %r" % f)
                    continue
                self.msg_parts.append(f.payload)
            elif f.opcode == PING:
                return Event("ping", data=f.payload)
            elif f.opcode == PONG:
                return Event("pong", data=f.payload)
            elif f.opcode == CLOSE:
                self.close_received = True
                return self._close_event(f.payload)
            else:
                continue
            if f.fin:
                data = b"".join(self.msg_parts)
                ev = Event("message", opcode=self.msg_opcode, data=data)
                self.msg_opcode = None
                self.msg_parts = []
                if ev.opcode == TEXT and not utf8_valid(data):
                    self.violations.append("peer sent a text message that is not UTF-8: %s"
                                           % show(data))
                return ev

    def _close_event(self, body):
        if not body:
            return Event("close", data=body)
        if len(body) == 1:
            self.violations.append("close frame with a 1-byte body")
            return Event("close", data=body)
        code = int.from_bytes(body[:2], "big")
        if not close_code_valid(code):
            self.violations.append("close frame with code %d, not allowed on the wire" % code)
        if not utf8_valid(body[2:]):
            self.violations.append("close reason is not UTF-8: %s" % show(body[2:]))
        return Event("close", data=body, code=code, reason=body[2:])

    def partial(self):
        """Bytes of a message begun but not finished."""
        return b"".join(self.msg_parts)
