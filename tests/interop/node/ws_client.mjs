// SPDX-License-Identifier: MIT
// Node `ws` as a client of wsm's echo_server (started by harness.py with
// --protocol chat --protocol superchat). Usage: node ws_client.mjs ws://HOST:PORT/
//
// Checks byte for byte: text and binary messages from 0 bytes to 16 MiB, a
// pipelined burst, fragmented messages (with a ping between fragments),
// ping payloads coming back in pongs, subprotocol choice, close codes echoed
// on their own connections, and 1002 answers to frames no peer may send,
// written by hand over a plain TCP socket.

import crypto from 'node:crypto';
import net from 'node:net';
import { check, deadline, diff, finish, loadWs, sameBytes, step } from './common.mjs';

const { WebSocket } = await loadWs();
const url = process.argv[2];
if (!url) {
  console.error('usage: node ws_client.mjs ws://HOST:PORT/');
  process.exit(2);
}
const { hostname, port } = new URL(url);
deadline(100000);

// A ws client with its incoming messages, pongs and close kept in queues.
class Peer {
  static open(protocols, options = {}) {
    const ws = new WebSocket(url, protocols, { maxPayload: 64 << 20, ...options });
    const peer = new Peer(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(peer));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`handshake answered with HTTP ${res.statusCode}`)));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.messages = [];
    this.pongs = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      this.messages.push({ data, isBinary });
      this.wake();
    });
    ws.on('pong', (data) => {
      this.pongs.push(data);
      this.wake();
    });
    ws.on('error', (e) => console.log(`     ws error: ${e.message}`));
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async take(queue) {
    while (this[queue].length === 0) {
      if (this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`connection closed while waiting for ${queue}`);
      }
      await new Promise((resolve) => this.waiters.push(resolve));
    }
    return this[queue].shift();
  }

  next() { return this.take('messages'); }
  nextPong() { return this.take('pongs'); }

  send(data, options) {
    return new Promise((resolve, reject) =>
      this.ws.send(data, options, (e) => (e ? reject(e) : resolve())));
  }
}

function checkEcho(name, want, isBinary, got) {
  const kind = isBinary ? 'binary' : 'text';
  if (!check(`${name}: echoed as ${kind}`, got.isBinary === isBinary,
             `isBinary ${got.isBinary}`)) return;
  check(`${name}: echo byte for byte`, sameBytes(want, got.data), diff(want, got.data));
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// A TCP connection that did the opening handshake by hand.
class RawPeer {
  static async open(extraHeaders = '') {
    const sock = net.connect({ host: hostname, port: Number(port) });
    const raw = new RawPeer(sock);
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const key = crypto.randomBytes(16).toString('base64');
    sock.write(`GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
               `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
               `Sec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`);
    const head = (await raw.readUntil((b) => {
      const i = b.indexOf('\r\n\r\n');
      return i < 0 ? 0 : i + 4;
    })).toString('latin1');
    const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
    if (!/^HTTP\/1\.1 101 /.test(head)) throw new Error(`no 101: ${head}`);
    const m = /\r\nsec-websocket-accept:[ \t]*([^\r]*?)[ \t]*\r\n/i.exec(head);
    if (!m || m[1] !== accept) throw new Error(`bad Sec-WebSocket-Accept in ${head}`);
    raw.head = head;
    return raw;
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.errored = null;
    this.waiters = [];
    const wake = () => { const w = this.waiters; this.waiters = []; for (const f of w) f(); };
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); wake(); });
    sock.on('end', () => { this.ended = true; wake(); });
    sock.on('error', (e) => { this.errored = e; wake(); });
    sock.on('close', () => { this.ended = true; wake(); });
  }

  // Waits until have(buf) returns a length > 0 and takes that many bytes.
  async readUntil(have) {
    for (;;) {
      const n = have(this.buf);
      if (n > 0) {
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return out;
      }
      if (this.ended || this.errored) {
        throw new Error(`connection ended (${this.errored ? this.errored.message : 'EOF'}) ` +
                        `with ${this.buf.length} bytes unread`);
      }
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }

  // Reads one unmasked server frame.
  async readFrame() {
    const bytes = await this.readUntil((b) => {
      if (b.length < 2) return 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return 0;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return 0;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      return b.length >= off + len ? off + len : 0;
    });
    const len7 = bytes[1] & 0x7f;
    const off = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
    return {
      fin: (bytes[0] & 0x80) !== 0,
      rsv: (bytes[0] >> 4) & 7,
      opcode: bytes[0] & 0x0f,
      masked: (bytes[1] & 0x80) !== 0,
      payload: bytes.subarray(off),
    };
  }

  async waitEnd(ms) {
    const t0 = Date.now();
    while (!this.ended && !this.errored) {
      if (Date.now() - t0 > ms) return false;
      await Promise.race([new Promise((r) => this.waiters.push(r)),
                          new Promise((r) => setTimeout(r, 50))]);
    }
    return true;
  }

  destroy() { this.sock.destroy(); }
}

// A client frame, masked unless told otherwise.
function frame({ fin = true, rsv = 0, opcode, payload = Buffer.alloc(0), mask = true }) {
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(n, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(n), 2);
  const body = Buffer.from(payload);
  if (mask) {
    const key = crypto.randomBytes(4);
    key.copy(head, 2 + ext);
    for (let i = 0; i < n; i++) body[i] ^= key[i & 3];
  }
  return Buffer.concat([head, body]);
}

// Sends bytes no peer may send and expects a close frame with code, then
// the end of the TCP connection.
async function expectFailure(name, bytes, code) {
  const raw = await RawPeer.open();
  try {
    raw.sock.write(bytes);
    let f = await raw.readFrame();
    while (f.opcode !== 0x8) f = await raw.readFrame(); // skip data the server had sent
    check(`${name}: close frame unmasked and final`, f.fin && !f.masked && f.rsv === 0);
    const got = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
    check(`${name}: close code ${code}`, got === code, `got ${got}`);
    check(`${name}: TCP connection closed after the close frame`, await raw.waitEnd(5000),
          'still open after 5 s');
    check(`${name}: nothing after the close frame`, raw.buf.length === 0,
          `${raw.buf.length} bytes`);
  } finally {
    raw.destroy();
  }
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

await step('messages of every size', 60000, async () => {
  const p = await Peer.open(['nope', 'chat']);
  check('subprotocol: first offered that the server knows', p.ws.protocol === 'chat',
        `got '${p.ws.protocol}'`);
  for (const [name, text] of texts) {
    await p.send(text);
    checkEcho(name, Buffer.from(text, 'utf8'), false, await p.next());
  }
  for (const n of sizes) {
    const data = crypto.randomBytes(n);
    await p.send(data);
    checkEcho(`binary ${n} bytes`, data, true, await p.next());
  }
  p.ws.close(1000);
  await p.closed;
});

await step('pipelined burst', 20000, async () => {
  const p = await Peer.open();
  const sent = [];
  for (let i = 0; i < 200; i++) {
    const binary = i % 3 === 0;
    const data = binary ? crypto.randomBytes(i * 37) : Buffer.from(`message ${i} ✓`);
    sent.push({ data, binary });
    p.ws.send(data, { binary });
  }
  let bad = 0;
  for (const [i, s] of sent.entries()) {
    const got = await p.next();
    if (got.isBinary !== s.binary || !sameBytes(s.data, got.data)) {
      if (bad++ === 0) console.log(`     message ${i}: ${diff(s.data, got.data)}`);
    }
  }
  check('200 messages sent back to back come back in order', bad === 0, `${bad} differ`);
  p.ws.close(1000);
  await p.closed;
});

await step('fragmented messages', 20000, async () => {
  const p = await Peer.open();
  // A text message whose fragments split characters: the server validates
  // UTF-8 across frames.
  const text = Buffer.from('fragmented ✓ 😀 text', 'utf8');
  const cut1 = text.indexOf(0xe2) + 1;              // inside the check mark
  const cut2 = text.indexOf(0xf0) + 2;              // inside the emoji
  await p.send(text.subarray(0, cut1), { binary: false, fin: false });
  await p.send(text.subarray(cut1, cut2), { binary: false, fin: false });
  await p.send(text.subarray(cut2), { binary: false, fin: true });
  checkEcho('text in 3 fragments split inside characters', text, false, await p.next());

  const chunks = [crypto.randomBytes(65536), Buffer.alloc(0), crypto.randomBytes(1),
                  crypto.randomBytes(1 << 20)];
  for (const [i, c] of chunks.entries()) {
    await p.send(c, { binary: true, fin: i === chunks.length - 1 });
  }
  checkEcho('binary in 4 fragments, one empty', Buffer.concat(chunks), true, await p.next());

  const a = crypto.randomBytes(1000);
  const b = crypto.randomBytes(3000);
  const payload = Buffer.from('ping between fragments');
  await p.send(a, { binary: true, fin: false });
  p.ws.ping(payload);
  await p.send(b, { binary: true, fin: true });
  const pong = await p.nextPong();
  check('ping between fragments: pong carries its payload', sameBytes(payload, pong),
        diff(payload, pong));
  checkEcho('binary with a ping between its fragments', Buffer.concat([a, b]), true,
            await p.next());
  p.ws.close(1000);
  await p.closed;
});

await step('ping payloads', 10000, async () => {
  const p = await Peer.open();
  for (const n of [0, 1, 125]) {
    const payload = crypto.randomBytes(n);
    p.ws.ping(payload);
    const pong = await p.nextPong();
    check(`ping of ${n} bytes: pong carries its payload`, sameBytes(payload, pong),
          diff(payload, pong));
  }
  p.ws.close(1000);
  await p.closed;
});

await step('subprotocol choice', 10000, async () => {
  for (const [offer, want] of [[['superchat', 'chat'], 'superchat'], [[], '']]) {
    const p = await Peer.open(offer);
    check(`offer [${offer}]: server chose '${want}'`, p.ws.protocol === want,
          `got '${p.ws.protocol}'`);
    p.ws.close(1000);
    await p.closed;
  }
  // ws fails a handshake that chooses none of its offers, so look at the
  // response by hand: no Sec-WebSocket-Protocol header at all.
  const raw = await RawPeer.open('Sec-WebSocket-Protocol: nope, other\r\n');
  check('offer [nope,other]: no Sec-WebSocket-Protocol in the response',
        !/\r\nsec-websocket-protocol:/i.test(raw.head), raw.head);
  raw.destroy();
});

for (const code of [1000, 1001, 3000, 4999]) {
  await step(`close ${code}`, 10000, async () => {
    const p = await Peer.open();
    await p.send('before close');
    await p.next();
    p.ws.close(code, `closing with ${code}`);
    const got = await p.closed;
    check(`close ${code}: the server echoed code ${code}`, got.code === code,
          `got ${got.code} '${got.reason}'`);
  });
}

await step('reserved opcode 0x3', 10000, () =>
  expectFailure('reserved opcode 0x3', frame({ opcode: 0x3, payload: Buffer.from('x') }), 1002));
await step('reserved control opcode 0xB', 10000, () =>
  expectFailure('reserved opcode 0xB', frame({ opcode: 0xb }), 1002));
await step('RSV1 without an extension', 10000, () =>
  expectFailure('RSV1 set', frame({ opcode: 0x1, rsv: 4, payload: Buffer.from('hi') }), 1002));
await step('reserved opcode after a good message', 10000, () =>
  expectFailure('reserved opcode after a message',
                Buffer.concat([frame({ opcode: 0x1, payload: Buffer.from('ok') }),
                               frame({ opcode: 0x7 })]), 1002));

finish('ws client against echo_server');
