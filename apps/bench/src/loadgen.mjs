// The load generator: raw node:net sockets, a minimal handshake, precomputed masked frames and
// the FrameReader. Runs in its own process (src/generator.mjs), pinned to its own core.

import { createHash } from "node:crypto";
import net from "node:net";
import { inflateRawSync, constants as zlibConstants } from "node:zlib";
import {
  deflateMessage,
  FrameReader,
  frameRing,
  frameTrain,
  jsonPayload,
  maskedFrame,
  OP_PONG,
  OP_TEXT,
  parseFrames,
} from "./frames.mjs";
import { systemBusyTicks, treeCpuTicks, treeRssKiB } from "./proc.mjs";

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

/** The size of the compressible messages the probe sends when deflate was negotiated. */
const PROBE_DEFLATE_SIZE = 2048;
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Reassemble the data messages of a run of server frames (skips control frames).
 * @param {Buffer} bytes
 */
function dataMessages(bytes) {
  /** @type {{ opcode: number, compressed: boolean, payload: Buffer }[]} */
  const out = [];
  /** @type {{ opcode: number, compressed: boolean, parts: Buffer[] } | null} */
  let cur = null;
  for (const f of parseFrames(bytes)) {
    if (f.opcode >= 8) continue;
    if (f.opcode !== 0) cur = { opcode: f.opcode, compressed: f.rsv1, parts: [] };
    if (cur === null) continue;
    cur.parts.push(f.payload);
    if (f.fin) {
      out.push({ opcode: cur.opcode, compressed: cur.compressed, payload: Buffer.concat(cur.parts) });
      cur = null;
    }
  }
  return out;
}

/**
 * Inflate the bodies of consecutive compressed messages of one connection (context takeover:
 * later ones may refer to earlier ones, so they are inflated as one stream).
 * @param {Buffer[]} bodies
 * @returns {Buffer}
 */
function inflateMessages(bodies) {
  return inflateRawSync(Buffer.concat(bodies.flatMap((b) => [b, DEFLATE_TAIL])), {
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
  });
}

/**
 * Echo one text and one binary message; returns what was negotiated. With permessage-deflate
 * negotiated, also echo two compressible 2 KiB text messages (above the servers' 1 KiB
 * threshold) and check that the echoes came back compressed and inflate to what was sent.
 * @param {{ port: number, deflate: boolean }} options
 */
export async function probe({ port, deflate }) {
  const conn = await connect({ port, deflate, timeoutMs: 5000 });
  try {
    const text = frameTrain({ size: 100, binary: false, compressed: conn.compressed, count: 1 });
    const binary = frameTrain({ size: 100, binary: true, compressed: conn.compressed, count: 1 });
    /** @type {Buffer[]} */
    const sentPayloads = [];
    /** @type {Buffer[]} */
    const frames = [text.frames, binary.frames];
    if (conn.compressed) {
      for (const v of [0, 1]) {
        const payload = jsonPayload(PROBE_DEFLATE_SIZE, v);
        sentPayloads.push(payload);
        frames.push(maskedFrame(OP_TEXT, deflateMessage(payload), true));
      }
    }
    const expected = frames.length;
    /** @type {Buffer[]} */
    const received = [];
    if (!conn.compressed) conn.reader.expectedLength = 100;
    const echoed = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no echo within 5 s")), 5000);
      const onData = (/** @type {Buffer} */ chunk) => {
        received.push(chunk);
        conn.reader.push(chunk);
        if (conn.reader.messages >= expected) {
          clearTimeout(timer);
          resolve(undefined);
        }
      };
      conn.socket.on("data", onData);
      conn.socket.once("close", () => reject(new Error("closed before echoing")));
      if (conn.rest.length > 0) onData(conn.rest);
    });
    conn.socket.write(Buffer.concat(frames));
    await echoed;
    if (conn.reader.mismatches > 0) throw new Error("echoed messages have the wrong length");
    /** @type {{ echoCompressed: boolean, verified: boolean, compressedBytes: number[] } | null} */
    let deflateCheck = null;
    if (conn.compressed) {
      const msgs = dataMessages(Buffer.concat(received));
      if (msgs.length < expected) throw new Error("could not parse the echoed frames");
      // Every compressed message the server sent, in order (the 100-byte echoes are under the
      // threshold and normally come back uncompressed).
      const compressed = msgs.filter((m) => m.compressed);
      const last = msgs.slice(2);
      const echoCompressed = last.every((m) => m.compressed);
      let verified = false;
      try {
        const all = inflateMessages(compressed.map((m) => m.payload));
        const tail = all.subarray(all.length - 2 * PROBE_DEFLATE_SIZE);
        verified = tail.equals(Buffer.concat(sentPayloads));
      } catch {
        verified = false;
      }
      if (!verified && !echoCompressed) {
        verified = last.every((m, i) => m.payload.equals(/** @type {Buffer} */ (sentPayloads[i])));
      }
      if (!verified)
        throw new Error("the echoes of the 2 KiB compressed messages do not match what was sent");
      deflateCheck = { echoCompressed, verified, compressedBytes: last.map((m) => m.payload.length) };
    }
    conn.socket.write(CLOSE_1000);
    return { extensions: conn.extensions, compressed: conn.compressed, deflateCheck };
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
 * What the echoes of a set of connections looked like: the share that came back compressed
 * and the payload bytes on the wire per payload byte sent.
 * @param {Conn[]} conns
 * @param {number} size uncompressed message size
 */
function echoStats(conns, size) {
  let messages = 0;
  let compressed = 0;
  let bytes = 0;
  for (const c of conns) {
    messages += c.reader.messages;
    compressed += c.reader.compressedMessages;
    bytes += c.reader.dataBytes;
  }
  return {
    echoCompressedShare: messages === 0 ? null : compressed / messages,
    echoWireRatio: messages === 0 ? null : bytes / (messages * size),
  };
}

/**
 * The frames a load of this shape sends, made on first use for compressed and for plain
 * connections (one ring each; a target may negotiate deflate on some connections only).
 * @param {{ size: number, binary: boolean, kind?: "random" | "json", window: number }} o
 */
function ringsFor(o) {
  /** @type {Map<boolean, ReturnType<typeof frameRing>>} */
  const rings = new Map();
  return (/** @type {boolean} */ compressed) => {
    let r = rings.get(compressed);
    if (r === undefined) {
      r = frameRing({ size: o.size, binary: o.binary, kind: o.kind, compressed, window: o.window });
      rings.set(compressed, r);
    }
    return r;
  };
}

/**
 * Pipelined echo throughput: `connections` connections each keep `window` messages in flight.
 * Counts messages echoed back during `durationMs` after `warmupMs`. `kind: "json"` sends a
 * rotation of distinct compressible text messages; `compressFrames` sends compressed frames
 * even where deflate was not negotiated (for tcp-ceiling, which echoes bytes back unread).
 * @param {{ port: number, deflate: boolean, size: number, binary: boolean, kind?: "random" | "json",
 *   connections: number, window: number, warmupMs: number, durationMs: number,
 *   serverPid: number | null, clockTicks: number, compressFrames?: boolean }} o
 */
export async function throughput(o) {
  const conns = await connectMany({ port: o.port, deflate: o.deflate, count: o.connections });
  try {
    const ringFor = ringsFor(o);
    let received = 0;
    let running = true;
    let closedEarly = 0;
    let outstanding = 0; // messages sent and not yet echoed, all connections
    for (const c of conns) {
      const { frames, offsets, distinct } = ringFor(c.compressed || o.compressFrames === true);
      c.reader.expectedLength = o.size;
      const socket = c.socket;
      const reader = c.reader;
      let at = o.window % distinct;
      outstanding += o.window;
      const onData = (/** @type {Buffer} */ chunk) => {
        const k = reader.push(chunk);
        if (k > 0) {
          received += k;
          outstanding -= k;
          if (running) {
            outstanding += k;
            // k ≤ window ≤ distinct: one contiguous slice of the doubled ring
            socket.write(frames.subarray(/** @type {number} */ (offsets[at]), offsets[at + k]));
            at = (at + k) % distinct;
          }
        }
      };
      socket.on("data", onData);
      socket.once("close", () => {
        if (running) closedEarly++;
      });
      if (c.rest.length > 0) onData(c.rest);
      socket.write(frames.subarray(0, offsets[o.window]));
    }
    await sleep(o.warmupMs);
    const r0 = received;
    const s0 = cpuSnapshot(o.serverPid);
    await sleep(o.durationMs);
    const r1 = received;
    const s1 = cpuSnapshot(o.serverPid);
    running = false;
    // Let the messages in flight come back, then close politely (a close frame), so that the
    // end of a measurement is not a client vanishing mid-stream (bounded: 5 s).
    const drainUntil = Date.now() + 5000;
    while (outstanding > 0 && closedEarly === 0 && Date.now() < drainUntil) await sleep(10);
    for (const c of conns) c.socket.write(CLOSE_1000);
    await sleep(20);
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
      ...echoStats(conns, o.size),
      mismatches,
      errors,
    };
  } finally {
    closeAll(conns);
  }
}

/**
 * Connection setup rate: `concurrency` clients each open a connection (TCP connect and the
 * opening handshake), close it the WebSocket way (a close frame; the server answers with its
 * own and ends the TCP connection, RFC 6455 §7.1.1) and start over. Counts the connections
 * completed during `durationMs` after `warmupMs`.
 * @param {{ port: number, deflate: boolean, concurrency: number, warmupMs: number, durationMs: number,
 *   serverPid: number | null, clockTicks: number }} o
 */
export async function setupRate(o) {
  let completed = 0;
  let errors = 0;
  let running = true;
  /** One connection's whole life; resolves when the server has closed the TCP connection. */
  const lifecycle = async () => {
    const conn = await connect({ port: o.port, deflate: o.deflate, timeoutMs: 10_000 });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.socket.destroy();
        reject(new Error("the server did not close within 10 s"));
      }, 10_000);
      conn.socket.once("close", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      conn.socket.on("data", () => {}); // read the server's close frame and the end of the stream
      conn.socket.write(CLOSE_1000);
    });
  };
  const worker = async () => {
    while (running) {
      try {
        await lifecycle();
        completed++;
      } catch {
        errors++;
        await sleep(10);
      }
    }
  };
  const workers = Array.from({ length: o.concurrency }, worker);
  await sleep(o.warmupMs);
  const c0 = completed;
  const s0 = cpuSnapshot(o.serverPid);
  await sleep(o.durationMs);
  const c1 = completed;
  const s1 = cpuSnapshot(o.serverPid);
  running = false;
  await Promise.all(workers);
  const cpu = cpuShares(s0, s1, o.clockTicks);
  return {
    connections: c1 - c0,
    seconds: cpu.seconds,
    connectionsPerSecond: (c1 - c0) / cpu.seconds,
    serverCpu: cpu.serverCpu,
    generatorCpu: cpu.generatorCpu,
    otherCpu: cpu.otherCpu,
    errors,
  };
}

/**
 * Round-trip latency: one connection, one message at a time (a rotation of distinct messages
 * for `kind: "json"`).
 * @param {{ port: number, deflate: boolean, size: number, binary: boolean, kind?: "random" | "json",
 *   warmup: number, samples: number, maxMs: number }} o
 */
export async function latency(o) {
  const conn = await connect({ port: o.port, deflate: o.deflate, timeoutMs: 5000 });
  try {
    const ring = frameRing({
      size: o.size,
      binary: o.binary,
      kind: o.kind,
      compressed: conn.compressed,
      window: 1,
    });
    // The frames' views are made once: the generator allocates nothing per round trip, so its
    // own garbage collection does not land in the samples.
    const views = Array.from({ length: ring.distinct }, (_, i) =>
      ring.frames.subarray(/** @type {number} */ (ring.offsets[i]), ring.offsets[i + 1]),
    );
    let at = 0;
    const next = () => {
      const f = /** @type {Buffer} */ (views[at]);
      at = (at + 1) % ring.distinct;
      return f;
    };
    conn.reader.expectedLength = o.size;
    const total = o.warmup + o.samples;
    const times = new Float64Array(o.samples);
    let n = 0;
    let sentAt = 0;
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
        // performance.now(): a double, where hrtime.bigint() allocates two BigInts per sample.
        const now = performance.now();
        if (n >= o.warmup) times[n - o.warmup] = (now - sentAt) * 1000;
        n += k;
        if (n >= total) return finish(undefined);
        sentAt = performance.now();
        conn.socket.write(next());
      };
      conn.socket.on("data", onData);
      conn.socket.once("close", () => finish(new Error(`connection closed after ${n} round trips`)));
      if (conn.rest.length > 0) onData(conn.rest);
      sentAt = performance.now();
      conn.socket.write(next());
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
      ...echoStats([conn], o.size),
      mismatches: conn.reader.mismatches,
    };
  } finally {
    closeAll([conn]);
  }
}

/** Idle connections held between the memoryOpen and memoryClose jobs. @type {Conn[]} */
let idle = [];

/**
 * Open `count` connections, echo one message on each (so per-connection buffers and, with
 * permessage-deflate and a message above the threshold, the zlib streams that context
 * takeover keeps exist), then leave them idle. Default message: 16 bytes binary. `add` keeps
 * the connections opened before (warm-up connections); otherwise they are closed first.
 * @param {{ port: number, deflate: boolean, count: number, add?: boolean, size?: number,
 *   binary?: boolean, kind?: "random" | "json" }} o
 */
export async function memoryOpen(o) {
  const kept = o.add === true ? idle : [];
  if (o.add !== true) closeAll(idle);
  idle = [];
  /** @type {Conn[]} */
  let opened;
  try {
    opened = await connectMany({ port: o.port, deflate: o.deflate, count: o.count });
  } catch (err) {
    closeAll(kept);
    throw err;
  }
  const size = o.size ?? 16;
  const shape = { size, binary: o.binary ?? true, kind: o.kind, window: 1, variants: 1 };
  /** @type {Map<boolean, Buffer>} */
  const frames = new Map();
  const frameFor = (/** @type {boolean} */ compressed) => {
    let f = frames.get(compressed);
    if (f === undefined) {
      const ring = frameRing({ ...shape, compressed });
      f = ring.frames.subarray(0, ring.offsets[1]);
      frames.set(compressed, f);
    }
    return f;
  };
  const echoed = opened.map(
    (c) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no echo within 10 s")), 10_000);
        const onData = (/** @type {Buffer} */ chunk) => {
          if (c.reader.push(chunk) > 0) {
            clearTimeout(timer);
            resolve(undefined);
          }
        };
        c.socket.on("data", onData);
        if (c.rest.length > 0) onData(c.rest);
        c.socket.write(frameFor(c.compressed));
      }),
  );
  try {
    await Promise.all(echoed);
  } catch (err) {
    closeAll([...kept, ...opened]);
    throw err;
  }
  idle = [...kept, ...opened];
  return { opened: opened.length, ...echoStats(opened, size) };
}

export function memoryClose() {
  const closed = idle.length;
  closeAll(idle);
  idle = [];
  return { closed };
}

/**
 * Ask the server for a full garbage collection: a connection to the echo contract's `/gc`
 * control path (apps/echo/src/collect-garbage.mjs) gets one text message `{"heapUsed":N}` after
 * it. A server without it just holds the connection open (an echo server says nothing first):
 * after `timeoutMs` the answer is null and the memory reading goes on without a forced GC.
 * @param {{ port: number, timeoutMs?: number }} o
 * @returns {Promise<{ heapUsed: number } | null>}
 */
export async function collectGarbage(o) {
  const timeoutMs = o.timeoutMs ?? 5000;
  let conn;
  try {
    conn = await connect({ port: o.port, deflate: false, timeoutMs, path: "/gc" });
  } catch {
    return null;
  }
  const c = conn;
  try {
    return await new Promise((resolve) => {
      /** @type {Buffer[]} */
      const received = [];
      const timer = setTimeout(() => resolve(null), timeoutMs);
      const onData = (/** @type {Buffer} */ chunk) => {
        received.push(chunk);
        const text = dataMessages(Buffer.concat(received)).find((m) => m.opcode === OP_TEXT);
        if (text === undefined) return;
        clearTimeout(timer);
        try {
          const heapUsed = Number(JSON.parse(text.payload.toString("utf8")).heapUsed);
          resolve(Number.isFinite(heapUsed) ? { heapUsed } : null);
        } catch {
          resolve(null);
        }
      };
      c.socket.on("data", onData);
      c.socket.once("close", () => resolve(null));
      if (c.rest.length > 0) onData(c.rest);
    });
  } finally {
    c.socket.write(CLOSE_1000);
    closeAll([c]);
  }
}

/**
 * The soak: `connections` connections, each keeping `window` messages in flight, echo
 * `messages` messages in total (a rotation of distinct messages); the server's RSS (its process
 * tree, /proc) is read every `sampleEvery` echoed messages, and once more after the load stops
 * (connections still open, after `idleMs`). Bounded by `maxMs`: what was reached by then is
 * returned with `timedOut: true`.
 * @param {{ port: number, deflate: boolean, connections: number, window: number, size: number,
 *   binary: boolean, kind?: "random" | "json", messages: number, sampleEvery: number,
 *   serverPid: number, clockTicks: number, maxMs: number, idleMs?: number }} o
 */
export async function soak(o) {
  const conns = await connectMany({ port: o.port, deflate: o.deflate, count: o.connections });
  try {
    /** @type {{ messages: number, elapsedMs: number, rssKiB: number | null, serverCpuTicks: number | null }[]} */
    const samples = [];
    const t0 = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const sample = (/** @type {number} */ messages) =>
      samples.push({
        messages,
        elapsedMs: elapsedMs(),
        rssKiB: treeRssKiB(o.serverPid),
        serverCpuTicks: treeCpuTicks(o.serverPid),
      });
    sample(0);
    let sent = 0;
    let received = 0;
    let nextSample = o.sampleEvery;
    let closedEarly = 0;
    let running = true;
    const ringFor = ringsFor(o);
    const timedOut = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(true), o.maxMs);
      for (const c of conns) {
        const { frames, offsets, distinct } = ringFor(c.compressed);
        c.reader.expectedLength = o.size;
        let at = 0;
        const send = (/** @type {number} */ k) => {
          const n = Math.min(k, o.messages - sent);
          if (n <= 0) return;
          c.socket.write(frames.subarray(/** @type {number} */ (offsets[at]), offsets[at + n]));
          at = (at + n) % distinct;
          sent += n;
        };
        const onData = (/** @type {Buffer} */ chunk) => {
          const k = c.reader.push(chunk);
          if (k === 0) return;
          received += k;
          if (received >= nextSample) {
            sample(received);
            while (nextSample <= received) nextSample += o.sampleEvery;
          }
          if (received >= o.messages) {
            clearTimeout(timer);
            resolve(false);
            return;
          }
          if (running) send(k);
        };
        c.socket.on("data", onData);
        c.socket.once("close", () => {
          if (running) closedEarly++;
          if (running && closedEarly === conns.length) {
            clearTimeout(timer);
            resolve(false);
          }
        });
        if (c.rest.length > 0) onData(c.rest);
        send(o.window);
      }
    });
    running = false;
    const loadMs = elapsedMs();
    if (samples[samples.length - 1]?.messages !== received) sample(received);
    await sleep(o.idleMs ?? 2000);
    const idleRssKiB = treeRssKiB(o.serverPid);
    for (const c of conns) c.socket.write(CLOSE_1000);
    await sleep(20);
    const mismatches = conns.reduce((sum, c) => sum + c.reader.mismatches, 0);
    const errors = conns.reduce((sum, c) => sum + c.errors, 0) + closedEarly;
    return {
      messages: received,
      sent,
      seconds: loadMs / 1000,
      messagesPerSecond: received / (loadMs / 1000),
      timedOut,
      samples,
      idleRssKiB,
      ...echoStats(conns, o.size),
      mismatches,
      errors,
    };
  } finally {
    closeAll(conns);
  }
}
