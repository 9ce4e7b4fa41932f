// Hostile peers, one function per pattern (issue 12's battery). Each takes the server's port and
// a scale (1 = the full battery, smaller for the quick run in the test command), runs a bounded
// attack on loopback and resolves with what the attacker got, as data and as one line of text.
// Nothing here knows which server it talks to: the same bytes go to every target.

import net from "node:net";
import { createDeflateRaw, constants as zlibConstants } from "node:zlib";
import {
  MASK_KEY,
  maskedFrame,
  OP_BINARY,
  OP_CONTINUATION,
  OP_PING,
  OP_TEXT,
} from "../../bench/src/frames.mjs";
import { connect as wsConnect } from "../../bench/src/loadgen.mjs";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP connection to the server, errors swallowed (the attacker does not care). */
function tcp(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** The close code of the first close frame in `bytes` (a server's unmasked frames), or null. */
function closeCodeIn(bytes) {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at] & 0x0f;
    let length = bytes[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > bytes.length) return null;
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (at + 10 > bytes.length) return null;
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (opcode === 0x8)
      return length >= 2 && at + header + 2 <= bytes.length ? bytes.readUInt16BE(at + header) : 1005;
    at += header + length;
  }
  return null;
}

/** Counts of values, as "a×3, b×1". */
function tally(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}×${n}`).join(", ");
}

/** Runs `task(i)` for i < count, at most `concurrency` at a time. */
async function pool(count, concurrency, task) {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(workers);
}

/** Opens WebSocket connections (raw TCP, our handshake); failures counted, not thrown. */
async function openMany(port, count, deflate = false) {
  const conns = [];
  let failed = 0;
  await pool(count, 32, async () => {
    try {
      conns.push(await wsConnect({ port, deflate, timeoutMs: 10_000 }));
    } catch {
      failed++;
    }
  });
  return { conns, failed };
}

/** Watches each connection for the server's close frame or the end of TCP. */
function watch(conns) {
  const outcome = conns.map(() => ({ code: null, endedAt: null }));
  const started = performance.now();
  conns.forEach((conn, i) => {
    let seen = conn.rest ?? Buffer.alloc(0);
    conn.socket.on("data", (chunk) => {
      if (outcome[i].code !== null) return;
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]).subarray(-65536);
      outcome[i].code = closeCodeIn(seen);
    });
    conn.socket.on("close", () => {
      outcome[i].endedAt ??= performance.now() - started;
    });
  });
  return outcome;
}

// ─── The patterns ───────────────────────────────────────────────────────────────────────────

/** Slowloris: half-sent upgrade requests, one more byte every second; how long are they held? */
export async function slowloris(port, scale) {
  const count = Math.max(10, Math.round(2000 * scale));
  const holdMs = scale >= 0.1 ? 20_000 : 3000;
  const sockets = [];
  const closedAt = [];
  const started = performance.now();
  await pool(count, 64, async () => {
    try {
      const socket = await tcp(port);
      socket.on("error", () => {});
      socket.on("close", () => closedAt.push(performance.now() - started));
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`);
      sockets.push(socket);
    } catch {
      closedAt.push(0);
    }
  });
  const drip = setInterval(() => {
    for (const socket of sockets) if (!socket.destroyed) socket.write("X");
  }, 1000);
  while (performance.now() - started < holdMs && closedAt.length < count) await sleep(100);
  clearInterval(drip);
  const held = count - closedAt.length;
  for (const socket of sockets) socket.destroy();
  const first = closedAt.length > 0 ? Math.min(...closedAt) : null;
  const last = closedAt.length > 0 ? Math.max(...closedAt) : null;
  return {
    summary:
      held === count
        ? `all ${count} held for ${holdMs / 1000} s`
        : `${count - held}/${count} dropped by the server (first after ${(first / 1000).toFixed(1)} s, last after ${(last / 1000).toFixed(1)} s); ${held} still held at ${holdMs / 1000} s`,
    held,
  };
}

/** A frame header declaring a huge length, then the payload trickled a byte at a time. */
export async function hugeLengthTrickle(port, scale) {
  const count = Math.max(2, Math.round(50 * scale));
  const { conns, failed } = await openMany(port, count);
  const outcome = watch(conns);
  const header = Buffer.alloc(14);
  header[0] = 0x80 | OP_BINARY;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(2n ** 40n, 2); // 1 TiB
  MASK_KEY.copy(header, 10);
  for (const conn of conns) conn.socket.write(header);
  const windowMs = scale >= 0.1 ? 5000 : 1000;
  const started = performance.now();
  while (performance.now() - started < windowMs) {
    for (const conn of conns) if (!conn.socket.destroyed) conn.socket.write(Buffer.from([0x41]));
    await sleep(200);
    if (outcome.every((o) => o.code !== null || o.endedAt !== null)) break;
  }
  for (const conn of conns) conn.socket.destroy();
  return {
    summary: `close codes: ${tally(outcome.map((o) => o.code ?? (o.endedAt !== null ? "TCP end, no close" : "still open")))}${failed ? `; ${failed} handshakes failed` : ""}`,
    codes: outcome.map((o) => o.code),
  };
}

/** A message in 100,000 one-byte fragments, from several connections at once. */
export async function tinyFragments(port, scale) {
  const count = Math.max(2, Math.round(50 * scale));
  const fragments = scale >= 0.1 ? 100_000 : 70_000;
  const one = (opcode, fin) =>
    maskedFrame(opcode, Buffer.from("a"), false).fill(fin ? 0x80 | opcode : opcode, 0, 1);
  const parts = [one(OP_TEXT, false)];
  const middle = one(OP_CONTINUATION, false);
  for (let i = 1; i < fragments - 1; i++) parts.push(middle);
  parts.push(one(OP_CONTINUATION, true));
  const message = Buffer.concat(parts);
  const { conns, failed } = await openMany(port, count);
  const echoed = conns.map(() => 0);
  const outcome = watch(conns);
  conns.forEach((conn, i) => {
    let bytes = 0;
    conn.socket.on("data", (chunk) => {
      bytes += chunk.length;
      // The echo is one frame of `fragments` bytes (header 4 bytes).
      if (bytes >= fragments) echoed[i] = 1;
    });
    conn.socket.write(message);
  });
  const started = performance.now();
  while (performance.now() - started < 20_000) {
    if (outcome.every((o, i) => o.code !== null || o.endedAt !== null || echoed[i] === 1)) break;
    await sleep(50);
  }
  for (const conn of conns) conn.socket.destroy();
  const echoedCount = echoed.reduce((a, b) => a + b, 0);
  return {
    summary: `${echoedCount}/${count} messages echoed; close codes: ${tally(outcome.map((o) => o.code ?? "none"))}${failed ? `; ${failed} handshakes failed` : ""}`,
    echoed: echoedCount,
  };
}

/** A permessage-deflate message of zeros that inflates to 1 GiB (about 1 MB on the wire). */
let bomb;
async function inflateBomb() {
  if (bomb !== undefined) return bomb;
  const deflate = createDeflateRaw({ level: 9 });
  const out = [];
  deflate.on("data", (chunk) => out.push(chunk));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 1024; i++) {
    if (!deflate.write(zeros)) await new Promise((resolve) => deflate.once("drain", resolve));
  }
  await new Promise((resolve) => deflate.flush(zlibConstants.Z_SYNC_FLUSH, resolve));
  let compressed = Buffer.concat(out);
  deflate.close();
  // RFC 7692 §7.2.1: the sender removes the 00 00 ff ff that ends a sync flush.
  if (compressed.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff])))
    compressed = compressed.subarray(0, -4);
  bomb = maskedFrame(OP_BINARY, compressed, true);
  return bomb;
}

/** Inflate bombs from many connections at once (the server runs with --deflate). */
export async function inflateBombs(port, scale) {
  const count = Math.max(2, Math.round(20 * scale));
  const frame = await inflateBomb();
  const { conns, failed } = await openMany(port, count, true);
  const negotiated = conns.filter((c) => c.compressed).length;
  if (negotiated === 0) {
    for (const conn of conns) conn.socket.destroy();
    return { summary: "permessage-deflate not negotiated: pattern not applicable", skipped: true };
  }
  const outcome = watch(conns);
  for (const conn of conns) if (conn.compressed) conn.socket.write(frame);
  const started = performance.now();
  while (performance.now() - started < 30_000) {
    if (outcome.every((o, i) => !conns[i].compressed || o.code !== null || o.endedAt !== null)) break;
    await sleep(50);
  }
  for (const conn of conns) conn.socket.destroy();
  return {
    summary: `${(frame.length / 1e6).toFixed(1)} MB each, ${negotiated} connections; close codes: ${tally(outcome.filter((_, i) => conns[i].compressed).map((o) => o.code ?? (o.endedAt !== null ? "TCP end, no close" : "still open")))}${failed ? `; ${failed} handshakes failed` : ""}`,
    codes: outcome.map((o) => o.code),
  };
}

/** Peers that send messages for the echo and never read it. */
export async function neverRead(port, scale) {
  const count = Math.max(2, Math.round(100 * scale));
  const messages = Math.max(20, Math.round(1000 * scale));
  const frame = maskedFrame(OP_BINARY, Buffer.alloc(64 * 1024, 0x61));
  const { conns, failed } = await openMany(port, count);
  let sent = 0;
  let dropped = 0;
  const started = performance.now();
  const deadline = scale >= 0.1 ? 20_000 : 3000;
  await Promise.all(
    conns.map(async (conn) => {
      conn.socket.pause();
      let gone = false;
      conn.socket.on("close", () => {
        gone = true;
        dropped++;
      });
      for (let i = 0; i < messages && !gone; i++) {
        if (performance.now() - started > deadline) break;
        if (!conn.socket.write(frame)) {
          const drained = await Promise.race([
            new Promise((resolve) => conn.socket.once("drain", () => resolve(true))),
            sleep(2000).then(() => false),
          ]);
          if (!drained) break;
        }
        sent += frame.length;
      }
    }),
  );
  for (const conn of conns) conn.socket.destroy();
  return {
    summary: `${(sent / 2 ** 20).toFixed(0)} MiB sent by ${count} non-reading peers before they were stopped; ${dropped} dropped by the server${failed ? `; ${failed} handshakes failed` : ""}`,
    sentMiB: sent / 2 ** 20,
  };
}

/** Ping floods: 100,000 pings per connection, pongs read and counted. */
export async function pingFlood(port, scale) {
  const count = Math.max(2, Math.round(10 * scale));
  const pings = Math.max(1000, Math.round(100_000 * scale));
  const ping = maskedFrame(OP_PING, Buffer.alloc(125, 0x70));
  const batch = Buffer.concat(Array.from({ length: 100 }, () => ping));
  const { conns, failed } = await openMany(port, count);
  const outcome = watch(conns);
  const pongs = conns.map(() => 0);
  conns.forEach((conn, i) => {
    conn.socket.on("data", (chunk) => {
      // Pong frames from a server: 2-byte header + 125 bytes.
      pongs[i] += Math.floor(chunk.length / 127);
    });
  });
  await Promise.all(
    conns.map(async (conn) => {
      for (let i = 0; i < pings / 100 && !conn.socket.destroyed; i++) {
        if (!conn.socket.write(batch)) {
          await Promise.race([new Promise((resolve) => conn.socket.once("drain", resolve)), sleep(2000)]);
        }
      }
    }),
  );
  await sleep(500);
  for (const conn of conns) conn.socket.destroy();
  const total = pongs.reduce((a, b) => a + b, 0);
  return {
    summary: `${count}×${pings} pings; about ${total} pongs back; close codes: ${tally(outcome.map((o) => o.code ?? "none"))}${failed ? `; ${failed} handshakes failed` : ""}`,
  };
}

/** Sends `request` on a fresh connection; the status answered (or why none) and how long it took. */
async function answer(port, request, waitMs) {
  const started = performance.now();
  let socket;
  try {
    socket = await tcp(port);
  } catch {
    return { status: "connect failed", ms: performance.now() - started };
  }
  return new Promise((resolve) => {
    let text = "";
    const done = (status) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, ms: performance.now() - started });
    };
    const timer = setTimeout(() => done("no answer"), waitMs);
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const line = text.indexOf("\r\n");
      if (line !== -1) done(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? "not HTTP");
    });
    socket.on("close", () => done("closed, no answer"));
    socket.write(request);
  });
}

function upgrade(port, extra = "") {
  return (
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** Requests that are not acceptable handshakes, cycled. */
function malformed(port) {
  return [
    `POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    upgrade(port).replace("Version: 13", "Version: 8"),
    upgrade(port).replace(KEY, "dG9vc2hvcnQ="),
    upgrade(port, "this line has no colon\r\n"),
    upgrade(port, "X-Bare: a\rb\r\n"),
    upgrade(port, `X-Big: ${"a".repeat(20_000)}\r\n`),
    upgrade(port, Array.from({ length: 300 }, (_, i) => `X-H${i}: v\r\n`).join("")),
    "GET / HTTP/1.1\r\n\r\n",
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all, and no line ending",
  ];
}

/** Header values shaped to make a backtracking parser slow (all below 16 KiB). */
function backtracking(port) {
  return [
    upgrade(port, `Sec-WebSocket-Extensions: a${";b=c".repeat(3000)}\r\n`),
    upgrade(port, `Sec-WebSocket-Extensions: permessage-deflate${" ;".repeat(5000)}\r\n`),
    upgrade(port, `Sec-WebSocket-Extensions: x; a="${"\\a".repeat(5000)}\r\n`),
    upgrade(port, `Sec-WebSocket-Protocol: ${", ".repeat(6000)}x\r\n`),
    upgrade(port, `Sec-WebSocket-Protocol: a${" ".repeat(12_000)}!\r\n`),
    upgrade(port, `Connection: ${"Upgrade,".repeat(1500)}\r\n`),
    upgrade(port, `Sec-WebSocket-Extensions: ${"a,".repeat(6000)}\r\n`),
    upgrade(port, `Sec-WebSocket-Extensions: x;${"=".repeat(12_000)}\r\n`),
  ];
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function handshakes(port, count, requests, waitMs) {
  const results = [];
  await pool(count, 50, async (i) => {
    results.push(await answer(port, requests[i % requests.length], waitMs));
  });
  const answered = results.filter((r) => /^\d{3}$/.test(String(r.status))).map((r) => r.ms);
  return {
    summary: `${count} requests: ${tally(results.map((r) => r.status))}; answered in p50 ${percentile(answered, 50).toFixed(0)} ms, p99 ${percentile(answered, 99).toFixed(0)} ms`,
    statuses: results.map((r) => r.status),
  };
}

/** Malformed and oversized handshakes. */
export function malformedHandshakes(port, scale) {
  return handshakes(
    port,
    Math.max(20, Math.round(10_000 * scale)),
    malformed(port),
    scale >= 0.1 ? 3000 : 1000,
  );
}

/** Header values built to trigger catastrophic backtracking. */
export function backtrackingHeaders(port, scale) {
  return handshakes(
    port,
    Math.max(16, Math.round(400 * scale)),
    backtracking(port),
    scale >= 0.1 ? 3000 : 1000,
  );
}

/** Abrupt resets (RST) in the middle of a frame. */
export async function resetsMidFrame(port, scale) {
  const count = Math.max(10, Math.round(5000 * scale));
  const half = maskedFrame(OP_BINARY, Buffer.alloc(1000)).subarray(0, 200);
  let done = 0;
  let failed = 0;
  await pool(count, 50, async () => {
    try {
      const conn = await wsConnect({ port, deflate: false, timeoutMs: 10_000 });
      conn.socket.write(half);
      conn.socket.resetAndDestroy();
      done++;
    } catch {
      failed++;
    }
  });
  return { summary: `${done} connections reset mid-frame${failed ? `; ${failed} handshakes failed` : ""}` };
}

/** Every pattern, in the order of the table. */
export const PATTERNS = [
  {
    name: "slowloris",
    title: "Slowloris: 2,000 half-sent upgrade requests, a byte a second",
    run: slowloris,
  },
  {
    name: "huge-length",
    title: "A frame declaring 1 TiB, then a byte every 200 ms (50 connections)",
    run: hugeLengthTrickle,
  },
  {
    name: "tiny-fragments",
    title: "A message in 100,000 one-byte fragments (50 connections)",
    run: tinyFragments,
  },
  {
    name: "inflate-bombs",
    title: "Inflate bombs: 1 MB inflating to 1 GiB, 20 connections at once",
    run: inflateBombs,
    deflate: true,
  },
  { name: "never-read", title: "Peers that never read: 100 × 1,000 × 64 KiB for the echo", run: neverRead },
  { name: "ping-flood", title: "Ping floods: 10 connections × 100,000 pings", run: pingFlood },
  { name: "malformed", title: "Malformed and oversized handshakes (10,000)", run: malformedHandshakes },
  {
    name: "backtracking",
    title: "Header values built for catastrophic backtracking (400)",
    run: backtrackingHeaders,
    // Over in a few hundred milliseconds: run again (cli.mjs) so that a fresh client is probed often enough.
    repeat: true,
  },
  { name: "resets", title: "Resets (RST) in the middle of a frame (5,000)", run: resetsMidFrame },
];
