// The victim's view while an attack runs: a fresh client (new TCP connection, handshake, one
// echoed message) every 100 ms, and the server's resident memory sampled every 50 ms.
//
// The fresh clients run in a worker thread (probe-worker.mjs), not on the attacker's event loop:
// an attack that keeps the attacking process busy (writing gigabytes, reading floods of pongs)
// would otherwise delay the probe's own callbacks and be counted as the server's latency. The
// attacker's event-loop delay is recorded beside, so a slow probe can be told from a busy
// attacker.

import { monitorEventLoopDelay } from "node:perf_hooks";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { maskedFrame, OP_TEXT } from "../../bench/src/frames.mjs";
import { connect as wsConnect } from "../../bench/src/loadgen.mjs";
import { treeRssKiB } from "../../bench/src/proc.mjs";

/**
 * A fresh client starts this often during an attack: often enough that an attack over in a
 * second on an idle machine is still probed several times, rarely enough that the probes are
 * not a load of their own (one handshake and one echo each).
 */
export const PROBE_INTERVAL_MS = 100;

/**
 * One fresh client: connect, send "probe", wait for its echo. Resolves with the milliseconds
 * it took, or null when it failed or took longer than `timeoutMs`.
 * @param {number} port
 * @param {number} timeoutMs
 * @returns {Promise<number | null>}
 */
export async function freshEcho(port, timeoutMs = 5000) {
  const started = performance.now();
  let conn;
  try {
    conn = await wsConnect({ port, deflate: false, timeoutMs });
  } catch {
    return null;
  }
  const payload = Buffer.from("probe");
  return new Promise((resolve) => {
    let got = conn.rest?.length ?? 0;
    const done = (value) => {
      clearTimeout(timer);
      conn.socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), Math.max(1, timeoutMs - (performance.now() - started)));
    conn.socket.on("error", () => done(null));
    conn.socket.on("close", () => done(null));
    conn.socket.on("data", (chunk) => {
      got += chunk.length;
      if (got >= 2 + payload.length) done(performance.now() - started);
    });
    if (got >= 2 + payload.length) done(performance.now() - started);
    conn.socket.write(maskedFrame(OP_TEXT, payload));
  });
}

/** The wall-clock time in milliseconds, comparable between threads (each has its own `performance.now()`). */
const wallClock = () => performance.timeOrigin + performance.now();

/**
 * One probe: when it started (wall clock, {@link wallClock}) and how long its echo took (null:
 * failed).
 * @typedef {{ startedAt: number, ms: number | null }} Probe
 */

/**
 * Fresh clients one after the other, `count` of them or until `stop` says so, each started
 * `intervalMs` after the previous one started (or at once when it took longer).
 * @param {number} port
 * @param {{ count?: number, intervalMs?: number, stop?: () => boolean }} options
 * @returns {Promise<Probe[]>}
 */
async function probeLoop(
  port,
  { count = Number.POSITIVE_INFINITY, intervalMs = PROBE_INTERVAL_MS, stop = () => false },
) {
  /** @type {Probe[]} */
  const probes = [];
  while (probes.length < count && !stop()) {
    const next = new Promise((resolve) => setTimeout(resolve, intervalMs));
    const startedAt = wallClock();
    probes.push({ startedAt, ms: await freshEcho(port) });
    await next;
  }
  return probes;
}

/**
 * p50 / max of the probes that got their echo, how many did not, and when the worst one
 * started, in seconds after `since` (wall clock): whether a pattern's worst case comes at its
 * start, in its middle or at its end (a wave of connections, a sweep of timeouts, the
 * attacker's teardown) tells what caused it.
 * @param {Probe[]} probes
 * @param {number} [since]
 */
export function summarize(probes, since = 0) {
  const ok = probes
    .filter((p) => p.ms !== null)
    .sort((a, b) => /** @type {number} */ (a.ms) - /** @type {number} */ (b.ms));
  const worst = ok[ok.length - 1];
  return {
    probes: probes.length,
    failed: probes.length - ok.length,
    p50: ok.length > 0 ? /** @type {number} */ (ok[Math.floor(ok.length / 2)]?.ms) : null,
    max: worst === undefined ? null : /** @type {number} */ (worst.ms),
    maxAtS: worst === undefined ? null : (worst.startedAt - since) / 1000,
  };
}

/**
 * The floor: `count` fresh clients against the idle server, before the attack (in a worker
 * thread, like the probes during the attack).
 * @param {number} port
 */
export async function idleEchoes(port, count = 8) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { port, count, intervalMs: 50 } });
  const [echoes] = await Promise.all([
    new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    }),
    new Promise((resolve) => worker.once("exit", resolve)),
  ]);
  return summarize(/** @type {Probe[]} */ (echoes));
}

/**
 * Starts watching: fresh echoes every PROBE_INTERVAL_MS (in a worker thread) and RSS every 50 ms, until
 * `stop()`; also the event-loop delay of this (the attacking) thread meanwhile.
 * @param {number} port
 * @param {number} pid the server's process
 */
export function watchServer(port, pid) {
  let peakKiB = 0;
  const sample = () => {
    const rss = treeRssKiB(pid);
    if (rss !== null) peakKiB = Math.max(peakKiB, rss);
  };
  sample();
  const sampler = setInterval(sample, 50);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  // The attack starts as this returns: the worst probe's time is counted from here.
  const startedAt = wallClock();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { port, intervalMs: PROBE_INTERVAL_MS },
  });
  const echoes = new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    async stop() {
      clearInterval(sampler);
      loopDelay.disable();
      const cpu = process.cpuUsage(cpuBefore);
      // The attacking process's CPU time over the attack's wall time (1 = one core busy).
      const attackerCores = (cpu.user + cpu.system) / 1000 / (performance.now() - started);
      sample();
      worker.postMessage("stop");
      const result = summarize(/** @type {Probe[]} */ (await echoes), startedAt);
      await new Promise((resolve) => (worker.threadId === -1 ? resolve() : worker.once("exit", resolve)));
      return { peakKiB, ...result, attackerLoopDelayMaxMs: loopDelay.max / 1e6, attackerCores };
    },
  };
}

// In the worker: probe until told to stop (or `count` probes), then post the latencies.
if (!isMainThread && workerData?.port !== undefined) {
  let stopping = false;
  parentPort?.on("message", (message) => {
    if (message === "stop") stopping = true;
  });
  const echoes = await probeLoop(workerData.port, {
    count: workerData.count,
    intervalMs: workerData.intervalMs,
    stop: () => stopping,
  });
  parentPort?.postMessage(echoes);
  parentPort?.close();
}
