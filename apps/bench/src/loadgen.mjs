// The load generator: raw node:net sockets, a minimal handshake, precomputed masked frames and
// the FrameReader. Runs in its own process (src/generator.mjs), pinned to its own core.

import { createHash } from "node:crypto";
import net from "node:net";
import { FrameReader, frameTrain, maskedFrame, OP_PONG } from "./frames.mjs";
import { systemBusyTicks, treeCpuTicks } from "./proc.mjs";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const KEY = "dGhlIHNhbXBsZSBub25jZQ=="; // fixed: fine for a benchmark
const ACCEPT = createHash("sha1")
  .update(KEY + GUID)
  .digest("base64");
const HEAD_LIMIT = 16 * 1024;

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @typedef {object} Conn
 * @property {net.Socket} socket
 * @property {FrameReader} reader
 * @property {boolean} compressed permessage-deflate negotiated
 * @property {string} extensions the server's Sec-WebSocket-Extensions (or "")
 * @property {Buffer} rest bytes after the response head
 * @property {number} errors socket errors / unexpected closes seen
 */

/**
 * Open one WebSocket connection on raw TCP.
 * @param {{ port: number, deflate: boolean, timeoutMs: number, path?: string }} options
 * @returns {Promise<Conn>}
 */
export function connect({ port, deflate, timeoutMs, path = "/" }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    /** @type {Buffer} */
    let head = Buffer.alloc(0);
    let settled = false;
    /** @param {Error} err */
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("connection closed during the handshake")));
    socket.once("connect", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
          (deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "") +
          "\r\n",
      );
    });
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > HEAD_LIMIT) fail(new Error("response head too large"));
        return;
      }
      const text = head.subarray(0, end).toString("latin1");
      if (!/^HTTP\/1\.1 101 /.test(text))
        return fail(new Error(`handshake refused: ${text.split("\r\n")[0]}`));
      const accept = /^sec-websocket-accept:\s*(\S+)\s*$/im.exec(text)?.[1];
      if (accept !== ACCEPT) return fail(new Error("bad Sec-WebSocket-Accept"));
      const extensions = /^sec-websocket-extensions:\s*(.*?)\s*$/im.exec(text)?.[1] ?? "";
      settled = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.removeAllListeners("error");
      socket.removeAllListeners("close");
      /** @type {Conn} */
      const conn = {
        socket,
        reader: new FrameReader({
          onPing: (payload) => socket.write(maskedFrame(OP_PONG, payload)),
        }),
        compressed: /(^|,)\s*permessage-deflate\b/i.test(extensions),
        extensions,
        rest: head.subarray(end + 4),
        errors: 0,
      };
      socket.on("error", () => conn.errors++);
      resolve(conn);
    };
    socket.on("data", onData);
  });
}

/**
 * Open `count` connections, at most `concurrency` handshakes at a time.
 * @param {{ port: number, deflate: boolean, count: number, concurrency?: number, timeoutMs?: number }} options
 * @returns {Promise<Conn[]>}
 */
export async function connectMany({ port, deflate, count, concurrency = 32, timeoutMs = 10_000 }) {
  /** @type {Conn[]} */
  const conns = [];
  let next = 0;
  /** @type {Error | null} */
  let firstError = null;
  const worker = async () => {
    while (next < count && firstError === null) {
      next++;
      try {
        conns.push(await connect({ port, deflate, timeoutMs }));
      } catch (err) {
        firstError ??= /** @type {Error} */ (err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const failure = /** @type {Error | null} */ (firstError);
  if (failure !== null) {
    closeAll(conns);
    throw new Error(`could not open ${count} connections (${conns.length} opened): ${failure.message}`);
  }
  return conns;
}

/** @param {Conn[]} conns */
export function closeAll(conns) {
  for (const c of conns) {
    c.socket.removeAllListeners("data");
    c.socket.destroy();
  }
}

/** A close frame with status 1000, masked. */
const CLOSE_1000 = maskedFrame(0x8, Buffer.from([0x03, 0xe8]));

/**
 * Echo one text and one binary message; returns what was negotiated.
 * @param {{ port: number, deflate: boolean }} options
 */
export async function probe({ port, deflate }) {
  const conn = await connect({ port, deflate, timeoutMs: 5000 });
  try {
    const text = frameTrain({ size: 100, binary: false, compressed: conn.compressed, count: 1 });
    const binary = frameTrain({ size: 100, binary: true, compressed: conn.compressed, count: 1 });
    conn.reader.expectedLength = 100;
    const echoed = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no echo within 5 s")), 5000);
      const onData = (/** @type {Buffer} */ chunk) => {
        conn.reader.push(chunk);
        if (conn.reader.messages >= 2) {
          clearTimeout(timer);
          resolve(undefined);
        }
      };
      conn.socket.on("data", onData);
      conn.socket.once("close", () => reject(new Error("closed before echoing")));
      if (conn.rest.length > 0) onData(conn.rest);
    });
    conn.socket.write(Buffer.concat([text.frames, binary.frames]));
    await echoed;
    if (conn.reader.mismatches > 0) throw new Error("echoed messages have the wrong length");
    conn.socket.write(CLOSE_1000);
    return { extensions: conn.extensions, compressed: conn.compressed };
  } finally {
    await sleep(20);
    closeAll([conn]);
  }
}

/**
 * CPU use snapshot: the server tree's ticks and this process's own CPU time.
 * @param {number | null} serverPid
 */
function cpuSnapshot(serverPid) {
  return {
    server: serverPid === null ? null : treeCpuTicks(serverPid),
    system: systemBusyTicks(),
    self: process.cpuUsage(),
    at: process.hrtime.bigint(),
  };
}

/**
 * @param {ReturnType<typeof cpuSnapshot>} a
 * @param {ReturnType<typeof cpuSnapshot>} b
 * @param {number} clockTicks ticks per second
 */
function cpuShares(a, b, clockTicks) {
  const seconds = Number(b.at - a.at) / 1e9;
  const self = (b.self.user - a.self.user + b.self.system - a.self.system) / 1e6;
  const server = a.server === null || b.server === null ? null : (b.server - a.server) / clockTicks / seconds;
  const system = a.system === null || b.system === null ? null : (b.system - a.system) / clockTicks / seconds;
  return {
    seconds,
    serverCpu: server,
    generatorCpu: self / seconds,
    // Busy CPU of the whole machine minus server and generator: other processes, and kernel
    // work not charged to either (loopback softirqs). High values mean a noisy machine.
    otherCpu: system === null || server === null ? null : Math.max(0, system - server - self / seconds),
  };
}

/**
 * Pipelined echo throughput: `connections` connections each keep `window` messages in flight.
 * Counts messages echoed back during `durationMs` after `warmupMs`.
 * @param {{ port: number, deflate: boolean, size: number, binary: boolean, connections: number,
 *   window: number, warmupMs: number, durationMs: number, serverPid: number | null, clockTicks: number }} o
 */
export async function throughput(o) {
  const conns = await connectMany({ port: o.port, deflate: o.deflate, count: o.connections });
  try {
    /** @type {Map<boolean, ReturnType<typeof frameTrain>>} */
    const trains = new Map();
    const trainFor = (/** @type {boolean} */ compressed) => {
      let t = trains.get(compressed);
      if (t === undefined) {
        t = frameTrain({ size: o.size, binary: o.binary, compressed, count: o.window });
        trains.set(compressed, t);
      }
      return t;
    };
    let received = 0;
    let running = true;
    let closedEarly = 0;
    for (const c of conns) {
      const { frames, frameLength } = trainFor(c.compressed);
      c.reader.expectedLength = o.size;
      const socket = c.socket;
      const reader = c.reader;
      const onData = (/** @type {Buffer} */ chunk) => {
        const k = reader.push(chunk);
        if (k > 0) {
          received += k;
          if (running) socket.write(frames.subarray(0, k * frameLength));
        }
      };
      socket.on("data", onData);
      socket.once("close", () => {
        if (running) closedEarly++;
      });
      if (c.rest.length > 0) onData(c.rest);
      socket.write(frames);
    }
    await sleep(o.warmupMs);
    const r0 = received;
    const s0 = cpuSnapshot(o.serverPid);
    await sleep(o.durationMs);
    const r1 = received;
    const s1 = cpuSnapshot(o.serverPid);
    running = false;
    const cpu = cpuShares(s0, s1, o.clockTicks);
    const messages = r1 - r0;
    const perSecond = messages / cpu.seconds;
    const mismatches = conns.reduce((sum, c) => sum + c.reader.mismatches, 0);
    const errors = conns.reduce((sum, c) => sum + c.errors, 0) + closedEarly;
    return {
      messages,
      seconds: cpu.seconds,
      messagesPerSecond: perSecond,
      megabytesPerSecond: (perSecond * o.size) / 1e6,
      serverCpu: cpu.serverCpu,
      generatorCpu: cpu.generatorCpu,
      otherCpu: cpu.otherCpu,
      compressed: conns.some((c) => c.compressed),
      mismatches,
      errors,
    };
  } finally {
    closeAll(conns);
  }
}

/**
 * Round-trip latency: one connection, one message at a time.
 * @param {{ port: number, deflate: boolean, size: number, binary: boolean, warmup: number,
 *   samples: number, maxMs: number }} o
 */
export async function latency(o) {
  const conn = await connect({ port: o.port, deflate: o.deflate, timeoutMs: 5000 });
  try {
    const { frames } = frameTrain({ size: o.size, binary: o.binary, compressed: conn.compressed, count: 1 });
    conn.reader.expectedLength = o.size;
    const total = o.warmup + o.samples;
    const times = new Float64Array(o.samples);
    let n = 0;
    let sentAt = 0n;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, o.maxMs); // bounded: report what we have
      const finish = (/** @type {unknown} */ err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(undefined);
      };
      const onData = (/** @type {Buffer} */ chunk) => {
        const k = conn.reader.push(chunk);
        if (k === 0) return;
        const now = process.hrtime.bigint();
        if (n >= o.warmup) times[n - o.warmup] = Number(now - sentAt) / 1000;
        n += k;
        if (n >= total) return finish(undefined);
        sentAt = process.hrtime.bigint();
        conn.socket.write(frames);
      };
      conn.socket.on("data", onData);
      conn.socket.once("close", () => finish(new Error(`connection closed after ${n} round trips`)));
      if (conn.rest.length > 0) onData(conn.rest);
      sentAt = process.hrtime.bigint();
      conn.socket.write(frames);
    });
    const measured = Math.max(0, Math.min(n - o.warmup, o.samples));
    if (measured === 0) throw new Error(`no measured round trips within ${o.maxMs} ms`);
    const sorted = times.slice(0, measured).sort();
    const pick = (/** @type {number} */ q) =>
      /** @type {number} */ (sorted[Math.min(measured - 1, Math.floor(q * measured))]);
    let sum = 0;
    for (const t of sorted) sum += t;
    return {
      samples: measured,
      p50: pick(0.5),
      p90: pick(0.9),
      p99: pick(0.99),
      min: /** @type {number} */ (sorted[0]),
      max: /** @type {number} */ (sorted[measured - 1]),
      mean: sum / measured,
      mismatches: conn.reader.mismatches,
    };
  } finally {
    closeAll([conn]);
  }
}

/** Idle connections held between the memoryOpen and memoryClose jobs. @type {Conn[]} */
let idle = [];

/**
 * Open `count` connections, echo one small message on each (so per-connection buffers that
 * servers allocate lazily exist), then leave them idle.
 * @param {{ port: number, deflate: boolean, count: number }} o
 */
export async function memoryOpen(o) {
  closeAll(idle);
  idle = await connectMany({ port: o.port, deflate: o.deflate, count: o.count });
  const echoed = idle.map(
    (c) =>
      new Promise((resolve, reject) => {
        const { frames } = frameTrain({ size: 16, binary: true, compressed: c.compressed, count: 1 });
        const timer = setTimeout(() => reject(new Error("no echo within 10 s")), 10_000);
        const onData = (/** @type {Buffer} */ chunk) => {
          if (c.reader.push(chunk) > 0) {
            clearTimeout(timer);
            resolve(undefined);
          }
        };
        c.socket.on("data", onData);
        if (c.rest.length > 0) onData(c.rest);
        c.socket.write(frames);
      }),
  );
  try {
    await Promise.all(echoed);
  } catch (err) {
    closeAll(idle);
    idle = [];
    throw err;
  }
  return { opened: idle.length };
}

export function memoryClose() {
  const closed = idle.length;
  closeAll(idle);
  idle = [];
  return { closed };
}
