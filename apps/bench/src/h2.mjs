#!/usr/bin/env node
// WebSockets over HTTP/2 (RFC 8441) against WebSockets over HTTP/1.1, same server code:
// N sockets as N streams of ONE HTTP/2 connection (target `node-h2`, h2c with prior knowledge)
// against N TCP connections with an HTTP/1.1 upgrade each (target `node`), both from
// apps/echo/targets.json, measured side by side, interleaved round by round.
//   node apps/bench/src/h2.mjs [--sockets 100] [--quick | --tiny] [--json file]
// Measured per mode:
// - time to open: from the first connect until all N sockets are open (all started at once;
//   for HTTP/2 the connection's own setup is included);
// - server memory per socket: the server's RSS (VmRSS, process tree) before and after, / N;
// - echo throughput: every socket keeps 16 messages of 1 KiB in flight; messages/s echoed.
// The load generator is the same hand-rolled framing as the main benchmark (frames.mjs); the
// HTTP/2 side uses node:http2 as its client. It asserts nothing; the figures are noisy on a
// shared machine (run it alone, compare the ratios of one run).
import http2 from "node:http2";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { FrameReader, maskedFrame, OP_BINARY, OP_PONG } from "./frames.mjs";
import { connect as connectHttp1 } from "./loadgen.mjs";
import { steadyRss } from "./proc.mjs";
import { freePort, loadTargets, ServerProcess } from "./targets.mjs";

const PROFILES = {
  full: { rounds: 3, warmupMs: 250, measureMs: 1500 },
  quick: { rounds: 1, warmupMs: 100, measureMs: 500 },
  tiny: { rounds: 1, warmupMs: 50, measureMs: 200 },
};

/**
 * @typedef {object} Socketish what the measurement drives: bytes out, echoed messages in
 * @property {(bytes: Buffer) => void} write
 * @property {(onMessages: (count: number) => void) => void} listen called with the number of
 *   messages each received chunk completed
 * @property {() => void} close
 */

/**
 * @param {number} port @param {number} count
 * @returns {Promise<{ sockets: Socketish[], close: () => void }>}
 */
async function openHttp1(port, count) {
  const conns = await Promise.all(
    Array.from({ length: count }, () => connectHttp1({ port, deflate: false, timeoutMs: 20_000 })),
  );
  const sockets = conns.map((conn) => {
    /** @type {Socketish} */
    const s = {
      write: (bytes) => {
        conn.socket.write(bytes);
      },
      listen: (onMessages) => conn.socket.on("data", (chunk) => onMessages(conn.reader.push(chunk))),
      close: () => conn.socket.destroy(),
    };
    if (conn.rest.length > 0) conn.reader.push(conn.rest);
    return s;
  });
  return {
    sockets,
    close: () => {
      for (const s of sockets) s.close();
    },
  };
}

/**
 * @param {number} port @param {number} count
 * @returns {Promise<{ sockets: Socketish[], close: () => void }>}
 */
async function openHttp2(port, count) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  await new Promise((resolve, reject) => {
    session.once("remoteSettings", (settings) =>
      settings.enableConnectProtocol === true
        ? resolve(undefined)
        : reject(new Error("the server does not enable the Extended CONNECT protocol")),
    );
    session.once("error", reject);
  });
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        /** @type {Promise<Socketish>} */ (
          new Promise((resolve, reject) => {
            const stream = session.request(
              {
                ":method": "CONNECT",
                ":protocol": "websocket",
                ":scheme": "http",
                ":path": "/",
                ":authority": `127.0.0.1:${port}`,
                "sec-websocket-version": "13",
              },
              { endStream: false },
            );
            stream.once("error", reject);
            stream.once("response", (headers) => {
              if (headers[":status"] !== 200) return reject(new Error(`status ${headers[":status"]}`));
              const reader = new FrameReader({
                onPing: (payload) => stream.write(maskedFrame(OP_PONG, payload)),
              });
              resolve({
                write: (bytes) => stream.write(bytes),
                listen: (onMessages) => stream.on("data", (chunk) => onMessages(reader.push(chunk))),
                close: () => stream.close(),
              });
            });
          })
        ),
    ),
  );
  return {
    sockets,
    close: () => {
      for (const s of sockets) s.close();
      session.destroy();
    },
  };
}

/**
 * Every socket keeps `window` messages in flight; counts echoes during `measureMs`.
 * @param {Socketish[]} sockets @param {{ warmupMs: number, measureMs: number }} profile
 */
async function throughput(sockets, profile) {
  const window = 16;
  const frame = maskedFrame(OP_BINARY, Buffer.alloc(1024, 7));
  let counting = false;
  let counted = 0;
  let running = true;
  for (const s of sockets) {
    // Each echo completed is answered with the next message: `window` stay in flight.
    s.listen((done) => {
      if (done === 0) return;
      if (counting) counted += done;
      if (running) for (let i = 0; i < done; i++) s.write(frame);
    });
    for (let i = 0; i < window; i++) s.write(frame);
  }
  await new Promise((resolve) => setTimeout(resolve, profile.warmupMs));
  counting = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, profile.measureMs));
  const elapsed = performance.now() - started;
  counting = false;
  running = false;
  return Math.round((counted * 1000) / elapsed);
}

/** @param {number[]} values */
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * Runs the comparison; resolves with the medians per mode.
 * @param {{ sockets: number, profile: keyof typeof PROFILES }} options
 */
export async function runH2Bench(options) {
  const profile = PROFILES[options.profile];
  const { targets } = loadTargets({ includeHttp2: true });
  const modes = /** @type {const} */ ([
    { name: "HTTP/1.1 (N TCP connections)", target: "node", open: openHttp1 },
    { name: "HTTP/2 (N streams, 1 connection)", target: "node-h2", open: openHttp2 },
  ]);
  /** @type {Record<string, { openMs: number[], kibPerSocket: number[], messagesPerSecond: number[] }>} */
  const figures = {};
  for (let round = 0; round < profile.rounds; round++) {
    for (const mode of modes) {
      const spec = targets.get(mode.target);
      if (spec === undefined) throw new Error(`no target ${mode.target} in apps/echo/targets.json`);
      const port = await freePort();
      const server = new ServerProcess(spec.command.replaceAll("{port}", String(port)), {
        cpu: null,
        nice: null,
      });
      try {
        await server.waitReady(port, 20_000);
        const pid = /** @type {number} */ (server.pid);
        const before = (await steadyRss(pid)) ?? 0;
        const t0 = performance.now();
        const opened = await mode.open(port, options.sockets);
        const openMs = performance.now() - t0;
        const after = (await steadyRss(pid)) ?? 0;
        const messagesPerSecond = await throughput(opened.sockets, profile);
        opened.close();
        const entry = figures[mode.name] ?? { openMs: [], kibPerSocket: [], messagesPerSecond: [] };
        figures[mode.name] = entry;
        entry.openMs.push(openMs);
        entry.kibPerSocket.push((after - before) / options.sockets);
        entry.messagesPerSecond.push(messagesPerSecond);
      } finally {
        await server.stop();
      }
    }
  }
  return Object.fromEntries(
    Object.entries(figures).map(([name, f]) => [
      name,
      {
        openMs: Math.round(median(f.openMs) * 10) / 10,
        kibPerSocket: Math.round(median(f.kibPerSocket) * 10) / 10,
        messagesPerSecond: median(f.messagesPerSecond),
      },
    ]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      sockets: { type: "string", default: "100" },
      quick: { type: "boolean", default: false },
      tiny: { type: "boolean", default: false },
    },
  });
  const sockets = Number(values.sockets);
  const profile = values.tiny ? "tiny" : values.quick ? "quick" : "full";
  const result = await runH2Bench({ sockets, profile });
  console.log(`${sockets} WebSockets, ${profile} profile (medians of ${PROFILES[profile].rounds} rounds)`);
  console.log(
    "| Mode | time to open (ms) | server KiB per socket | echo messages/s (1 KiB, 16 in flight each) |",
  );
  console.log("|---|---:|---:|---:|");
  for (const [name, f] of Object.entries(result)) {
    console.log(`| ${name} | ${f.openMs} | ${f.kibPerSocket} | ${f.messagesPerSecond} |`);
  }
  console.log(`JSON ${JSON.stringify(result)}`);
}
