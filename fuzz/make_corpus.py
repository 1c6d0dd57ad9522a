#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora fuzz/corpus/<harness>/seed-* and the dictionaries
fuzz/<harness>.dict. Standard library only; the output is deterministic.

Seeds are named seed-*; this script replaces only those, so inputs saved by
hand (regress-*: minimised crashes kept as regression tests) stay. The input
layouts are described at the top of each harness:
  frame_server, frame_client  4 config bytes, 1 host byte, the stream
  split                       4 config bytes, role byte, pattern length,
                              pattern bytes, the stream
  utf8                        3 control bytes, the text
  roundtrip                   config byte, seed byte, operations
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

RFC_KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # the mask key of RFC 6455 5.7


def frame(op, payload=b"", fin=True, rsv=0, key=None, length=None, form=None):
    """One frame. length overrides the declared payload length; form forces
    the length encoding ('7', '16', '64'), minimal or not."""
    n = len(payload) if length is None else length
    if form is None:
        form = "7" if n < 126 else "16" if n < 0x10000 else "64"
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    mbit = 0x80 if key is not None else 0
    if form == "7":
        head = bytes([b0, mbit | n])
    elif form == "16":
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if key is not None:
        head += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + payload


def close_body(code, reason=b""):
    return struct.pack(">H", code) + reason


def streams(masked):
    """(name, bytes) pairs: what a peer sends. A server's peer masks."""
    keys = [RFC_KEY, b"\x00\x00\x00\x00", b"\xff\x00\xa5\x5a", b"\x01\x02\x03\x04"]
    count = [0]

    def f(op, payload=b"", **kw):
        key = None
        if masked:
            key = keys[count[0] % len(keys)]
            count[0] += 1
        return frame(op, payload, key=key, **kw)

    s = []
    # RFC 6455 5.7, byte for byte.
    if masked:
        s.append(("rfc-masked-text", bytes.fromhex("818537fa213d7f9f4d5158")))
        s.append(("rfc-masked-pong", bytes.fromhex("8a8537fa213d7f9f4d5158")))
    else:
        s.append(("rfc-text", bytes.fromhex("810548656c6c6f")))
        s.append(("rfc-fragmented", bytes.fromhex("010348656c80026c6f")))
        s.append(("rfc-ping", bytes.fromhex("890548656c6c6f")))
    s.append(("rfc-binary-256", f(OP_BINARY, bytes(range(256)))))
    # 64 KiB in one frame: header and a little payload (the rest would bloat
    # the seed; the declared length is what matters).
    s.append(("rfc-binary-64k-head", f(OP_BINARY, b"", length=65536)[:16] + b"abcd"))
    s.append(("text-hello", f(OP_TEXT, b"Hello")))
    s.append(("fragmented", f(OP_TEXT, b"Hel", fin=False) + f(OP_CONT, b"lo")))
    s.append(("fragmented-binary-5", b"".join(
        f(OP_BINARY if i == 0 else OP_CONT, bytes([i]) * i, fin=i == 4) for i in range(5))))
    s.append(("empty-text", f(OP_TEXT)))
    s.append(("empty-fragments", f(OP_BINARY, fin=False) + f(OP_CONT, fin=False) + f(OP_CONT)))
    s.append(("control-inside-fragments",
              f(OP_TEXT, b"Hel", fin=False) + f(OP_PING, b"p") + f(OP_PONG)
              + f(OP_CONT, b"l", fin=False) + f(OP_CLOSE, close_body(1000))
              + f(OP_CONT, b"o")))
    s.append(("ping-flood", b"".join(f(OP_PING, bytes([i]) * (i * 20)) for i in range(7))))
    s.append(("ping-125", f(OP_PING, b"x" * 125)))
    s.append(("ping-then-close", f(OP_PING, b"abc") + f(OP_CLOSE, close_body(1001, b"away"))))
    s.append(("pong-unsolicited", f(OP_PONG, b"unsolicited")))
    s.append(("utf8-split-across-frames",
              f(OP_TEXT, "a€".encode()[:2], fin=False) + f(OP_CONT, "a€".encode()[2:])))
    s.append(("utf8-4byte", f(OP_TEXT, "𝄞 κόσμε 😀".encode())))
    long_text = ("aé€😀" * 30).encode()
    s.append(("utf8-long", f(OP_TEXT, long_text)))
    s.append(("utf8-long-bad-late", f(OP_TEXT, long_text[:250] + b"\xc0\x80")))
    s.append(("utf8-long-fragmented",
              f(OP_TEXT, long_text[:131], fin=False) + f(OP_CONT, long_text[131:])))
    s.append(("utf8-invalid-overlong", f(OP_TEXT, b"\xc0\xaf")))
    s.append(("utf8-invalid-surrogate", f(OP_TEXT, b"ok\xed\xa0\x80")))
    s.append(("utf8-invalid-above-max", f(OP_TEXT, b"\xf4\x90\x80\x80")))
    s.append(("utf8-truncated-at-end", f(OP_TEXT, b"abc\xe2\x82")))
    s.append(("utf8-invalid-in-continuation",
              f(OP_TEXT, b"abc", fin=False) + f(OP_CONT, b"\xff")))
    # Close frames of every kind.
    s.append(("close-empty", f(OP_CLOSE)))
    s.append(("close-1000", f(OP_CLOSE, close_body(1000))))
    s.append(("close-reason", f(OP_CLOSE, close_body(1000, b"bye"))))
    s.append(("close-reason-123", f(OP_CLOSE, close_body(4000, b"r" * 123))))
    s.append(("close-1-byte-body", f(OP_CLOSE, b"\x03")))
    s.append(("close-reason-bad-utf8", f(OP_CLOSE, close_body(1000, b"\xc3"))))
    for code in (999, 1004, 1005, 1006, 1015, 1016, 2999, 3000, 4999, 5000, 65535):
        s.append(("close-code-%d" % code, f(OP_CLOSE, close_body(code))))
    s.append(("close-then-data", f(OP_CLOSE, close_body(1000)) + f(OP_TEXT, b"ignored")))
    # Header faults.
    for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
        s.append(("reserved-opcode-%x" % op, f(op, b"x")))
    s.append(("rsv1-text", f(OP_TEXT, b"x", rsv=4)))
    s.append(("rsv3-ping", f(OP_PING, rsv=1)))
    s.append(("control-fragmented", f(OP_PING, b"x", fin=False)))
    s.append(("control-too-long", f(OP_PING, b"y" * 126)))
    s.append(("close-too-long-64", f(OP_CLOSE, b"", length=126, form="64")))
    s.append(("unexpected-continuation", f(OP_CONT, b"x")))
    s.append(("expected-continuation", f(OP_TEXT, b"a", fin=False) + f(OP_TEXT, b"b")))
    s.append(("non-minimal-16", f(OP_BINARY, b"abc", form="16")))
    s.append(("non-minimal-64", f(OP_BINARY, b"abc", form="64")))
    s.append(("non-minimal-64-of-16", f(OP_BINARY, b"", length=300, form="64") + b"z" * 8))
    # 64-bit lengths of past CVE classes: near 2^63, the top bit, SIZE_MAX,
    # and the 32-bit truncation boundaries.
    for name, n in (("2p63-minus-1", (1 << 63) - 1), ("2p63", 1 << 63),
                    ("size-max", (1 << 64) - 1), ("2p32-minus-1", (1 << 32) - 1),
                    ("2p32", 1 << 32), ("2p32-plus-5", (1 << 32) + 5),
                    ("2p31", 1 << 31), ("64k", 1 << 16)):
        s.append(("len64-" + name, f(OP_BINARY, b"", length=n, form="64") + b"payload"))
    s.append(("len64-cont-after-huge",
              f(OP_BINARY, b"", length=(1 << 62), form="64", fin=False)[:14]))
    s.append(("many-fragments", f(OP_TEXT, b"0", fin=False)
              + b"".join(f(OP_CONT, b"%d" % i, fin=False) for i in range(1, 12))
              + f(OP_CONT, b"end")))
    s.append(("mixed-conversation",
              f(OP_TEXT, b"hi") + f(OP_PING) + f(OP_BINARY, b"\x00\x01", fin=False)
              + f(OP_PONG, b"p") + f(OP_CONT, b"\x02") + f(OP_CLOSE, close_body(1000, b"done"))))
    # The wrong masking for the role.
    if masked:
        s.append(("unmasked-from-client", frame(OP_TEXT, b"plain")))
    else:
        s.append(("masked-from-server", frame(OP_TEXT, b"secret", key=RFC_KEY)))
    return s


def config(b0=0, b1=0, b2=0, b3=0):
    return bytes([b0, b1, b2, b3])


# Configurations the seeds are replayed under besides the default (see
# fz_setup_read in fuzz_common.h), with the host byte of the frame harness.
VARIANTS = [
    ("bytewise", config(), 0x01),                             # byte by byte
    ("pieces-drain-random", config(), 0x0A),
    ("pieces-no-drain", config(), 0x07),
    ("whole-msg-64", config(0x40, 0, 64), 0x02),
    ("small-limits", config(0x05, 9, 20, 0x03), 0x00),
    ("unlimited-nonminimal", config(0x1F), 0x00),
    ("limit-16bit-edge", config(0x02, 1), 0x02),
    ("manual-pong-timers", config(0x20, 0, 0, 0x40), 0x0B),
    ("host-closes", config(0x00, 0, 0, 0x80), 0x0E),
    ("relaxed", config(0x80, 1, 0, 0x38), 0x03),              # unmasked ok / random fails
]


def frame_seeds(masked):
    out = {}
    for i, (name, stream) in enumerate(streams(masked)):
        out["seed-%s" % name] = config() + b"\x00" + stream
        vname, cfg, host = VARIANTS[i % len(VARIANTS)]
        out["seed-%s--%s" % (name, vname)] = cfg + bytes([host]) + stream
    # Masked data split everywhere: the same conversation under every variant.
    conv = dict(streams(masked))["mixed-conversation"]
    for vname, cfg, host in VARIANTS:
        out["seed-conversation--%s" % vname] = cfg + bytes([host]) + conv
    return out


def split_seeds():
    out = {}
    patterns = [b"", b"\x41\x83\xc0", b"\x07", b"\x40\x01", b"\x3f\xbf\x00\x81"]
    for role, masked in ((0, True), (1, False)):
        rname = "server" if masked else "client"
        for i, (name, stream) in enumerate(streams(masked)):
            pat = patterns[i % len(patterns)]
            vname, cfg, _ = VARIANTS[i % len(VARIANTS)]
            out["seed-%s-%s" % (rname, name)] = (
                config() + bytes([role, len(pat)]) + pat + stream)
            out["seed-%s-%s--%s" % (rname, name, vname)] = (
                cfg + bytes([role, 0]) + stream)
    return out


def utf8_seeds():
    texts = {
        "ascii": b"Hello, world",
        "ascii-40": b"a" * 40,
        "two-byte": "é ß ñ Ω".encode(),
        "three-byte": "€ 中文 ✓".encode(),
        "four-byte": "𝄞 😀 🚀".encode(),
        "greek": "κόσμε".encode(),
        "boundaries": "".join(chr(c) for c in (
            0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF,
            0x10000, 0x10FFFF)).encode(),
        "bom": b"\xef\xbb\xbfx",
        "overlong-2": b"\xc0\x80",
        "overlong-2-c1": b"\xc1\xbf",
        "overlong-3": b"\xe0\x80\x80",
        "overlong-3-max": b"\xe0\x9f\xbf",
        "overlong-4": b"\xf0\x80\x80\x80",
        "overlong-4-max": b"\xf0\x8f\xbf\xbf",
        "surrogate-high": b"\xed\xa0\x80",
        "surrogate-low": b"\xed\xbf\xbf",
        "surrogate-pair": b"\xed\xa0\xbd\xed\xb8\x80",
        "above-max": b"\xf4\x90\x80\x80",
        "lead-f5": b"\xf5\x80\x80\x80",
        "lead-ff": b"\xff",
        "five-byte": b"\xf8\x88\x80\x80\x80",
        "stray-continuation": b"a\x80b",
        "stray-continuation-bf": b"\xbf",
        "truncated-2": b"\xc3",
        "truncated-3": b"\xe2\x82",
        "truncated-4": b"\xf0\x9f\x98",
        "missing-continuation": b"\xe2x\x82",
        "nul": b"a\x00b",
    }
    for pos in (0, 7, 8, 15, 16, 31, 32, 39):
        t = bytearray(b"A" * 40)
        t[pos] = 0x80
        texts["ascii-fast-path-bad-at-%d" % pos] = bytes(t)
    long_mixed = ("x" * 17 + "é" + "y" * 15 + "€" + "z" * 16 + "😀").encode()
    texts["ascii-runs-mixed"] = long_mixed
    # 128 bytes and more take the vector path (32-byte blocks): characters
    # straddling block edges, and faults at and around them.
    mixed = ("aé€😀" * 40).encode()
    texts["long-mixed-valid"] = mixed
    texts["long-ascii-then-emoji"] = b"a" * 127 + "😀".encode() * 20
    for pos in (127, 128, 159, 160, 191, 200, 255, 256, 380):
        t = bytearray(mixed)
        t[pos] = 0xFF
        texts["long-bad-at-%d" % pos] = bytes(t)
    texts["long-surrogate-late"] = mixed[:300] + b"\xed\xa0\x80" + mixed[:40]
    texts["long-overlong-late"] = b"b" * 250 + b"\xe0\x80\xaf" + b"b" * 20
    texts["long-above-max-late"] = mixed[:200] + b"\xf4\x90\x80\x80"
    texts["long-truncated-end"] = mixed[:399]
    controls = [(0x00, 0, 0), (0x01, 128, 0), (0x02, 64, 192), (0x92, 1, 255),
                (0xF2, 100, 101), (0x81, 200, 10)]
    out = {}
    for i, (name, text) in enumerate(sorted(texts.items())):
        c = controls[i % len(controls)]
        out["seed-" + name] = bytes(c) + text
    return out


# ---- roundtrip scripts ------------------------------------------------------

def text_units(s):
    """Encode the characters of s as make_text() units (fuzz_roundtrip.c)."""
    out = bytearray()
    for ch in s:
        c = ord(ch)
        if c < 0x80:
            out += bytes([0, c])
        elif c < 0x800:
            v = c - 0x80
            out += bytes([(v >> 8) << 2 | 1, v & 0xFF])
        elif c < 0x10000:
            v = c - 0x800 if c < 0xD800 else c - 0x1000
            x = v >> 2
            out += bytes([(x >> 8) << 2 | 2, x & 0xFF, v & 3])
        else:
            v = c - 0x10000
            x = v >> 6
            out += bytes([(x >> 8) << 2 | 3, x & 0xFF, v & 0x3F])
    n = len(s)
    count = bytes([n]) if n < 0x80 else bytes([0x80 | n >> 8, n & 0xFF])
    return count + bytes(out)


def fragments(frags):
    """frags: (size, ctl) pairs for the non-final frames; sizes < 32. A ctl
    of 1 sends a ping (payload follows as a length byte and bytes)."""
    out = bytearray()
    for size, ctl, payload in frags:
        out += bytes([size & 0x1F, ctl])
        if ctl & 3 == 1:
            out += bytes([len(payload)]) + payload
    return bytes(out) + b"\x80\x00"  # final fragment: the rest


def rt_text(s, frags=(), header_only=False):
    return bytes([7 if header_only else 0]) + text_units(s) + fragments(frags)


def rt_binary(data, frags=(), header_only=False):
    op = 0x02 | (0x40 if header_only else 0)
    if len(data) > 255:
        return bytes([op | 0x80, len(data) >> 8, len(data) & 0xFF]) + data + fragments(frags)
    return bytes([op, len(data)]) + data + fragments(frags)


def rt_control(ping, payload):
    return bytes([4 if ping else 5, len(payload)]) + payload


def roundtrip_seeds():
    hello = rt_text("Hello", [(3, 1, b"ping!")])
    mixed = (rt_text("héllo wörld € 😀", [(5, 0, b""), (2, 2, b""), (1, 4, b"")])
             + rt_binary(bytes(range(40)), [(7, 1 | 8, b"pong"), (0, 0, b"")])
             + rt_control(True, b"are you there") + rt_control(False, b"")
             + rt_binary(b"", ()) + rt_text(""))
    big = rt_binary(bytes(i & 0xFF for i in range(300)), [(31, 0x10, b""), (16, 1, b"x" * 125)])
    # Operation 6: 65536 + 0x20 * 16 bytes; a 16-byte fragment, a ping, the rest.
    large = bytes([0x06, 0x20]) + b"\x10\x01\x02hi" + b"\x80\x00"
    unicode_all = rt_text("".join(chr(c) for c in (
        0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF)),
        [(1, 0, b""), (1, 0, b""), (2, 2, b"")])
    out = {
        "seed-hello": b"\x00\x00" + hello,
        "seed-hello-close": b"\x08\x01" + hello,
        "seed-mixed": b"\x00\x02" + mixed,
        "seed-mixed-whole-msg": b"\x01\x03" + mixed,
        "seed-mixed-bytewise-close": b"\x0c\x04" + mixed,
        "seed-mixed-nocheck": b"\x02\x05" + mixed,
        "seed-big-fragments": b"\x00\x06" + big,
        "seed-header-only": b"\x00\x07" + rt_text("header only", [(4, 0, b"")], True)
        + rt_binary(b"raw", [(1, 0, b"")], True),
        "seed-unicode-boundaries": b"\x09\x08" + unicode_all,
        "seed-large-64bit-length": b"\x10\x09" + large,
        "seed-large-whole-msg-close": b"\x19\x0a" + large + hello,
    }
    return out


# ---- dictionaries -----------------------------------------------------------

def dict_line(name, data):
    return '%s="%s"\n' % (name, "".join("\\x%02x" % b for b in data))


FRAME_DICT = [
    ("op_text_fin", b"\x81"), ("op_binary_fin", b"\x82"), ("op_text", b"\x01"),
    ("op_binary", b"\x02"), ("op_cont", b"\x00"), ("op_cont_fin", b"\x80"),
    ("op_close", b"\x88"), ("op_ping", b"\x89"), ("op_pong", b"\x8a"),
    ("op_reserved_3", b"\x83"), ("op_reserved_b", b"\x8b"), ("rsv1_text", b"\xc1"),
    ("len_masked_0", b"\x80"), ("len_masked_125", b"\xfd"),
    ("len16_masked", b"\xfe"), ("len64_masked", b"\xff"),
    ("len16", b"\x7e"), ("len64", b"\x7f"),
    ("len16_126", b"\x00\x7e"), ("len16_max", b"\xff\xff"),
    ("len64_64k", b"\x00\x00\x00\x00\x00\x01\x00\x00"),
    ("len64_2p32", b"\x00\x00\x00\x01\x00\x00\x00\x00"),
    ("len64_2p63m1", b"\x7f\xff\xff\xff\xff\xff\xff\xff"),
    ("len64_2p63", b"\x80\x00\x00\x00\x00\x00\x00\x00"),
    ("len64_max", b"\xff\xff\xff\xff\xff\xff\xff\xff"),
    ("mask_rfc", RFC_KEY), ("mask_zero", b"\x00\x00\x00\x00"),
    ("close_1000", b"\x03\xe8"), ("close_1001", b"\x03\xe9"), ("close_1002", b"\x03\xea"),
    ("close_1003", b"\x03\xeb"), ("close_1004", b"\x03\xec"), ("close_1005", b"\x03\xed"),
    ("close_1006", b"\x03\xee"), ("close_1007", b"\x03\xef"), ("close_1011", b"\x03\xf3"),
    ("close_1014", b"\x03\xf6"), ("close_1015", b"\x03\xf7"), ("close_2999", b"\x0b\xb7"),
    ("close_3000", b"\x0b\xb8"), ("close_4999", b"\x13\x87"), ("close_5000", b"\x13\x88"),
    ("utf8_euro", b"\xe2\x82\xac"), ("utf8_surrogate", b"\xed\xa0\x80"),
    ("utf8_overlong", b"\xc0\xaf"), ("utf8_above_max", b"\xf4\x90\x80\x80"),
    ("utf8_emoji", b"\xf0\x9f\x98\x80"),
]

UTF8_DICT = [
    ("bom", b"\xef\xbb\xbf"), ("euro", b"\xe2\x82\xac"), ("emoji", b"\xf0\x9f\x98\x80"),
    ("max", b"\xf4\x8f\xbf\xbf"), ("above_max", b"\xf4\x90\x80\x80"),
    ("surrogate_first", b"\xed\xa0\x80"), ("surrogate_last", b"\xed\xbf\xbf"),
    ("before_surrogates", b"\xed\x9f\xbf"), ("after_surrogates", b"\xee\x80\x80"),
    ("overlong_slash_2", b"\xc0\xaf"), ("overlong_slash_3", b"\xe0\x80\xaf"),
    ("overlong_slash_4", b"\xf0\x80\x80\xaf"), ("first_3", b"\xe0\xa0\x80"),
    ("first_4", b"\xf0\x90\x80\x80"), ("c2_80", b"\xc2\x80"), ("df_bf", b"\xdf\xbf"),
    ("ascii8", b"AAAAAAAA"), ("ascii16", b"AAAAAAAAAAAAAAAA"),
]

ROUNDTRIP_DICT = [
    ("op_text", b"\x00"), ("op_binary", b"\x02"), ("op_binary_long", b"\x82"),
    ("op_ping", b"\x04"), ("op_pong", b"\x05"), ("op_large", b"\x06"),
    ("op_text_header_only", b"\x07"), ("final_fragment", b"\x80\x00"),
    ("fragment_with_ping", b"\x03\x01"), ("fragment_refused", b"\x02\x02"),
    ("fragment_settle", b"\x04\x10"), ("unit_u10ffff", b"\x3f\xff\x3f"),
    ("unit_ud7ff", b"\xce\xfe\x03"),
]


def write_dir(path, files):
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.startswith("seed-"):
            os.remove(os.path.join(path, name))
    for name, data in sorted(files.items()):
        with open(os.path.join(path, name), "wb") as fh:
            fh.write(data)


def write_dict(path, entries):
    with open(path, "w") as fh:
        fh.write("# SPDX-License-Identifier: MIT\n")
        fh.write("# Generated by make_corpus.py; libFuzzer -dict= format.\n")
        for name, data in entries:
            fh.write(dict_line(name, data))


def main():
    corpus = os.path.join(HERE, "corpus")
    sets = {
        "frame_server": frame_seeds(masked=True),
        "frame_client": frame_seeds(masked=False),
        "split": split_seeds(),
        "utf8": utf8_seeds(),
        "roundtrip": roundtrip_seeds(),
    }
    for name, files in sets.items():
        write_dir(os.path.join(corpus, name), files)
    write_dict(os.path.join(HERE, "frame_server.dict"), FRAME_DICT)
    write_dict(os.path.join(HERE, "frame_client.dict"), FRAME_DICT)
    write_dict(os.path.join(HERE, "split.dict"), FRAME_DICT)
    write_dict(os.path.join(HERE, "utf8.dict"), UTF8_DICT)
    write_dict(os.path.join(HERE, "roundtrip.dict"), ROUNDTRIP_DICT)
    for name, files in sorted(sets.items()):
        print("%-13s %3d seeds" % (name, len(files)), file=sys.stderr)


if __name__ == "__main__":
    main()
