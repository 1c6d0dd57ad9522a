// SPDX-License-Identifier: MIT
// Small helpers shared by the Node peers: check bookkeeping, timeouts, and
// loading `ws` (a missing package is a skip, exit 77, that the harness turns
// into a failure under CI).

export async function loadWs() {
  try {
    return await import('ws');
  } catch (e) {
    console.error(`SKIP: the npm package ws is not installed (${e.message}); ` +
                  'run tests/interop/setup.sh');
    process.exit(77);
  }
}

let passed = 0;
let failed = 0;

export function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
  }
  return ok;
}

// Runs one named step; an exception or a timeout fails that step only.
export async function step(name, ms, fn) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  const t0 = Date.now();
  try {
    await Promise.race([fn(), timeout]);
  } catch (e) {
    check(name, false, e && e.stack ? e.stack : String(e));
  } finally {
    clearTimeout(timer);
  }
  const dt = Date.now() - t0;
  if (dt > 2000) console.log(`     (${name}: ${dt} ms)`);
}

// Exits with the verdict: 0 only if something ran and nothing failed.
export function finish(what) {
  console.log(`${what}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

// Whole-script bound, behind the per-step ones.
export function deadline(ms) {
  setTimeout(() => {
    console.log(`FAIL did not finish within ${ms} ms`);
    process.exit(1);
  }, ms).unref();
}

// Describes where two byte strings first differ, for failure messages.
export function diff(want, got) {
  if (got === undefined || got === null) return `got nothing, want ${want.length} bytes`;
  const n = Math.min(want.length, got.length);
  for (let i = 0; i < n; i++) {
    if (want[i] !== got[i]) {
      return `first difference at byte ${i} of ${want.length}: ` +
             `want 0x${want[i].toString(16)}, got 0x${got[i].toString(16)}`;
    }
  }
  return `length: want ${want.length}, got ${got.length}`;
}

export function sameBytes(want, got) {
  return Buffer.isBuffer(got) && want.length === got.length && want.equals(got);
}
