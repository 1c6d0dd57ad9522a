// SPDX-License-Identifier: MIT
// Node `ws` as the server for wsm's client example.
// Usage: node ws_server.mjs path/to/client
//
// The server listens on 127.0.0.1, a port the system picks, and echoes;
// the client must send each message as text, answer the server's pings,
// accept echoes split into fragments, close with 1000 and exit 0. When the
// server echoes something else, echoes text as binary, refuses the upgrade
// or picks a subprotocol the client did not offer, the client must exit
// non-zero.

import { spawn } from 'node:child_process';
import { check, deadline, finish, loadWs, step } from './common.mjs';

const { WebSocketServer } = await loadWs();
const clientPath = process.argv[2];
if (!clientPath) {
  console.error('usage: node ws_server.mjs path/to/client');
  process.exit(2);
}
deadline(60000);

const CLIENT_TIMEOUT_MS = 15000;
let mode = 'echo';
const connections = [];

// Paths under /forbidden are refused with 403 before the upgrade; under
// /bogus-protocol the server answers with a subprotocol nobody offered.
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 << 20,
  verifyClient: (info, done) => done(!info.req.url.startsWith('/forbidden'), 403, 'Forbidden'),
  handleProtocols: (offered, req) => {
    if (req.url.startsWith('/bogus-protocol')) return 'bogus';
    return offered.has('other') ? 'other' : false;
  },
});
await new Promise((resolve, reject) => {
  wss.once('listening', resolve);
  wss.once('error', reject);
});
const { port } = wss.address();

wss.on('connection', (ws, req) => {
  const conn = { path: req.url, messages: [], pongs: [], close: null };
  connections.push(conn);
  conn.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
    conn.close = { code, reason: reason.toString() };
    resolve();
  }));
  ws.on('pong', (data) => conn.pongs.push(data.toString()));
  ws.on('message', (data, isBinary) => {
    conn.messages.push({ text: data.toString('utf8'), isBinary });
    if (mode === 'echo') {
      ws.send(data, { binary: isBinary });
    } else if (mode === 'fragments') {
      // Three frames cut at thirds of the bytes (inside characters, as it
      // falls), with a ping after the first.
      const a = Math.floor(data.length / 3);
      const b = Math.floor((2 * data.length) / 3);
      ws.send(data.subarray(0, a), { binary: isBinary, fin: false });
      ws.ping('between fragments');
      ws.send(data.subarray(a, b), { binary: isBinary, fin: false });
      ws.send(data.subarray(b), { binary: isBinary, fin: true });
    } else if (mode === 'binary') {
      ws.send(data, { binary: true });
    } else {
      ws.send(Buffer.concat([data, Buffer.from('?')]), { binary: isBinary });
    }
  });
  ws.ping('are you there?');
});

// Runs the client; resolves with its exit status and output.
function runClient(args, stdin) {
  return new Promise((resolve) => {
    const child = spawn(clientPath, args, { timeout: CLIENT_TIMEOUT_MS, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8'); // characters split across reads stay whole
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => resolve({ code: null, signal: null, stdout, stderr: e.message }));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => {}); // the client may exit before reading it all
    child.stdin.end(stdin === undefined ? '' : stdin);
  });
}

function show(r) {
  const cut = (s) => (s.length > 2000 ? s.slice(0, 2000) + '...' : s);
  return `exit ${r.code} signal ${r.signal}\n--- stdout\n${cut(r.stdout)}\n` +
         `--- stderr\n${cut(r.stderr)}`;
}

// Runs the client on a path ('' for none: the request is for /) and checks
// what the server saw.
async function echoCase(name, path, args, stdin, want) {
  const before = connections.length;
  const r = await runClient([`ws://127.0.0.1:${port}${path}`, ...args], stdin);
  check(`${name}: client exits 0`, r.code === 0, show(r));
  const conn = connections[before];
  if (!check(`${name}: one connection`, connections.length === before + 1,
             `${connections.length - before} connections`)) return;
  await Promise.race([conn.closed, new Promise((res) => setTimeout(res, 2000))]);
  check(`${name}: request path`, conn.path === (path || '/'), `got '${conn.path}'`);
  const got = conn.messages.map((m) => (m.isBinary ? '<binary>' : m.text));
  const same = got.length === want.length && got.every((t, i) => t === want[i]);
  check(`${name}: the server received every message, as text, in order`, same,
        `got ${JSON.stringify(got.map((t) => t.slice(0, 40)))}`);
  for (const ping of mode === 'fragments' ? ['are you there?', 'between fragments']
    : ['are you there?']) {
    check(`${name}: the client answered the ping '${ping}'`, conn.pongs.includes(ping),
          JSON.stringify(conn.pongs));
  }
  check(`${name}: the client closed with 1000`, conn.close && conn.close.code === 1000,
        JSON.stringify(conn.close));
  for (const w of want.filter((t) => t.length > 0 && t.length < 100)) {
    check(`${name}: the client printed '${w}'`, r.stdout.includes(w), show(r));
  }
}

const long = 'long ✓ ' + 'x'.repeat(100000);
const args = ['hello', 'héllo wörld ✓', '😀🎉', long];
await step('messages as arguments', 20000, () =>
  echoCase('arguments', '/interop/node?q=1&r=%C3%BC', args, undefined, args));

const lineLong = 'line ' + 'y'.repeat(70000);
await step('messages from standard input', 20000, () =>
  echoCase('stdin', '/from/stdin', [], `first line\nsecond: ünïcödé ✓\n${lineLong}\n`,
           ['first line', 'second: ünïcödé ✓', lineLong]));

await step('an empty message', 20000, () =>
  echoCase('empty message, URL without a path', '', [''], undefined, ['']));

await step('echoes in fragments', 20000, async () => {
  mode = 'fragments';
  await echoCase('fragmented echo', '/fragments', ['héllo wörld ✓ 😀', 'z'.repeat(5000)],
                 undefined, ['héllo wörld ✓ 😀', 'z'.repeat(5000)]);
  mode = 'echo';
});

for (const [what, m] of [['a wrong echo', 'mangle'], ['a binary echo', 'binary']]) {
  await step(what, 20000, async () => {
    mode = m;
    const r = await runClient([`ws://127.0.0.1:${port}/${m}`, 'hello', 'world']);
    check(`${what}: client exits non-zero, by itself`, r.code !== null && r.code !== 0, show(r));
    mode = 'echo';
  });
}

await step('subprotocols', 20000, async () => {
  let r = await runClient(['--protocol', 'chat', '--protocol', 'other',
                           `ws://127.0.0.1:${port}/protocols`, 'with a subprotocol']);
  check('--protocol chat --protocol other: client exits 0', r.code === 0, show(r));
  check('the client reports the chosen subprotocol', /subprotocol: other\b/.test(r.stderr),
        show(r));
  r = await runClient(['--protocol', 'chat', `ws://127.0.0.1:${port}/bogus-protocol`, 'hi']);
  check('a subprotocol the client did not offer: client exits non-zero, by itself',
        r.code !== null && r.code !== 0, show(r));
});

await step('a refused handshake', 20000, async () => {
  const r = await runClient([`ws://127.0.0.1:${port}/forbidden`, 'hello']);
  check('refused with 403: client exits non-zero, by itself', r.code !== null && r.code !== 0,
        show(r));
});

for (const ws of wss.clients) ws.terminate();
wss.close();
finish('client against a ws server');
