// SPDX-License-Identifier: MIT
// Runs in headless Chromium against echo_server (URL in ?ws=): subprotocol
// choice, text and binary echoes checked byte for byte up to 16 MiB, and
// clean closes. Every result becomes an <li> in #results; #summary gets
// data-done="1" with the counts, and then the page tells the harness (/done).
'use strict';

const wsUrl = new URLSearchParams(location.search).get('ws');
const results = document.getElementById('results');
const summary = document.getElementById('summary');
let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  const li = document.createElement('li');
  li.className = ok ? 'pass' : 'fail';
  li.textContent = (ok ? 'ok   ' : 'FAIL ') + name + (ok || !detail ? '' : ': ' + detail);
  results.appendChild(li);
  if (ok) passed++; else failed++;
  return ok;
}

function note(text) {
  const li = document.createElement('li');
  li.className = 'note';
  li.textContent = '     ' + text;
  results.appendChild(li);
}

// One named step; an exception or a timeout fails that step only.
async function step(name, ms, fn) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out after ' + ms + ' ms')), ms);
  });
  const t0 = performance.now();
  try {
    await Promise.race([fn(), timeout]);
  } catch (e) {
    check(name, false, String(e && e.message ? e.message : e));
  } finally {
    clearTimeout(timer);
  }
  const dt = Math.round(performance.now() - t0);
  if (dt > 1000) note(name + ': ' + dt + ' ms');
}

// A WebSocket with its messages and close event kept for await.
class Conn {
  constructor(protocols) {
    this.ws = new WebSocket(wsUrl, protocols);
    this.ws.binaryType = 'arraybuffer';
    this.messages = [];
    this.closeEvent = null;
    this.waiters = [];
    this.ws.onmessage = (e) => { this.messages.push(e.data); this.wake(); };
    this.ws.onclose = (e) => { this.closeEvent = e; this.wake(); };
    this.ws.onopen = () => this.wake();
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async until(ready, what) {
    while (!ready()) {
      if (this.closeEvent && what !== 'close') {
        throw new Error('closed (code ' + this.closeEvent.code + ') while waiting for ' + what);
      }
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }

  opened() { return this.until(() => this.ws.readyState === WebSocket.OPEN, 'open'); }
  async closed() {
    await this.until(() => this.closeEvent !== null, 'close');
    return this.closeEvent;
  }

  async next() {
    await this.until(() => this.messages.length > 0, 'a message');
    return this.messages.shift();
  }
}

function randomBytes(n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

// '' when equal, else where they first differ.
function diff(want, got) {
  const n = Math.min(want.length, got.length);
  for (let i = 0; i < n; i++) {
    if (want[i] !== got[i]) {
      return 'first difference at byte ' + i + ' of ' + want.length + ': want ' + want[i] +
             ', got ' + got[i];
    }
  }
  return want.length === got.length ? '' : 'length: want ' + want.length + ', got ' + got.length;
}

function checkText(name, text, got) {
  if (!check(name + ': echoed as text', typeof got === 'string', typeof got)) return;
  const d = diff(new TextEncoder().encode(text), new TextEncoder().encode(got));
  check(name + ': echo byte for byte', d === '', d);
}

function checkBinary(name, bytes, got) {
  if (!check(name + ': echoed as binary', got instanceof ArrayBuffer, typeof got)) return;
  const d = diff(bytes, new Uint8Array(got));
  check(name + ': echo byte for byte', d === '', d);
}

const texts = [
  ['empty text', ''],
  ['ascii text', 'Hello, wsm!'],
  ['two-byte UTF-8', 'héllo wörld, ça va'],
  ['three-byte UTF-8', '€ 漢字 ✓ かな'],
  ['emoji', '😀🎉👍🏽🇫🇷'],
  ['1 MiB mixed UTF-8', 'aé€😀'.repeat(104858)],
];
const sizes = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20];

async function run() {
  if (!wsUrl) {
    check('the page was given ?ws=URL', false, location.href);
    return;
  }

  await step('messages of every size', 60000, async () => {
    const c = new Conn(['nope', 'chat', 'superchat']);
    await c.opened();
    check('subprotocol: first offered that the server knows', c.ws.protocol === 'chat',
          "got '" + c.ws.protocol + "'");
    note("extensions: '" + c.ws.extensions + "'");
    for (const [name, text] of texts) {
      c.ws.send(text);
      checkText(name, text, await c.next());
    }
    for (const n of sizes) {
      const bytes = randomBytes(n);
      const t0 = performance.now();
      c.ws.send(bytes);
      const got = await c.next();
      const ms = Math.round(performance.now() - t0);
      if (n >= 1 << 20) note((n >> 20) + ' MiB echo: ' + ms + ' ms');
      checkBinary('binary ' + n + ' bytes', bytes, got);
    }
    c.ws.close(1000, 'bye from chromium');
    const e = await c.closed();
    check('close 1000 with a reason: wasClean', e.wasClean === true, String(e.wasClean));
    check('close 1000 with a reason: code 1000', e.code === 1000,
          'code ' + e.code + " reason '" + e.reason + "'");
  });

  await step('pipelined burst', 20000, async () => {
    const c = new Conn();
    await c.opened();
    const sent = [];
    for (let i = 0; i < 200; i++) {
      const data = i % 3 === 0 ? randomBytes(i * 37) : 'message ' + i + ' ✓';
      sent.push(data);
      c.ws.send(data);
    }
    let bad = 0;
    for (let i = 0; i < sent.length; i++) {
      const got = await c.next();
      const want = sent[i];
      const ok = typeof want === 'string' ? got === want
        : got instanceof ArrayBuffer && diff(want, new Uint8Array(got)) === '';
      if (!ok && bad++ === 0) note('message ' + i + ' differs');
    }
    check('200 messages sent back to back come back in order', bad === 0, bad + ' differ');
    c.ws.close(1000);
    await c.closed();
  });

  await step('no subprotocol offered', 10000, async () => {
    const c = new Conn();
    await c.opened();
    check('no offer: no subprotocol', c.ws.protocol === '', "got '" + c.ws.protocol + "'");
    c.ws.close();
    const e = await c.closed();
    check('close without a code: wasClean', e.wasClean === true, String(e.wasClean));
    // The server may echo the empty close (1005 here) or answer 1000.
    check('close without a code: 1005 or 1000', e.code === 1005 || e.code === 1000,
          'code ' + e.code);
  });

  for (const [code, reason] of [[3000, ''], [4999, 'custom ✓ reason']]) {
    await step('close ' + code, 10000, async () => {
      const c = new Conn(['superchat']);
      await c.opened();
      check('offer [superchat]: chosen', c.ws.protocol === 'superchat', c.ws.protocol);
      c.ws.send('before close');
      await c.next();
      c.ws.close(code, reason);
      const e = await c.closed();
      check('close ' + code + ': wasClean', e.wasClean === true, String(e.wasClean));
      check('close ' + code + ': code echoed', e.code === code, 'code ' + e.code);
    });
  }
}

run().catch((e) => check('the page ran to the end', false, String(e))).finally(() => {
  summary.dataset.done = '1';
  summary.dataset.passed = String(passed);
  summary.dataset.failed = String(failed);
  summary.textContent = passed + ' passed, ' + failed + ' failed';
  fetch('done', { method: 'POST' }).catch(() => {});
});
