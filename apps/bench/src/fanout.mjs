#!/usr/bin/env node
// Fan-out benchmark: one publisher, N subscribers, side by side in one run.
//
//   node apps/bench/src/fanout.mjs                          full run: 1,000 and 10,000 subscribers
//   node apps/bench/src/fanout.mjs --quick                  smoke run (the test runs this)
//   node apps/bench/src/fanout.mjs --deflate                permessage-deflate (server_no_context_takeover)
//   node apps/bench/src/fanout.mjs --targets ws-loop,node-publish --subscribers 2000 --messages 100
//
// Targets (servers/fanout-*.{mjs,ts}): a connection to /sub subscribes, each message from the
// one /pub connection goes to every subscriber.
//   ws-loop       `ws`, a loop over its clients calling send()
//   node-loop     @ws/node, a loop over the subscribers calling socket.send() (no topics)
//   node-publish  @ws/node, server.publish (framed, and compressed, once)
//   bun-native    Bun.serve's own server.publish (uWebSockets)
//   bun-publish   @ws/bun, server.publish
//   deno-publish  @ws/deno, server.publish
//   node-redis    @ws/node on two processes through a redis-server started here: the
//                 publisher on one, every subscriber on the other (RedisBroker)
//
// The load generator is this process: raw TCP sockets, the bench's own framing (frames.mjs).
// The publisher keeps `window` messages in flight (published, not yet received by every
// subscriber). Subscribers receive messages in publish order, so the k-th message a subscriber
// completes is the k-th published: latency = its arrival time − the k-th send time, measured
// at every subscriber for every message. A warm-up of short messages (until every subscriber got
// one) comes first; subscribers count only the longer, measured messages, so a late warm-up
// message is never taken for a measured one. Delivered msg/s = deliveries ÷ (last arrival − first
// send). One round per target and size, targets run one after another: on a busy shared
// machine the figures are noisy; compare ratios within one run.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { jsonPayload, maskedFrame, OP_TEXT } from "./frames.mjs";
import { connect } from "./loadgen.mjs";

const ROOT = new URL("../../../", import.meta.url).pathname;
const BUN = `${ROOT}node_modules/bun/bin/bun.exe`;
const DENO = `${ROOT}node_modules/deno/deno`;

/** @type {Record<string, { command: (port: number, extra: string[]) => string[], redis?: boolean }>} */
const TARGETS = {
  "ws-loop": {
    command: (port, extra) => [
      process.execPath,
      "apps/bench/servers/fanout-ws.mjs",
      "--port",
      String(port),
      ...extra,
    ],
  },
  "node-loop": {
    command: (port, extra) => [
      process.execPath,
      "apps/bench/servers/fanout-ours.mjs",
      "--port",
      String(port),
      "--mode",
      "loop",
      ...extra,
    ],
  },
  "node-publish": {
    command: (port, extra) => [
      process.execPath,
      "apps/bench/servers/fanout-ours.mjs",
      "--port",
      String(port),
      ...extra,
    ],
  },
  "bun-native": {
    command: (port, extra) => [
      BUN,
      "apps/bench/servers/fanout-bun-native.ts",
      "--port",
      String(port),
      ...extra,
    ],
  },
  "bun-publish": {
    command: (port, extra) => [
      BUN,
      "--conditions=@ws/source",
      "apps/bench/servers/fanout-ours.mjs",
      "--port",
      String(port),
      ...extra,
    ],
  },
  "deno-publish": {
    command: (port, extra) => [
      DENO,
      "run",
      "--conditions=@ws/source",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-read",
      "apps/bench/servers/fanout-ours.mjs",
      "--port",
      String(port),
      ...extra,
    ],
  },
  "node-redis": {
    redis: true,
    command: (port, extra) => [
      process.execPath,
      "apps/bench/servers/fanout-ours.mjs",
      "--port",
      String(port),
      ...extra,
    ],
  },
};

/**
 * @typedef {{ target: string, subscribers: number, messages: number, deflate: boolean } & Measurement} Result
 * @typedef {{ complete: boolean, deliveries: number, compressed: number, deliveredPerSecond: number, p50: number, p99: number }} Measurement
 * @typedef {{ count: number, messages: number, window: number, deflate: boolean, payload: Buffer }} RunOptions
 */

/** A free loopback port. @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (probe.address());
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `argv` and resolves once it prints a line with `pattern`; returns a stopper.
 * @param {string[]} argv
 * @returns {Promise<() => Promise<void>>}
 */
async function startProcess(argv, pattern = /listening|Ready to accept/) {
  const child = spawn(/** @type {string} */ (argv[0]), argv.slice(1), {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(" ")} did not start:\n${output}`)), 30_000);
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      output += chunk;
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve(undefined);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(" ")} exited (${code}):\n${output}`));
    });
  });
  return async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  };
}

/** Warm-up messages are shorter than this (as received), measured ones are not. */
const WARM_UP_MAX = 16;
const WARM_UP_TIMEOUT = 60_000;

/** @param {number} ms @returns {Promise<void>} */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens `count` subscribers on `port` (/sub), at most 64 handshakes at a time.
 * @param {number} port @param {number} count @param {boolean} deflate
 */
async function subscribers(port, count, deflate) {
  /** @type {import("./loadgen.mjs").Conn[]} */
  const conns = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      conns.push(await connect({ port, deflate, timeoutMs: 30_000, path: "/sub" }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, count) }, worker));
  return conns;
}

/**
 * One measurement: `count` subscribers on subPort, the publisher on pubPort, `messages`
 * messages with `window` in flight.
 * @param {RunOptions & { pubPort: number, subPort: number }} o
 * @returns {Promise<Measurement>}
 */
async function measure({ pubPort, subPort, count, messages, window, deflate, payload }) {
  const conns = await subscribers(subPort, count, deflate);
  const publisher = await connect({ port: pubPort, deflate: false, timeoutMs: 30_000, path: "/pub" });
  publisher.socket.on("data", () => {});
  const frame = maskedFrame(OP_TEXT, payload);
  // The warm-up messages are shorter than WARM_UP_MAX, the measured ones longer (compressed
  // too): each subscriber counts only measured messages, so a warm-up message that arrives
  // late (through Redis, behind a busy process) is never taken for a measured one.
  const warmUpFrame = maskedFrame(OP_TEXT, Buffer.from("warm-up"));
  for (const conn of conns) conn.reader.minLength = WARM_UP_MAX;
  const got = new Uint32Array(count);
  const delivered = new Uint32Array(messages);
  const sendTimes = new Float64Array(messages);
  const latencies = new Float64Array(count * messages);
  let samples = 0;
  let measuring = false;
  let sent = 0;
  let complete = 0;
  let lastArrival = 0;
  /** @type {(value: string) => void} */
  let resolveDone = () => {};
  /** @type {Promise<string>} */
  const done = new Promise((resolve) => {
    resolveDone = resolve;
  });
  const pump = () => {
    while (sent < messages && sent - complete < window) {
      sendTimes[sent] = performance.now();
      sent++;
      publisher.socket.write(frame);
    }
  };
  let unexpected = 0;
  conns.forEach((conn, i) => {
    /** @param {Buffer} chunk */
    const onChunk = (chunk) => {
      const completed = conn.reader.push(chunk);
      if (completed === 0) return;
      if (!measuring) {
        unexpected += completed;
        return;
      }
      const before = /** @type {number} */ (got[i]);
      got[i] = before + completed;
      const now = performance.now();
      // Subscribers get the measured messages in publish order: the j-th is the j-th sent.
      for (let j = before; j < before + completed && j < messages; j++) {
        latencies[samples++] = now - /** @type {number} */ (sendTimes[j]);
        delivered[j] = /** @type {number} */ (delivered[j]) + 1;
        if (delivered[j] === count) {
          complete++;
          lastArrival = now;
          if (complete === messages) resolveDone("done");
        }
      }
      pump();
    };
    conn.socket.on("data", onChunk);
    if (conn.rest.length > 0) onChunk(conn.rest);
  });
  // Warm-up: publish short messages until every subscriber got one (subscriptions are in
  // place, across processes too).
  const warmUpStart = performance.now();
  for (;;) {
    publisher.socket.write(warmUpFrame);
    await sleep(100);
    if (conns.every((conn) => conn.reader.shortMessages > 0)) break;
    if (performance.now() - warmUpStart > WARM_UP_TIMEOUT) {
      const missing = conns.filter((conn) => conn.reader.shortMessages === 0);
      const closed = missing.filter((conn) => conn.reader.closed || conn.socket.destroyed).length;
      throw new Error(
        `warm-up: ${missing.length} of ${count} subscribers got no message in ${WARM_UP_TIMEOUT / 1000} s (${closed} of them closed)`,
      );
    }
  }
  if (unexpected > 0)
    throw new Error(`${unexpected} long messages arrived before the measured ones were sent`);
  measuring = true;
  const started = performance.now();
  pump();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<string>} */
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 120_000);
  });
  const outcome = await Promise.race([done, timeout]);
  clearTimeout(timer);
  const elapsed = (lastArrival - started) / 1000;
  // Messages that arrived compressed (RSV1), warm-up included: shows permessage-deflate was used.
  let compressed = 0;
  for (const conn of conns) compressed += conn.reader.compressedMessages;
  for (const conn of conns) conn.socket.destroy();
  publisher.socket.destroy();
  const sorted = latencies.subarray(0, samples).sort();
  /** @param {number} q */
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    complete: outcome !== "timeout",
    deliveries: samples,
    compressed,
    deliveredPerSecond: samples / elapsed,
    p50: at(0.5),
    p99: at(0.99),
  };
}

/**
 * Starts a target's server(s) and measures it.
 * @param {string} name @param {RunOptions} o
 */
async function runTarget(name, o) {
  const target = /** @type {(typeof TARGETS)[string]} */ (TARGETS[name]);
  const extra = o.deflate ? ["--deflate"] : [];
  const stops = [];
  try {
    let pubPort;
    let subPort;
    if (target.redis) {
      const redisPort = await freePort();
      stops.push(
        await startProcess([
          "redis-server",
          "--port",
          String(redisPort),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
        ]),
      );
      const url = `redis://127.0.0.1:${redisPort}`;
      pubPort = await freePort();
      stops.push(await startProcess(target.command(pubPort, [...extra, "--redis", url])));
      subPort = await freePort();
      stops.push(await startProcess(target.command(subPort, [...extra, "--redis", url])));
    } else {
      pubPort = subPort = await freePort();
      stops.push(await startProcess(target.command(pubPort, extra)));
    }
    return await measure({ ...o, pubPort, subPort });
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    deflate: { type: "boolean" },
    targets: { type: "string" },
    subscribers: { type: "string" },
    messages: { type: "string" },
    window: { type: "string", default: "4" },
    json: { type: "boolean" },
  },
});
const targets = (
  values.targets ??
  (values.quick ? "ws-loop,node-loop,node-publish,node-redis" : Object.keys(TARGETS).join(","))
)
  .split(",")
  .filter((name) => name !== "");
for (const name of targets)
  if (!(name in TARGETS)) throw new Error(`unknown target ${name}: ${Object.keys(TARGETS).join(", ")}`);
const counts = (values.subscribers ?? (values.quick ? "200" : "1000,10000")).split(",").map(Number);
const payload = jsonPayload(values.deflate ? 2048 : 64);

/** @type {Result[]} */
const results = [];
/** @type {{ target: string, subscribers: number, error: string }[]} */
const failures = [];
for (const count of counts) {
  const messages = Number(values.messages ?? (values.quick ? 20 : count >= 10_000 ? 100 : 400));
  for (const name of targets) {
    /** @type {Measurement} */
    let result;
    try {
      result = await runTarget(name, {
        count,
        messages,
        window: Number(values.window),
        deflate: values.deflate === true,
        payload,
      });
    } catch (error) {
      // One target failing (it could not take this many subscribers in time) does not end
      // the run: it is reported, and the others are still measured.
      console.error(`${name}: ${/** @type {Error} */ (error).message.split("\n")[0]}`);
      failures.push({
        target: name,
        subscribers: count,
        error: /** @type {Error} */ (error).message.split("\n")[0] ?? "",
      });
      continue;
    }
    results.push({ target: name, subscribers: count, messages, deflate: values.deflate === true, ...result });
    if (!values.json) {
      console.error(
        `${name.padEnd(13)} ${String(count).padStart(6)} subscribers: ${Math.round(result.deliveredPerSecond).toLocaleString("en")} msg/s delivered, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms${result.complete ? "" : " (timed out)"}`,
      );
    }
  }
}
if (values.json) console.log(JSON.stringify(results));
else {
  const table = [
    `| target | subscribers | messages | delivered msg/s | × ws-loop | p50 ms | p99 ms |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of results) {
    const base = results.find((b) => b.target === "ws-loop" && b.subscribers === r.subscribers);
    const ratio = base === undefined ? "" : (r.deliveredPerSecond / base.deliveredPerSecond).toFixed(2);
    table.push(
      `| ${r.target} | ${r.subscribers.toLocaleString("en")} | ${r.messages} | ${Math.round(r.deliveredPerSecond).toLocaleString("en")} | ${ratio} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
    );
  }
  console.log(
    `Fan-out${values.deflate ? " with permessage-deflate (server_no_context_takeover)" : ""}, payload ${payload.length} B\n`,
  );
  console.log(table.join("\n"));
  for (const f of failures)
    console.log(`\n${f.target} with ${f.subscribers.toLocaleString("en")} subscribers: failed (${f.error})`);
}
if (failures.length > 0) process.exitCode = 1;
