# SPDX-License-Identifier: MIT
"""Process plumbing for the interop tests.

Every process a test starts goes through spawn(): it gets a process group of
its own (so that killing it also kills what it started, such as Chromium's
helpers) and is killed, with its group, when the test exits however it exits:
normally, by an exception, by SIGTERM/SIGINT, or by the harness itself dying
(PR_SET_PDEATHSIG). Servers listen on loopback addresses only (127.0.0.1, or
::1 where a test asks for it).

Also a command-line wrapper for peers written in other languages:

    harness.py [--timeout S] [--echo-server BIN [--server-arg ARG]...] -- CMD...

starts echo_server on a free port when asked, runs CMD with {url}, {host} and
{port} replaced, and returns CMD's exit status (77: skipped).
"""

import argparse
import atexit
import collections
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

SKIP = 77
HOST = "127.0.0.1"
LISTENING = re.compile(r"listening on ws://([^/\s]+):(\d+)/")

_groups = []  # process group ids of everything spawn() started


def skip(reason):
    """Exit as skipped (77), or as failed where the peers are required."""
    print(f"SKIP: {reason}", file=sys.stderr, flush=True)
    if os.environ.get("CI") or os.environ.get("WSM_INTEROP_REQUIRE"):
        print("failing instead of skipping: CI / WSM_INTEROP_REQUIRE is set; "
              "run tests/interop/setup.sh", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(SKIP)


def free_port(host=HOST):
    """A TCP port on host that was free a moment ago (callers retry)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent():
    # Runs in the child between fork and exec. PR_SET_PDEATHSIG (1): be
    # killed when the thread that spawned us dies, even by SIGKILL.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:  # not Linux: the atexit and signal paths remain
        pass


def popen_options():
    """Keyword arguments that put a child in its own killable group; for
    subprocess.Popen or asyncio.create_subprocess_exec. Register the pid
    with track() afterwards."""
    return {"start_new_session": True, "preexec_fn": _die_with_parent}


def track(pid):
    _groups.append(pid)


def spawn(cmd, **kwargs):
    """subprocess.Popen, in a new process group killed when the test exits."""
    p = subprocess.Popen(cmd, **popen_options(), **kwargs)
    track(p.pid)
    return p


def kill_all():
    while _groups:
        pgid = _groups.pop()
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:  # reap the leader if it is our child
            os.waitpid(pgid, 0)
        except ChildProcessError:
            pass


def _on_signal(signum, _frame):
    kill_all()
    os._exit(128 + signum)


atexit.register(kill_all)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def alarm(seconds, what):
    """Fail the whole test (children killed) if it is still running after
    seconds: the last line of defence behind every per-step timeout."""
    def fire(_signum, _frame):
        print(f"FAIL: {what} did not finish within {seconds} s",
              file=sys.stderr, flush=True)
        kill_all()
        os._exit(1)
    signal.signal(signal.SIGALRM, fire)
    signal.alarm(int(seconds))


class EchoServer:
    """echo_server on a free port: a context manager that waits for its
    'listening on' line and kills it on exit. Its last lines of output are
    kept and shown by dump()."""

    def __init__(self, binary, args=(), host=HOST, attempts=5, ready_timeout=10.0):
        self.binary = binary
        self.host = host
        self.args = list(args)
        self.attempts = attempts
        self.ready_timeout = ready_timeout
        self.lines = collections.deque(maxlen=200)
        self.proc = None
        self.port = None
        self.url = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _drain(self, proc, ready):
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            m = LISTENING.search(line)
            if m and not ready.is_set():
                self.port = int(m.group(2))
                ready.set()
        ready.set()  # end of output: the server exited

    def start(self):
        for _ in range(self.attempts):
            port = free_port(self.host)
            cmd = [self.binary, "--host", self.host, "--port", str(port), *self.args]
            self.lines.append("$ " + " ".join(cmd))
            proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
            ready = threading.Event()
            threading.Thread(target=self._drain, args=(proc, ready),
                             daemon=True).start()
            if not ready.wait(self.ready_timeout):
                proc.kill()
                proc.wait()
                raise RuntimeError(f"echo_server printed no 'listening on' line "
                                   f"within {self.ready_timeout} s\n" + self.dump())
            if self.port is not None and proc.poll() is None:
                if self.port != port:
                    raise RuntimeError(f"echo_server was asked for port {port} "
                                       f"but says {self.port}\n" + self.dump())
                self.proc = proc
                netloc = f"[{self.host}]" if ":" in self.host else self.host
                self.url = f"ws://{netloc}:{self.port}/"
                return self
            proc.wait()  # it exited: most likely the port was taken meanwhile
            self.port = None
        raise RuntimeError("echo_server did not start\n" + self.dump())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def dump(self):
        return "\n".join("  [echo_server] " + line for line in self.lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--echo-server")
    ap.add_argument("--server-arg", action="append", default=[])
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")
    if shutil.which(cmd[0]) is None:
        skip(f"{cmd[0]} is not installed")
    alarm(a.timeout + 10, "the harness")
    server = None
    if a.echo_server:
        server = EchoServer(a.echo_server, a.server_arg).start()
        subst = {"url": server.url, "host": HOST, "port": str(server.port)}
        cmd = [re.sub(r"\{(url|host|port)\}", lambda m: subst[m.group(1)], c)
               for c in cmd]
    t0 = time.monotonic()
    proc = spawn(cmd, stdin=subprocess.DEVNULL)
    try:
        rc = proc.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        print(f"FAIL: {' '.join(cmd)} still running after {a.timeout} s",
              file=sys.stderr)
        rc = 1
    if server is not None and not server.alive() and rc == 0:
        print("FAIL: echo_server died during the test", file=sys.stderr)
        rc = 1
    if rc == SKIP:
        skip(f"{cmd[0]} reported that a peer is missing")
    if rc != 0 and server is not None:
        print(server.dump(), file=sys.stderr)
    print(f"{os.path.basename(cmd[1] if len(cmd) > 1 else cmd[0])}: "
          f"exit {rc} after {time.monotonic() - t0:.1f} s", file=sys.stderr)
    kill_all()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
