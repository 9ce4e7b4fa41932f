#!/usr/bin/env node
// Fan-out benchmark: one publisher, N subscribers, side by side in one run.
//
//   node apps/bench/src/fanout.mjs                          full run: 1,000 and 10,000 subscribers
//   node apps/bench/src/fanout.mjs --quick                  smoke run (the test runs this)
//   node apps/bench/src/fanout.mjs --deflate                permessage-deflate (server_no_context_takeover)
//   node apps/bench/src/fanout.mjs --targets ws-loop,node-publish --subscribers 2000 --messages 100
//   node apps/bench/src/fanout.mjs --deflate --messages 400,40   messages per size (1,000 and 10,000)
//   node apps/bench/src/fanout.mjs --rounds 3 --results-md  3 rounds, medians; rewrites the fan-out
//                                                           section of RESULTS.md
//   node apps/bench/src/fanout.mjs --before ../other-checkout --targets ws-loop,node-publish,node-publish@before
//                                                           NAME@before: NAME's server from another
//                                                           checkout (built), side by side
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
// send). "first p50" is the median over messages of the first subscriber's latency: the
// publish-to-receive time without the spread of the fan-out itself (what a broker adds shows
// there). Targets run one after another, `--rounds` times (in turn, so that a drift of the
// machine's load spreads over all): the tables give each figure's median over the rounds and
// the median of the per-round ratios to ws-loop. On a busy shared machine the absolute figures
// are noisy; compare ratios within one run.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import { resolve as resolvePath } from "node:path";
import { parseArgs } from "node:util";
import { jsonPayload, maskedFrame, OP_TEXT } from "./frames.mjs";
import { connect } from "./loadgen.mjs";
import { writeResultsSection } from "./results-md.mjs";

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
 * @typedef {{ target: string, subscribers: number, messages: number, deflate: boolean, round: number } & Measurement} Result
 * @typedef {{ complete: boolean, deliveries: number, compressed: number, deliveredPerSecond: number, p50: number, p99: number, firstP50: number }} Measurement
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
async function startProcess(argv, pattern = /listening|Ready to accept/, cwd = ROOT) {
  const child = spawn(/** @type {string} */ (argv[0]), argv.slice(1), {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Killed, not left running: its pipes would keep this process (and the benchmark lock
      // it runs under) alive after the run ends.
      child.kill("SIGKILL");
      reject(new Error(`${argv.join(" ")} did not start:\n${output}`));
    }, 30_000);
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
  /** Latency of each message's first arrival. */
  const firsts = new Float64Array(messages);
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
        if (delivered[j] === 1) firsts[j] = now - /** @type {number} */ (sendTimes[j]);
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
  const firstSorted = firsts.subarray(0, complete).sort();
  return {
    complete: outcome !== "timeout",
    deliveries: samples,
    compressed,
    deliveredPerSecond: samples / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    firstP50: firstSorted[Math.floor(firstSorted.length / 2)] ?? Number.NaN,
  };
}

/**
 * Starts a target's server(s) and measures it.
 * @param {string} name @param {RunOptions} o
 */
async function runTarget(name, o) {
  const [base = name, variant] = name.split("@");
  const target = /** @type {(typeof TARGETS)[string]} */ (TARGETS[base]);
  const cwd = variant === "before" ? /** @type {string} */ (before) : ROOT;
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
      stops.push(await startProcess(target.command(pubPort, [...extra, "--redis", url]), undefined, cwd));
      subPort = await freePort();
      stops.push(await startProcess(target.command(subPort, [...extra, "--redis", url]), undefined, cwd));
    } else {
      pubPort = subPort = await freePort();
      stops.push(await startProcess(target.command(pubPort, extra), undefined, cwd));
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
    rounds: { type: "string", default: "1" },
    before: { type: "string" },
    json: { type: "boolean" },
    "results-md": { type: "boolean" },
  },
});
/** Another checkout (built), for the NAME@before targets. */
const before = values.before === undefined ? undefined : resolvePath(values.before);
const targets = (
  values.targets ??
  (values.quick ? "ws-loop,node-loop,node-publish,node-redis" : Object.keys(TARGETS).join(","))
)
  .split(",")
  .filter((name) => name !== "");
for (const name of targets) {
  const [base = name, variant] = name.split("@");
  if (!(base in TARGETS)) throw new Error(`unknown target ${name}: ${Object.keys(TARGETS).join(", ")}`);
  if (variant !== undefined && (variant !== "before" || before === undefined))
    throw new Error(`${name}: only NAME@before, with --before DIR`);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a positive integer");
const counts = (values.subscribers ?? (values.quick ? "200" : "1000,10000")).split(",").map(Number);
/** Messages per size: `--messages N`, or one per `--subscribers` size (`--messages 400,40`). */
const messageCounts = counts.map((count, i) => {
  const given = values.messages?.split(",");
  const n = given === undefined ? undefined : (given[i] ?? given[given.length - 1]);
  return Number(n ?? (values.quick ? 20 : count >= 10_000 ? 100 : 400));
});
const payload = jsonPayload(values.deflate ? 2048 : 64);

/** @type {Result[]} every round's */
const results = [];
/** @type {{ target: string, subscribers: number, round: number, error: string }[]} */
const failures = [];
const loadBefore = loadavg();
const startedAt = new Date();
for (const [sizeIndex, count] of counts.entries()) {
  const messages = /** @type {number} */ (messageCounts[sizeIndex]);
  for (let round = 1; round <= rounds; round++) {
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
        const message = /** @type {Error} */ (error).message.split("\n")[0] ?? "";
        console.error(`${name}: ${message}`);
        failures.push({ target: name, subscribers: count, round, error: message });
        continue;
      }
      results.push({
        target: name,
        subscribers: count,
        messages,
        deflate: values.deflate === true,
        round,
        ...result,
      });
      if (!values.json) {
        console.error(
          `${name.padEnd(13)} ${String(count).padStart(6)} subscribers${rounds > 1 ? ` (round ${round})` : ""}: ${Math.round(result.deliveredPerSecond).toLocaleString("en")} msg/s delivered, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, first p50 ${result.firstP50.toFixed(2)} ms${result.complete ? "" : " (timed out)"}`,
        );
      }
    }
  }
}
const loadAfter = loadavg();

/** A checkout and its commit, for the report. @param {string} dir */
function describeCheckout(dir) {
  try {
    const commit = execFileSync("git", ["-C", dir, "log", "-1", "--format=%h %s"], {
      encoding: "utf8",
    }).trim();
    return `another checkout, at commit ${commit.length > 100 ? `${commit.slice(0, 100)}…` : commit}`;
  } catch {
    return `another checkout (${dir})`;
  }
}

/** @param {number[]} values */
function median(values) {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? /** @type {number} */ (sorted[mid])
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The medians over the rounds, per size and target, with the median per-round ratio to ws-loop. */
function summary() {
  const rows = [];
  for (const count of counts) {
    for (const name of targets) {
      const mine = results.filter((r) => r.target === name && r.subscribers === count);
      if (mine.length === 0) continue;
      const ratios = mine.flatMap((r) => {
        const base = results.find(
          (b) => b.target === "ws-loop" && b.subscribers === count && b.round === r.round,
        );
        return base === undefined ? [] : [r.deliveredPerSecond / base.deliveredPerSecond];
      });
      rows.push({
        target: name,
        subscribers: count,
        messages: /** @type {Result} */ (mine[0]).messages,
        rounds: mine.length,
        deliveredPerSecond: median(mine.map((r) => r.deliveredPerSecond)),
        ratio: ratios.length === 0 ? Number.NaN : median(ratios),
        p50: median(mine.map((r) => r.p50)),
        p99: median(mine.map((r) => r.p99)),
        firstP50: median(mine.map((r) => r.firstP50)),
        complete: mine.every((r) => r.complete),
        compressed: median(mine.map((r) => r.compressed)),
      });
    }
  }
  return rows;
}

const ms = (/** @type {number} */ v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const rows = summary();
const table = [
  "| target | subscribers | messages | rounds | delivered msg/s | × ws-loop | p50 ms | p99 ms | first p50 ms |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (r) =>
      `| ${r.target} | ${r.subscribers.toLocaleString("en")} | ${r.messages} | ${r.rounds} | ${Math.round(r.deliveredPerSecond).toLocaleString("en")}${r.complete ? "" : " (timed out)"} | ${Number.isNaN(r.ratio) ? "" : r.ratio.toFixed(2)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.firstP50)} |`,
  ),
  ...failures.map(
    (f) =>
      `\n${f.target} with ${f.subscribers.toLocaleString("en")} subscribers, round ${f.round}: failed (${f.error})`,
  ),
].join("\n");
const title = `Fan-out${values.deflate ? " with permessage-deflate (server_no_context_takeover)" : ""}, payload ${payload.length} B`;
if (values.json) console.log(JSON.stringify({ results, summary: rows, failures, loadBefore, loadAfter }));
else console.log(`${title}\n\n${table}`);
if (values["results-md"]) {
  const command = `node apps/bench/src/fanout.mjs ${process.argv.slice(2).join(" ")}`;
  const section = values.deflate ? "fanout-deflate" : "fanout";
  writeResultsSection(
    section,
    [
      `## ${title}`,
      "",
      `\`${command}\`, ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, window ${values.window}. ` +
        `Medians over the rounds; "× ws-loop" is the median of the per-round ratios. Load average ` +
        `${loadBefore.map((l) => l.toFixed(1)).join(" / ")} before and ${loadAfter.map((l) => l.toFixed(1)).join(" / ")} after ` +
        "(1 / 5 / 15 min): the absolute figures are noisy on a shared machine, the ratios within the run are what to compare. " +
        "See [README.md](README.md#fan-out-one-publisher-many-subscribers-srcfanoutmjs) for what is measured.",
      ...(before === undefined
        ? []
        : ["", `\`NAME@before\`: the same target run from ${describeCheckout(before)}.`]),
      "",
      table,
    ].join("\n"),
  );
  console.error(`wrote the ${section} section of apps/bench/RESULTS.md`);
}
if (failures.length > 0) process.exitCode = 1;
