# SPDX-License-Identifier: MIT
"""Headless Chromium against wsm's echo_server.

Usage: /usr/bin/python3 chromium_test.py path/to/echo_server [path/to/chromium]

Starts echo_server (--protocol chat --protocol superchat) and a small HTTP
server for browser/page.html on other free ports, then runs
`chromium --headless --dump-dom` on the page. The page does the checks and
writes them into the DOM; its <img src="hold"> is answered only when the page
has reported that it is done, so the dump comes after the results. Passes
only if the page finished, every check passed, and enough checks ran.
"""

import html.parser
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE_FILES = {"/page.html": "text/html; charset=utf-8",
              "/page.js": "text/javascript; charset=utf-8"}
MIN_CHECKS = 45     # what the page makes; fewer means part of it did not run
BROWSER_TIMEOUT = 120
HOLD_TIMEOUT = 100  # the dump then shows how far the page got


def page_server(done):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", ctype="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            if path in PAGE_FILES:
                with open(os.path.join(HERE, "browser", path[1:]), "rb") as f:
                    self.reply(200, f.read(), PAGE_FILES[path])
            elif path == "/hold":
                done.wait(HOLD_TIMEOUT)
                self.reply(204)
            else:
                self.reply(404, b"not found")

        def do_POST(self):
            if urllib.parse.urlsplit(self.path).path == "/done":
                done.set()
                self.reply(204)
            else:
                self.reply(404, b"not found")

    server = http.server.ThreadingHTTPServer((harness.HOST, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Results(html.parser.HTMLParser):
    """The summary's attributes and the text of each result <li>."""

    def __init__(self):
        super().__init__()
        self.summary = None
        self.items = []
        self._li = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") == "summary":
            self.summary = a
        if tag == "li":
            self._li = [a.get("class", ""), ""]

    def handle_data(self, data):
        if self._li is not None:
            self._li[1] += data

    def handle_endtag(self, tag):
        if tag == "li" and self._li is not None:
            self.items.append(tuple(self._li))
            self._li = None


def main(echo_server, chromium):
    if not os.path.exists(chromium) and shutil.which(chromium) is None:
        harness.skip(f"{chromium} is not installed")
    harness.alarm(BROWSER_TIMEOUT + 30, "chromium_test.py")
    done = threading.Event()
    protocols = ["--protocol", "chat", "--protocol", "superchat"]
    with harness.EchoServer(echo_server, protocols) as srv, \
            tempfile.TemporaryDirectory(prefix="wsm-chromium-") as profile:
        pages = page_server(done)
        url = (f"http://{harness.HOST}:{pages.server_address[1]}/page.html?"
               + urllib.parse.urlencode({"ws": srv.url}))
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
               "--no-default-browser-check", "--mute-audio",
               # Chromium still looks up Google hosts in the background; let
               # no name resolve, so that nothing but loopback is reached.
               f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {harness.HOST}",
               f"--user-data-dir={profile}", "--dump-dom", url]
        t0 = time.monotonic()
        p = harness.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
        try:
            out, err = p.communicate(timeout=BROWSER_TIMEOUT)
        except subprocess.TimeoutExpired:
            harness.kill_all()
            out, err = p.communicate()
            print(f"FAIL: chromium still running after {BROWSER_TIMEOUT} s")
        elapsed = time.monotonic() - t0
        pages.shutdown()
        alive = srv.alive()

        r = Results()
        r.feed(out.decode("utf-8", "replace"))
        for cls, text in r.items:
            print(text)
        s = r.summary or {}
        ok = (s.get("data-done") == "1" and s.get("data-failed") == "0"
              and int(s.get("data-passed", "0")) >= MIN_CHECKS and alive
              and sum(1 for cls, _ in r.items if cls == "fail") == 0)
        if not alive:
            print("FAIL: echo_server died during the test")
        if not ok:
            print(f"chromium exit {p.returncode}; page finished: {s.get('data-done') == '1'}; "
                  f"checks passed: {s.get('data-passed')} (at least {MIN_CHECKS} expected)")
            print("--- chromium stderr (last lines, D-Bus noise left out)")
            lines = [x for x in err.decode("utf-8", "replace").splitlines() if "dbus" not in x]
            print("\n".join(lines[-30:]))
            print(srv.dump())
        print(f"chromium against echo_server: {s.get('data-passed', 0)} passed, "
              f"{s.get('data-failed', '?')} failed ({elapsed:.1f} s)")
        return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: chromium_test.py path/to/echo_server [path/to/chromium]")
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "/usr/bin/chromium"))
