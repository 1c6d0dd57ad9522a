# SPDX-License-Identifier: MIT
"""Python websockets (Debian's, legacy asyncio API of 10.x) as the server for
wsm's client example.

Usage: /usr/bin/python3 py_server.py path/to/client

The server listens on 127.0.0.1, a port the system picks, and echoes; the
client must send each message as text, answer the server's ping, close with
1000 and exit 0. When the server echoes something else, the client must exit
non-zero.
"""

import asyncio
import subprocess
import sys
import time

import harness

try:
    import websockets
    import websockets.exceptions
    import websockets.server
except ImportError as e:
    harness.skip(f"python3-websockets is not importable from {sys.executable}: {e}")

CLIENT_TIMEOUT = 15
results = {"passed": 0, "failed": 0}
state = {"mode": "echo", "conns": []}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok or not detail else f": {detail}"),
          flush=True)
    return ok


async def handler(ws):
    conn = {"path": ws.path, "host": ws.request_headers.get("Host"), "messages": [],
            "pong": False, "close": None, "done": asyncio.Event()}
    state["conns"].append(conn)
    try:
        waiter = await ws.ping(b"are you there?")
        async for msg in ws:
            conn["messages"].append(msg)
            if state["mode"] == "echo":
                await ws.send(msg)
            elif state["mode"] == "fragments":  # one message in 3 frames
                third = max(1, len(msg) // 3)
                await ws.send([msg[:third], msg[third:2 * third], msg[2 * third:]])
            elif isinstance(msg, str):
                await ws.send(msg + "?")
            else:
                await ws.send(msg + b"?")
        # websockets completes the waiter only for a pong with this payload.
        conn["pong"] = waiter.done() and not waiter.cancelled()
    except websockets.exceptions.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        conn["close"] = ws.close_code
        conn["done"].set()


async def refuse_forbidden(path, headers):
    if path.startswith("/forbidden"):
        return 403, [("Content-Type", "text/plain")], b"forbidden\n"
    return None


async def run_client(client, args, stdin=b""):
    p = await asyncio.create_subprocess_exec(
        client, *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, **harness.popen_options())
    harness.track(p.pid)
    try:
        out, err = await asyncio.wait_for(p.communicate(stdin), CLIENT_TIMEOUT)
        return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
        return None, "", f"killed after {CLIENT_TIMEOUT} s"


def show(rc, out, err):
    return f"exit {rc}\n--- stdout\n{out[:2000]}\n--- stderr\n{err[:2000]}"


async def echo_case(client, port, name, path, args, stdin, want, host=harness.HOST):
    """Runs the client on a path ("" for none: the request is for /) and
    checks what the server saw."""
    before = len(state["conns"])
    rc, out, err = await run_client(client, [f"ws://{host}:{port}{path}", *args], stdin)
    check(f"{name}: client exits 0", rc == 0, show(rc, out, err))
    if not check(f"{name}: one connection", len(state["conns"]) == before + 1,
                 f"{len(state['conns']) - before} connections"):
        return
    conn = state["conns"][before]
    try:
        await asyncio.wait_for(conn["done"].wait(), 3)
    except asyncio.TimeoutError:
        pass
    check(f"{name}: request path", conn["path"] == (path or "/"), repr(conn["path"]))
    check(f"{name}: Host header", conn["host"] == f"{host}:{port}", repr(conn["host"]))
    got = conn["messages"]
    check(f"{name}: the server received every message, as text, in order", got == want,
          repr([m[:40] for m in got]))
    check(f"{name}: the client answered the server's ping", conn["pong"])
    check(f"{name}: the client closed with 1000", conn["close"] == 1000, repr(conn["close"]))
    for w in want:
        if 0 < len(w) < 100:
            check(f"{name}: the client printed {w!r}", w in out, show(rc, out, err))


async def main(client):
    async with websockets.server.serve(handler, harness.HOST, 0, max_size=64 << 20,
                                       ping_interval=None, close_timeout=5,
                                       process_request=refuse_forbidden) as server:
        port = server.sockets[0].getsockname()[1]
        long = "long ✓ " + "x" * 100000
        await echo_case(client, port, "arguments", "/interop/python?q=1&r=%C3%BC",
                        ["hello", "héllo wörld ✓", "😀🎉", long], b"",
                        ["hello", "héllo wörld ✓", "😀🎉", long])
        line = "line " + "y" * 70000
        await echo_case(client, port, "stdin", "/from/stdin", [],
                        f"first line\nsecond: ünïcödé ✓\n{line}\n".encode(),
                        ["first line", "second: ünïcödé ✓", line])
        await echo_case(client, port, "empty message, URL without a path", "", [""], b"", [""])
        await echo_case(client, port, "host name localhost", "/named", ["by name"], b"",
                        ["by name"], host="localhost")
        state["mode"] = "fragments"
        texts = ["héllo wörld ✓ 😀", "z" * 5000]
        await echo_case(client, port, "fragmented echo", "/fragments", texts, b"", texts)
        state["mode"] = "mangle"
        rc, out, err = await run_client(client, [f"ws://{harness.HOST}:{port}/mangled",
                                                 "hello", "world"])
        check("wrong echo: client exits non-zero, by itself", rc not in (0, None),
              show(rc, out, err))
        state["mode"] = "echo"
        rc, out, err = await run_client(client, [f"ws://{harness.HOST}:{port}/forbidden", "hi"])
        check("refused with 403: client exits non-zero, by itself", rc not in (0, None),
              show(rc, out, err))
    # Nothing listens on a port that was just free.
    rc, out, err = await run_client(client, [f"ws://{harness.HOST}:{harness.free_port()}/", "hi"])
    check("no server: client exits non-zero, by itself", rc not in (0, None), show(rc, out, err))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: py_server.py path/to/client")
    harness.alarm(90, "py_server.py")
    t0 = time.monotonic()
    asyncio.run(main(sys.argv[1]))
    print(f"client against a websockets {websockets.__version__} server: "
          f"{results['passed']} passed, {results['failed']} failed "
          f"({time.monotonic() - t0:.1f} s)")
    sys.exit(0 if results["failed"] == 0 and results["passed"] > 0 else 1)
