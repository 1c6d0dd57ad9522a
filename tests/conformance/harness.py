# SPDX-License-Identifier: MIT
"""Processes and verdicts shared by the two conformance drivers.

Every process started here is killed by the same object that started it,
and dies with the driver if the driver itself is killed (PR_SET_PDEATHSIG
on Linux), so a ctest timeout leaves nothing behind.
"""

import collections
import ctypes
import re
import signal
import socket
import subprocess
import sys
import threading
import time

OK, NON_STRICT, FAILED = "OK", "NON-STRICT", "FAILED"


class Verdict(Exception):
    """Raised by a case to end it with a status other than OK."""

    def __init__(self, status, reason):
        Exception.__init__(self, reason)
        self.status = status
        self.reason = reason


def failed(reason):
    raise Verdict(FAILED, reason)


def non_strict(reason):
    raise Verdict(NON_STRICT, reason)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _die_with_parent():
    """In the child: ask Linux to SIGKILL us when the driver dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Process:
    """A program under test. Its output (stdout and stderr together) is
    drained by a thread so that the pipe never blocks it, and kept for the
    report."""

    def __init__(self, argv, name):
        self.argv = list(argv)
        self.name = name
        self.proc = None
        self.lines = collections.deque(maxlen=400)
        self.ready = threading.Event()
        self.ready_match = None
        self._pattern = None
        self._reader = None

    def start(self, ready_pattern=None):
        self._pattern = re.compile(ready_pattern) if ready_pattern else None
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            if self._pattern and not self.ready.is_set():
                m = self._pattern.search(line)
                if m:
                    self.ready_match = m
                    self.ready.set()
        self.ready.set()  # the process ended: stop anyone waiting

    def wait_ready(self, timeout):
        """True once the ready line was printed; False on exit or timeout."""
        self.ready.wait(timeout)
        return self.ready_match is not None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self):
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return "killed by %s" % signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exit code %d" % rc

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Terminate (then kill) the process this object started."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            if self.wait(3) is None:
                self.proc.kill()
                self.wait(3)
        if self._reader:
            self._reader.join(2)

    def tail(self, n=15):
        return list(self.lines)[-n:]


class Results:
    def __init__(self, title, verbose=True):
        self.title = title
        self.verbose = verbose
        self.rows = []
        self.started = time.monotonic()

    def add(self, case_id, status, reason, seconds, note=""):
        self.rows.append((case_id, status, reason, seconds))
        if self.verbose or status != OK:
            text = "%-10s %-10s %6.2fs" % (case_id, status, seconds)
            if note:
                text += "  " + note
            if reason:
                text += "  " + reason
            print(text, flush=True)

    def summary(self):
        counts = collections.Counter(r[1] for r in self.rows)
        passed = counts.get(OK, 0)
        bad = len(self.rows) - passed
        elapsed = time.monotonic() - self.started
        print("%s: %d cases, %d OK, %d NON-STRICT, %d FAILED in %.1f s"
              % (self.title, len(self.rows), passed, counts.get(NON_STRICT, 0),
                 counts.get(FAILED, 0), elapsed))
        for case_id, status, reason, _ in self.rows:
            if status != OK:
                print("  %s %s: %s" % (case_id, status, reason))
        print("conformance: %d passed, %d failed" % (passed, bad), flush=True)
        return 0 if bad == 0 and self.rows else 1


def select_cases(cases, patterns):
    """Cases whose id equals a pattern or starts with pattern + '.'."""
    if not patterns:
        return cases
    keep = []
    for case in cases:
        cid = case[0]
        if any(cid == p or cid.startswith(p + ".") for p in patterns):
            keep.append(case)
    return keep


def log(*args):
    print(*args, file=sys.stderr, flush=True)
