#!/usr/bin/env node
// The soak's load generator (its own process, so that its memory and CPU are not the server's):
// opens N WebSocket connections on raw TCP, all at once, then every connection sends M
// sequence-numbered messages of random sizes and types (text or binary), a few in flight at a
// time, and checks every echo byte for byte and in order; then closes with 1000. Prints JSON
// lines: progress ({"phase": ...}) and at the end the totals ({"phase": "done", ...}).
//
//   node apps/hostile/src/soak-client.mjs --port P [--connections 10000] [--messages 100]
//                                          [--window 2] [--seed 1] [--timeout 600]

import { randomFillSync } from "node:crypto";
import { parseArgs } from "node:util";
import { maskedFrame, OP_BINARY, OP_CLOSE, OP_PONG, OP_TEXT } from "../../bench/src/frames.mjs";
import { connect as wsConnect } from "../../bench/src/loadgen.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    connections: { type: "string", default: "10000" },
    messages: { type: "string", default: "100" },
    window: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    timeout: { type: "string", default: "600" },
  },
});
const port = Number(values.port);
const connections = Number(values.connections);
const messages = Number(values.messages);
const window = Number(values.window);
const deadline = performance.now() + Number(values.timeout) * 1000;

/** @param {object} line */
const report = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A seeded generator (xorshift32) for sizes, types and offsets: the same run sends the same
// messages. The bytes come from pools filled once.
let state = Number(values.seed) >>> 0 || 1;
const random = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
};

const BINARY_POOL = randomFillSync(Buffer.alloc(4 << 20));
// Text: ASCII, 2-, 3- and 4-byte UTF-8 characters mixed (valid UTF-8 whatever the slice, as
// Buffer.from never splits a character; a split surrogate pair would become U+FFFD, still valid).
const CHARS = ["a", "b", "c", " ", "z", "0", "é", "ж", "漢", "😀", "\n", "{"];
const TEXT_POOL = Array.from({ length: 1 << 20 }, () => CHARS[Math.floor(random() * CHARS.length)]).join("");

/** A size: mostly small, some medium, a few up to 64 KiB. */
function randomSize() {
  const r = random();
  if (r < 0.8) return Math.floor(random() * 256);
  if (r < 0.98) return 256 + Math.floor(random() * 3840);
  return 4096 + Math.floor(random() * 61440);
}

/** Message `seq` of connection `id`: its opcode and payload, prefixed with both numbers. */
function message(id, seq) {
  const binary = random() < 0.5;
  const size = randomSize();
  const prefix = `${id}:${seq}:`;
  if (binary) {
    const offset = Math.floor(random() * (BINARY_POOL.length - size));
    return {
      opcode: OP_BINARY,
      payload: Buffer.concat([Buffer.from(prefix), BINARY_POOL.subarray(offset, offset + size)]),
    };
  }
  const offset = Math.floor(random() * (TEXT_POOL.length - size));
  return { opcode: OP_TEXT, payload: Buffer.from(prefix + TEXT_POOL.slice(offset, offset + size)) };
}

const totals = {
  connections,
  opened: 0,
  handshakeFailures: 0,
  sent: 0,
  echoed: 0,
  reordered: 0,
  corrupted: 0,
  lost: 0,
  unexpectedCloses: 0,
  closeCodes: /** @type {Record<string, number>} */ ({}),
  bytesSent: 0,
};

/**
 * One connection's run: send in a window, check each echo against the oldest message in
 * flight. An echo that matches a later one in flight is "reordered"; one that matches none is
 * "corrupted". Resolves once the close handshake is over (or the socket ends).
 * @param {import("../../bench/src/loadgen.mjs").Conn} conn
 * @param {number} id
 */
function run(conn, id) {
  const socket = conn.socket;
  /** @type {{ opcode: number, payload: Buffer }[]} */
  const inFlight = [];
  let seq = 0;
  let closing = false;
  let buffer = conn.rest ?? Buffer.alloc(0);
  /** @type {{ opcode: number, parts: Buffer[] } | null} */
  let partial = null;
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      totals.lost += inFlight.length + (messages - seq);
      resolve(undefined);
    };
    const sendMore = () => {
      while (!closing && inFlight.length < window && seq < messages) {
        const next = message(id, seq++);
        inFlight.push(next);
        totals.sent++;
        totals.bytesSent += next.payload.length;
        socket.write(maskedFrame(next.opcode, next.payload));
      }
      if (!closing && seq === messages && inFlight.length === 0) {
        closing = true;
        socket.write(maskedFrame(OP_CLOSE, Buffer.from([0x03, 0xe8])));
      }
    };
    /** @param {number} opcode @param {Buffer} payload */
    const onMessage = (opcode, payload) => {
      const head = inFlight[0];
      if (head !== undefined && head.opcode === opcode && head.payload.equals(payload)) {
        inFlight.shift();
        totals.echoed++;
      } else {
        const at = inFlight.findIndex((m) => m.opcode === opcode && m.payload.equals(payload));
        if (at > 0) {
          inFlight.splice(at, 1);
          totals.reordered++;
        } else {
          if (head !== undefined) inFlight.shift();
          totals.corrupted++;
        }
      }
      sendMore();
    };
    socket.on("data", (chunk) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length < 2) break;
        const b0 = buffer[0];
        let length = buffer[1] & 0x7f;
        let header = 2;
        if (length === 126) {
          if (buffer.length < 4) break;
          length = buffer.readUInt16BE(2);
          header = 4;
        } else if (length === 127) {
          if (buffer.length < 10) break;
          length = Number(buffer.readBigUInt64BE(2));
          header = 10;
        }
        if (buffer.length < header + length) break;
        const payload = buffer.subarray(header, header + length);
        buffer = buffer.subarray(header + length);
        const opcode = b0 & 0x0f;
        const fin = (b0 & 0x80) !== 0;
        if (opcode === 0x9) socket.write(maskedFrame(OP_PONG, payload));
        else if (opcode === OP_CLOSE) {
          const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          totals.closeCodes[code] = (totals.closeCodes[code] ?? 0) + 1;
          if (!closing) {
            totals.unexpectedCloses++;
            closing = true;
            socket.write(maskedFrame(OP_CLOSE, payload.subarray(0, 2)));
          }
        } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
          if (fin) onMessage(opcode, Buffer.from(payload));
          else partial = { opcode, parts: [Buffer.from(payload)] };
        } else if (opcode === 0 && partial !== null) {
          partial.parts.push(Buffer.from(payload));
          if (fin) {
            const whole = partial;
            partial = null;
            onMessage(whole.opcode, Buffer.concat(whole.parts));
          }
        }
      }
    });
    socket.on("close", () => {
      if (!closing) totals.unexpectedCloses++;
      finish();
    });
    socket.on("end", () => socket.end());
    // Started by the caller once every connection is open.
    /** @type {any} */ (conn).start = sendMore;
    /** @type {any} */ (conn).abandon = () => {
      socket.destroy();
      finish();
    };
  });
}

// 1. Open every connection (the server holds them all at once from here on).
/** @type {import("../../bench/src/loadgen.mjs").Conn[]} */
const conns = [];
/** @type {Promise<unknown>[]} */
const runs = [];
let next = 0;
const openOne = async () => {
  while (next < connections && performance.now() < deadline) {
    const id = next++;
    try {
      const conn = await wsConnect({ port, deflate: false, timeoutMs: 30_000 });
      conns.push(conn);
      runs.push(run(conn, id));
      totals.opened++;
      if (totals.opened % 1000 === 0) report({ phase: "opening", opened: totals.opened });
    } catch {
      totals.handshakeFailures++;
    }
  }
};
await Promise.all(Array.from({ length: Math.min(100, connections) }, openOne));
report({ phase: "open", opened: totals.opened, handshakeFailures: totals.handshakeFailures });
// Lets the orchestrator read the server's memory with every connection open and idle.
await sleep(2000);

// 2. Every connection sends and checks; 3. closes.
report({ phase: "sending" });
for (const conn of conns) /** @type {any} */ (conn).start();
const all = Promise.all(runs);
const progress = setInterval(
  () => report({ phase: "progress", echoed: totals.echoed, sent: totals.sent }),
  2000,
);
const timedOut = await Promise.race([
  all.then(() => false),
  sleep(Math.max(0, deadline - performance.now())).then(() => true),
]);
clearInterval(progress);
if (timedOut) for (const conn of conns) /** @type {any} */ (conn).abandon();
await all;
report({ phase: "done", timedOut, ...totals });
process.exit(0);
