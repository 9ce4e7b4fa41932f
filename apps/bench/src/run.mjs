// The orchestrator: start every selected target, then run each measurement against all of them
// one after another (scenario by scenario, so slow drift of the machine hits every target
// alike), with the same load generator process. Returns the results as plain JSON data.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { GeneratorProcess } from "./generator-client.mjs";
import { processName, processTree, steadyRss, treeRssKiB } from "./proc.mjs";
import {
  CEILING,
  canNice,
  freePort,
  hasTaskset,
  loadTargets,
  NATIVE_PAIRS,
  REPO_ROOT,
  ServerProcess,
  selectTargets,
} from "./targets.mjs";

export const SCHEMA_VERSION = 1;

/**
 * @typedef {"random" | "json"} Kind what the messages contain: pseudo-random bytes (binary) or
 *   printable characters (text), or compressible JSON-like text (a rotation of 64 variants)
 */
/**
 * @typedef {object} ModeConfig
 * @property {{ connections: number[], sizes: number[], binary: boolean[], kind?: Kind, window: number, warmupMs: number, durationMs: number }} small
 * @property {{ cases: { size: number, connections: number, window: number }[], binary?: boolean, kind?: Kind, warmupMs: number, durationMs: number }} large
 * @property {{ size: number, binary: boolean, kind?: Kind, warmup: number, firstWarmup?: number, samples: number, rounds?: number, maxMs: number }} latency
 *   round trips: `warmup` then `samples` measured, per round; `rounds` rounds (default: the
 *   mode's), the targets interleaved. Short rounds, many of them: the machine's noise (another
 *   process taking the core for a while) then spoils a few rounds of every target rather than
 *   all the samples of one, and the median of the rounds' percentiles leaves it out. The first
 *   round warms up for `firstWarmup` round trips: a JavaScript server's echo path is still being
 *   compiled for the first few thousand (its p99 then falls round after round), and the
 *   comparison is of servers in their steady state
 * @property {{ concurrency: number, warmupMs: number, durationMs: number }} [setup] connection setup
 *   rate: this many clients at a time each connect, handshake, close and start over
 * @property {{ connections: number, warmupConnections: number, settleMs: number, size?: number, binary?: boolean, kind?: Kind }} memory
 *   each connection echoes one message of this shape (default 16 bytes binary); the
 *   warm-up connections are opened (and kept) before the "before" reading
 * @property {number} rounds each throughput and latency measurement is repeated this many times,
 *   targets interleaved, and the median is reported (memory is measured once, on fresh servers)
 */

const KiB = 1024;
const MiB = 1024 * 1024;

/** @type {Record<"full" | "quick" | "tiny", ModeConfig>} */
export const MODES = {
  full: {
    small: {
      connections: [1, 16, 64],
      sizes: [16, KiB],
      binary: [true, false],
      window: 16,
      warmupMs: 250,
      durationMs: 750,
    },
    large: {
      cases: [
        { size: 64 * KiB, connections: 1, window: 8 },
        { size: 64 * KiB, connections: 4, window: 4 },
        { size: MiB, connections: 1, window: 2 },
        { size: MiB, connections: 4, window: 2 },
      ],
      warmupMs: 250,
      durationMs: 750,
    },
    latency: {
      size: 16,
      binary: true,
      warmup: 250,
      firstWarmup: 5000,
      samples: 2000,
      rounds: 8,
      maxMs: 10_000,
    },
    setup: { concurrency: 16, warmupMs: 250, durationMs: 1000 },
    memory: { connections: 10_000, warmupConnections: 600, settleMs: 3000 },
    rounds: 3,
  },
  quick: {
    small: {
      connections: [1, 64],
      sizes: [16, KiB],
      binary: [true, false],
      window: 16,
      warmupMs: 100,
      durationMs: 400,
    },
    large: {
      cases: [
        { size: 64 * KiB, connections: 2, window: 4 },
        { size: MiB, connections: 2, window: 2 },
      ],
      warmupMs: 100,
      durationMs: 400,
    },
    latency: {
      size: 16,
      binary: true,
      warmup: 200,
      firstWarmup: 2000,
      samples: 1000,
      rounds: 3,
      maxMs: 5000,
    },
    setup: { concurrency: 16, warmupMs: 150, durationMs: 500 },
    memory: { connections: 400, warmupConnections: 600, settleMs: 1000 },
    rounds: 1,
  },
  // The smoke test's mode: one scenario of each kind, well under a second each.
  tiny: {
    small: { connections: [4], sizes: [16], binary: [true], window: 8, warmupMs: 150, durationMs: 500 },
    large: { cases: [{ size: 64 * KiB, connections: 1, window: 2 }], warmupMs: 150, durationMs: 500 },
    latency: { size: 16, binary: true, warmup: 100, samples: 500, maxMs: 3000 },
    setup: { concurrency: 4, warmupMs: 100, durationMs: 300 },
    memory: { connections: 50, warmupConnections: 10, settleMs: 500 },
    rounds: 1,
  },
};

/**
 * The measurements of a `--deflate` run: compressible JSON-like text above the servers' 1 KiB
 * threshold (2 KiB and 16 KiB, and 64 KiB as "large"), so that both directions are really
 * compressed; memory is measured after each connection echoed one such message, so the zlib
 * streams that context takeover keeps exist.
 * @type {Record<"full" | "quick" | "tiny", ModeConfig>}
 */
export const DEFLATE_MODES = {
  full: {
    small: {
      connections: [1, 16, 64],
      sizes: [2 * KiB, 16 * KiB],
      binary: [false],
      kind: "json",
      window: 16,
      warmupMs: 250,
      durationMs: 750,
    },
    large: {
      cases: [
        { size: 64 * KiB, connections: 1, window: 8 },
        { size: 64 * KiB, connections: 4, window: 4 },
      ],
      binary: false,
      kind: "json",
      warmupMs: 250,
      durationMs: 750,
    },
    latency: {
      size: 2 * KiB,
      binary: false,
      kind: "json",
      warmup: 250,
      firstWarmup: 5000,
      samples: 2000,
      rounds: 8,
      maxMs: 10_000,
    },
    memory: {
      connections: 1000,
      warmupConnections: 600,
      settleMs: 3000,
      size: 2 * KiB,
      binary: false,
      kind: "json",
    },
    rounds: 3,
  },
  quick: {
    small: {
      connections: [1, 64],
      sizes: [2 * KiB, 16 * KiB],
      binary: [false],
      kind: "json",
      window: 16,
      warmupMs: 100,
      durationMs: 400,
    },
    large: {
      cases: [{ size: 64 * KiB, connections: 2, window: 4 }],
      binary: false,
      kind: "json",
      warmupMs: 100,
      durationMs: 400,
    },
    latency: {
      size: 2 * KiB,
      binary: false,
      kind: "json",
      warmup: 200,
      firstWarmup: 2000,
      samples: 1000,
      rounds: 3,
      maxMs: 5000,
    },
    memory: {
      connections: 400,
      warmupConnections: 600,
      settleMs: 1000,
      size: 2 * KiB,
      binary: false,
      kind: "json",
    },
    rounds: 1,
  },
  tiny: {
    small: {
      connections: [4],
      sizes: [2 * KiB],
      binary: [false],
      kind: "json",
      window: 8,
      warmupMs: 150,
      durationMs: 500,
    },
    large: {
      cases: [{ size: 64 * KiB, connections: 1, window: 2 }],
      binary: false,
      kind: "json",
      warmupMs: 150,
      durationMs: 500,
    },
    latency: { size: 2 * KiB, binary: false, kind: "json", warmup: 100, samples: 500, maxMs: 3000 },
    memory: {
      connections: 50,
      warmupConnections: 10,
      settleMs: 500,
      size: 2 * KiB,
      binary: false,
      kind: "json",
    },
    rounds: 1,
  },
};

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {"small" | "large" | "latency" | "setup" | "memory"} group
 * @property {string} label
 * @property {Record<string, unknown>} params
 */

/** @param {number} n */
export const sizeLabel = (n) =>
  n >= MiB && n % MiB === 0 ? `${n / MiB} MiB` : n >= KiB && n % KiB === 0 ? `${n / KiB} KiB` : `${n} B`;

/**
 * "2 KiB JSON text", "16 B binary".
 * @param {number} size
 * @param {boolean} binary
 * @param {Kind | undefined} kind
 */
export const messageLabel = (size, binary, kind) =>
  `${sizeLabel(size)} ${kind === "json" ? "JSON text" : binary ? "binary" : "text"}`;

/** @param {boolean} binary @param {Kind | undefined} kind */
const kindId = (binary, kind) => (kind === "json" ? "json" : binary ? "binary" : "text");

/**
 * The measurements of a mode, in the order they run (memory first, while servers are fresh).
 * @param {ModeConfig} m
 * @param {{ connectionsLimit: number }} limits
 * @returns {Scenario[]}
 */
export function scenarios(m, { connectionsLimit }) {
  /** @type {Scenario[]} */
  const out = [];
  const memConns = Math.min(m.memory.connections, connectionsLimit);
  const mem = { size: m.memory.size ?? 16, binary: m.memory.binary ?? true, kind: m.memory.kind ?? "random" };
  out.push({
    id: `memory-c${memConns}${mem.kind === "json" ? `-json-${mem.size}` : ""}`,
    group: "memory",
    label: `${memConns} idle connections`,
    params: {
      connections: memConns,
      warmupConnections: Math.min(m.memory.warmupConnections, Math.max(0, connectionsLimit - memConns)),
      settleMs: m.memory.settleMs,
      ...mem,
    },
  });
  const lat = m.latency;
  out.push({
    id: `latency-${kindId(lat.binary, lat.kind)}-${lat.size}`,
    group: "latency",
    label: `${messageLabel(lat.size, lat.binary, lat.kind)}, 1 connection, 1 in flight`,
    params: { ...lat, kind: lat.kind ?? "random" },
  });
  if (m.setup !== undefined) {
    out.push({
      id: `setup-c${m.setup.concurrency}`,
      group: "setup",
      label: `connect + handshake + close, ${m.setup.concurrency} clients at a time`,
      params: { ...m.setup },
    });
  }
  const kind = m.small.kind ?? "random";
  for (const size of m.small.sizes) {
    for (const binary of m.small.binary) {
      for (const connections of m.small.connections) {
        out.push({
          id: `small-${kindId(binary, kind)}-${size}-c${connections}-w${m.small.window}`,
          group: "small",
          label: `${messageLabel(size, binary, kind)}, ${connections} conn × ${m.small.window}`,
          params: {
            size,
            binary,
            kind,
            connections,
            window: m.small.window,
            warmupMs: m.small.warmupMs,
            durationMs: m.small.durationMs,
          },
        });
      }
    }
  }
  const largeBinary = m.large.binary ?? true;
  const largeKind = m.large.kind ?? "random";
  for (const c of m.large.cases) {
    out.push({
      id: `large-${kindId(largeBinary, largeKind)}-${c.size}-c${c.connections}-w${c.window}`,
      group: "large",
      label: `${messageLabel(c.size, largeBinary, largeKind)}, ${c.connections} conn × ${c.window}`,
      params: {
        size: c.size,
        binary: largeBinary,
        kind: largeKind,
        connections: c.connections,
        window: c.window,
        warmupMs: m.large.warmupMs,
        durationMs: m.large.durationMs,
      },
    });
  }
  return out;
}

/** The soft limit on open files of this process (targets inherit it). */
function openFilesLimit() {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"));
    if (m !== null) return m[1] === "unlimited" ? 1 << 20 : Number(m[1]);
  } catch {
    // not Linux
  }
  return 1024;
}

/**
 * @param {string} file
 * @param {string[]} args
 */
function versionOf(file, args) {
  const path = resolve(REPO_ROOT, file);
  if (!existsSync(path)) return null;
  try {
    return (
      execFileSync(path, args, { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] })
        .split("\n")[0]
        ?.trim() ?? null
    );
  } catch {
    return null;
  }
}

export function clockTicks() {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 2000 }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until RSS stops moving (two reads 200 ms apart within 0.5 %), at most `maxMs`.
 * @param {number} pid
 * @param {number} maxMs
 */
async function settledRss(pid, maxMs) {
  const deadline = Date.now() + maxMs;
  await sleep(Math.min(300, maxMs));
  let last = treeRssKiB(pid);
  while (Date.now() < deadline) {
    await sleep(200);
    const now = treeRssKiB(pid);
    if (now === null || last === null) return now;
    if (Math.abs(now - last) <= last * 0.005) return now;
    last = now;
  }
  return last;
}

/**
 * @typedef {object} RunOptions
 * @property {"full" | "quick" | "tiny"} mode
 * @property {string[] | null} targets names asked for (null: all but the ceiling)
 * @property {string} baseline
 * @property {boolean} deflate
 * @property {boolean | null} ceiling also run tcp-ceiling (null: in full runs only)
 * @property {boolean} pin pin server and generator to separate cores when possible
 * @property {number | null} nice run server and generator at this niceness (null: unchanged)
 * @property {number | null} durationMs override for the throughput measurements
 * @property {number | null} warmupMs override for the throughput warm-up
 * @property {string[] | null} [only] run only the scenarios of these groups
 * @property {(line: string) => void} log progress
 */

/**
 * @param {RunOptions} o
 */
export async function runBench(o) {
  const startedAt = new Date();
  const log = o.log;
  const { targets: available, notes } = loadTargets();
  const { selected, notes: selectionNotes } = selectTargets(available, {
    names: o.targets,
    baseline: o.baseline,
    ceiling: o.ceiling ?? o.mode === "full",
  });
  notes.push(...selectionNotes);

  const mode = structuredClone((o.deflate ? DEFLATE_MODES : MODES)[o.mode]);
  if (o.durationMs !== null) mode.small.durationMs = mode.large.durationMs = o.durationMs;
  if (o.warmupMs !== null) mode.small.warmupMs = mode.large.warmupMs = o.warmupMs;

  const cpus = os.cpus();
  const pinned = o.pin && cpus.length >= 2 && hasTaskset();
  if (o.pin && !pinned)
    notes.push(
      cpus.length < 2
        ? "one CPU: server and generator share it"
        : "taskset not found: processes are not pinned",
    );
  let nice = o.nice;
  if (nice !== null && !canNice(nice)) {
    notes.push(`not allowed to run at niceness ${nice}: the priority is unchanged`);
    nice = null;
  }
  const serverCpu = pinned ? 0 : null;
  const generatorCpu = pinned ? 1 : null;
  const nofile = openFilesLimit();
  const groups = ["small", "large", "latency", "setup", "memory"];
  const unknownGroups = (o.only ?? []).filter((g) => !groups.includes(g));
  if (unknownGroups.length > 0)
    throw new TypeError(
      `unknown measurement group(s) ${unknownGroups.join(", ")}; known: ${groups.join(", ")}`,
    );
  const plan = scenarios(mode, { connectionsLimit: Math.max(10, nofile - 256) }).filter(
    (sc) => o.only === null || o.only === undefined || o.only.includes(sc.group),
  );
  const ticks = clockTicks();

  const machine = {
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? "unknown",
    cpus: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    openFilesLimit: nofile,
    pinning: pinned ? { server: serverCpu, generator: generatorCpu } : null,
    nice,
    versions: {
      node: process.version,
      deno: versionOf("node_modules/deno/deno", ["--version"]),
      bun: versionOf("node_modules/bun/bin/bun.exe", ["--version"]),
    },
  };

  /**
   * @typedef {object} TargetState
   * @property {string} name
   * @property {string} command
   * @property {string} source
   * @property {"ok" | "failed" | "n/a"} status "n/a": a --deflate run and the target has no
   *   permessage-deflate (a reference server without it): not measured
   * @property {string | null} error
   * @property {ServerProcess | null} server
   * @property {number} port
   * @property {string | null} banner
   * @property {string | null} extensions
   * @property {{ echoCompressed: boolean, verified: boolean, compressedBytes: number[] } | null} deflateCheck
   *   what the probe saw of two compressed 2 KiB messages (--deflate)
   * @property {string[]} processes
   */
  /** @type {TargetState[]} */
  const states = [];
  /** @type {Record<string, Record<string, any>>} */
  const values = {};

  /** @type {{ current: GeneratorProcess | null }} */
  const gens = { current: null };
  const newGenerator = () => {
    gens.current?.kill();
    gens.current = new GeneratorProcess({ cpu: generatorCpu, nice });
    return gens.current;
  };

  try {
    /**
     * Start (or start again) one target's server on a new free port.
     * @param {TargetState} st
     * @param {string} command the target's command with `{port}` still in it
     */
    const startServer = async (st, command) => {
      st.port = await freePort();
      const line = command.replaceAll("{port}", String(st.port));
      log(`starting ${st.name}: ${line}`);
      try {
        st.server = new ServerProcess(line, { cpu: serverCpu, nice });
        await st.server.waitReady(st.port, 20_000);
        st.banner = st.server.firstLine;
      } catch (err) {
        st.status = "failed";
        st.error = /** @type {Error} */ (err).message;
        log(`  ${st.name} did not start: ${st.error.split("\n")[0]}`);
        await st.server?.stop();
      }
    };
    /** @type {Map<TargetState, string>} */
    const commands = new Map();

    // Start every target (on its own free port), one after another.
    for (const spec of selected) {
      const command = spec.command + (o.deflate ? " --deflate" : "");
      /** @type {TargetState} */
      const st = {
        name: spec.name,
        command,
        source: spec.source,
        status: "ok",
        error: null,
        server: null,
        port: 0,
        banner: null,
        extensions: null,
        deflateCheck: null,
        processes: [],
      };
      states.push(st);
      commands.set(st, command);
      await startServer(st, command);
    }

    let gen = newGenerator();
    /**
     * Run a job; on a timeout replace the generator so the next job starts clean.
     * @param {{ type: string, [k: string]: unknown }} job
     * @param {number} timeoutMs
     * @returns {Promise<any>}
     */
    const runJob = async (job, timeoutMs) => {
      try {
        return await gen.run(job, timeoutMs);
      } catch (err) {
        if (gen.exited || /timed out/.test(/** @type {Error} */ (err).message)) gen = newGenerator();
        throw err;
      }
    };

    const alive = () => states.filter((s) => s.status === "ok");
    /** @param {TargetState} st */
    const checkAlive = (st) => {
      if (st.status === "ok" && st.server !== null && st.server.exitCode !== null) {
        st.status = "failed";
        st.error = `exited with code ${st.server.exitCode} during the run\n${st.server.output.slice(-2000)}`;
        log(`  ${st.name} exited during the run`);
      }
    };

    // Probe: one text and one binary echo; records what was negotiated.
    for (const st of alive()) {
      try {
        const r = await runJob({ type: "probe", port: st.port, deflate: o.deflate }, 15_000);
        st.extensions = r.extensions;
        st.deflateCheck = r.deflateCheck ?? null;
        const pid = /** @type {number} */ (st.server?.pid);
        st.processes = processTree(pid).map((p) => `${p} ${processName(p) ?? "?"}`);
        log(
          `  ${st.name}: echo ok${r.extensions ? `, extensions: ${r.extensions}` : ""}` +
            `${st.deflateCheck ? `, 2 KiB echoes ${st.deflateCheck.echoCompressed ? "compressed" : "NOT compressed"} (${st.deflateCheck.compressedBytes.join(", ")} bytes), verified` : ""}` +
            `; processes: ${st.processes.join(", ")}`,
        );
        if (o.deflate && !r.compressed && st.name !== CEILING) {
          // Our servers and the baseline must negotiate it; a reference server may lack it.
          if (st.source === "apps/echo/targets.json" || st.name === o.baseline) {
            st.status = "failed";
            st.error = "did not negotiate permessage-deflate with --deflate";
          } else {
            st.status = "n/a";
            notes.push(`${st.name} did not negotiate permessage-deflate: not measured (n/a)`);
          }
          log(`  ${st.name}: no permessage-deflate: ${st.status}`);
          await st.server?.stop();
        }
      } catch (err) {
        st.status = "failed";
        st.error = `echo probe failed: ${/** @type {Error} */ (err).message}`;
        log(`  ${st.name}: ${st.error}`);
      }
      checkAlive(st);
    }

    /**
     * One measurement of one target.
     * @param {Scenario} sc
     * @param {TargetState} st
     * @param {number} round which round of the scenario (from 0)
     * @returns {Promise<Record<string, any>>}
     */
    const measure = async (sc, st, round) => {
      const pid = /** @type {number} */ (st.server?.pid);
      if (sc.group === "memory") {
        const open = (/** @type {number} */ count, /** @type {boolean} */ add) =>
          runJob(
            {
              type: "memoryOpen",
              port: st.port,
              deflate: o.deflate,
              count,
              add,
              size: sc.params.size,
              binary: sc.params.binary,
              kind: sc.params.kind,
            },
            120_000,
          );
        // Warm-up connections first, kept open: one-time costs (compiling the handshake and
        // echo paths, growing the heap's first pages) are then in "before", not charged to the
        // measured connections.
        const warmup = /** @type {number} */ (sc.params.warmupConnections);
        const settleMs = /** @type {number} */ (sc.params.settleMs);
        // Each reading twice: as the process is (garbage the handshakes left included, as much
        // as its collector has not reached yet: that varies from run to run), then after a
        // full GC asked for over the `/gc` control path, once RSS has settled (the allocator
        // gives freed pages back over the next moments). The figure is the second one when the
        // server has the control path; the JavaScript heap it reports is shown beside it.
        /** @returns {Promise<{ heapUsed: number } | null>} */
        const collect = () => runJob({ type: "collectGarbage", port: st.port }, 15_000);
        if (warmup > 0) await open(warmup, false);
        const beforeNoGc = await steadyRss(pid);
        const gcBefore = await collect();
        const before = gcBefore === null ? beforeNoGc : await settledRss(pid, settleMs);
        const opened = await open(/** @type {number} */ (sc.params.connections), warmup > 0);
        const afterNoGc = await settledRss(pid, settleMs);
        const gcAfter = gcBefore === null ? null : await collect();
        const after = gcAfter === null ? afterNoGc : await settledRss(pid, settleMs);
        await runJob({ type: "memoryClose" }, 10_000);
        if (before === null || after === null || beforeNoGc === null || afterNoGc === null)
          throw new Error("could not read the server's RSS");
        const n = opened.opened;
        return {
          connections: n,
          echoCompressedShare: opened.echoCompressedShare,
          echoWireRatio: opened.echoWireRatio,
          warmupConnections: warmup,
          forcedGc: gcAfter !== null,
          rssBeforeKiB: before,
          rssAfterKiB: after,
          rssNoGcBeforeKiB: beforeNoGc,
          rssNoGcAfterKiB: afterNoGc,
          noGcKiB: (afterNoGc - beforeNoGc) / n,
          heapKiB:
            gcBefore !== null && gcAfter !== null ? (gcAfter.heapUsed - gcBefore.heapUsed) / 1024 / n : null,
          value: (after - before) / n,
        };
      }
      if (sc.group === "latency") {
        // The first round warms the server's echo path up for longer (see `firstWarmup`).
        const warmup = round === 0 ? (sc.params.firstWarmup ?? sc.params.warmup) : sc.params.warmup;
        const r = await runJob(
          { type: "latency", port: st.port, deflate: o.deflate, ...sc.params, warmup },
          /** @type {number} */ (sc.params.maxMs) + 15_000,
        );
        return { ...r, value: r.p50 };
      }
      if (sc.group === "setup") {
        const r = await runJob(
          {
            type: "setupRate",
            port: st.port,
            deflate: o.deflate,
            serverPid: pid,
            clockTicks: ticks,
            ...sc.params,
          },
          /** @type {number} */ (sc.params.warmupMs) + /** @type {number} */ (sc.params.durationMs) + 30_000,
        );
        if (r.connections === 0) throw new Error("no connection completed during the measurement");
        return { ...r, value: r.connectionsPerSecond };
      }
      const p = sc.params;
      const r = await runJob(
        {
          type: "throughput",
          port: st.port,
          deflate: o.deflate,
          // tcp-ceiling echoes bytes unread: send it the same compressed frames as the others
          compressFrames: o.deflate && st.name === CEILING,
          serverPid: pid,
          clockTicks: ticks,
          ...p,
        },
        /** @type {number} */ (p.warmupMs) + /** @type {number} */ (p.durationMs) + 30_000,
      );
      if (r.messages === 0) throw new Error("no messages echoed during the measurement");
      return { ...r, value: sc.group === "small" ? r.messagesPerSecond : r.megabytesPerSecond };
    };

    /** @type {string | null} */
    let previousGroup = null;
    for (const sc of plan) {
      if (previousGroup !== null && sc.group !== previousGroup) {
        // Each group on freshly started servers: what one group leaves in a server process
        // (10,000 connections' worth of heap growth after the memory group, thousands of
        // closed connections after setup) otherwise decides whether the next group meets a
        // garbage collector in a full-GC loop, for one target and not another, by luck.
        log(`restarting every server before the ${sc.group} group`);
        for (const st of alive()) {
          await st.server?.stop();
          await startServer(st, /** @type {string} */ (commands.get(st)));
        }
      }
      previousGroup = sc.group;
      log(`${sc.group}: ${sc.label}`);
      const rounds =
        sc.group === "memory"
          ? 1
          : sc.group === "latency"
            ? /** @type {number} */ (sc.params.rounds ?? mode.rounds)
            : mode.rounds;
      /** @type {Map<string, Record<string, any>[]>} */
      const runs = new Map();
      for (let round = 0; round < rounds; round++) {
        // Interleave the targets, starting each round with a different one.
        const list = alive();
        const order = list.map((_, i) => /** @type {TargetState} */ (list[(i + round) % list.length]));
        for (const st of order) {
          // tcp-ceiling echoes the close frame instead of closing: no lifecycle to measure.
          if (sc.group === "setup" && st.name === CEILING) continue;
          /** @type {Record<string, any>} */
          let v;
          try {
            v = await measure(sc, st, round);
            log(`  ${st.name.padEnd(12)} ${describe(sc, v)}`);
          } catch (err) {
            v = { error: /** @type {Error} */ (err).message };
            log(`  ${st.name.padEnd(12)} error: ${v.error}`);
          }
          runs.set(st.name, [...(runs.get(st.name) ?? []), v]);
          checkAlive(st);
          await sleep(sc.group === "memory" ? 500 : 200); // let the server finish tearing down
        }
      }
      const cell = values[sc.id] ?? {};
      for (const [name, list] of runs)
        cell[name] = sc.group === "latency" ? combineLatencyRounds(list) : combineRounds(list);
      values[sc.id] = cell;
    }
  } finally {
    await gens.current?.stop();
    await Promise.all(states.map((s) => s.server?.stop()));
  }

  const names = states.map((s) => s.name);
  return {
    schema: SCHEMA_VERSION,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    mode: o.mode,
    options: { deflate: o.deflate, baseline: o.baseline, targets: names },
    machine,
    generator:
      "one Node.js process on raw node:net sockets: precomputed masked frames (fixed key), a minimal " +
      "incremental frame reader that counts messages without copying payloads; the same for every target" +
      (o.deflate
        ? ". With permessage-deflate it sends each message compressed on its own (no context takeover on its " +
          "side: always valid for the server), precompressed once, from a rotation of 64 distinct JSON-like " +
          "messages; it does not inflate the echoes but counts how many came back compressed and their bytes " +
          "(the probe inflates two and compares)"
        : ""),
    rounds: mode.rounds,
    notes,
    baseline: o.baseline,
    comparisons: NATIVE_PAIRS.filter(([a, b]) => names.includes(a) && names.includes(b)).map(([a, b]) => ({
      target: a,
      against: b,
    })),
    targets: states.map((s) => ({
      name: s.name,
      command: s.command,
      source: s.source,
      status: s.status,
      error: s.error,
      banner: s.banner,
      extensions: s.extensions,
      deflateCheck: s.deflateCheck,
      processes: s.processes,
      note:
        s.name === CEILING
          ? "not a WebSocket server: handshake, then raw TCP echo (the generator's ceiling)"
          : null,
    })),
    scenarios: plan.map((s) => ({
      ...s,
      unit:
        s.group === "small"
          ? "messages/s"
          : s.group === "large"
            ? "MB/s"
            : s.group === "latency"
              ? "µs (p50)"
              : s.group === "setup"
                ? "connections/s"
                : "KiB/connection",
      better: s.group === "latency" || s.group === "memory" ? "lower" : "higher",
      values: values[s.id] ?? {},
    })),
  };
}

/**
 * The median round (by `value`) of a target's repeated measurements, with every round's value.
 * Rounds that failed are counted; the cell is an error only when every round failed.
 * @param {Record<string, any>[]} list
 * @returns {Record<string, any>}
 */
export function combineRounds(list) {
  const ok = list.filter((v) => v.error === undefined).sort((a, b) => a.value - b.value);
  const failed = list.length - ok.length;
  if (ok.length === 0) return { error: list.map((v) => v.error).join("; ") };
  const median = /** @type {Record<string, any>} */ (ok[Math.floor((ok.length - 1) / 2)]);
  if (list.length === 1) return median;
  return {
    ...median,
    rounds: list.map((v) => (v.error === undefined ? v.value : null)),
    ...(failed > 0
      ? { failedRounds: failed, roundErrors: list.filter((v) => v.error !== undefined).map((v) => v.error) }
      : {}),
  };
}

/** Fields of a latency round combined across rounds (each the median of its rounds). */
const LATENCY_FIELDS = ["p50", "p90", "p99", "mean", "min", "max"];

/**
 * A target's latency rounds: each percentile (and the mean) is the median of the rounds' values,
 * so that a few rounds spoiled by other work on the machine do not decide it; `p99Rounds` keeps
 * every round's p99 (its spread says how far one run's p99 can be trusted), `rounds` every
 * round's p50 (the scenario's value) as for the other groups, and `samples` counts all rounds.
 * @param {Record<string, any>[]} list
 * @returns {Record<string, any>}
 */
export function combineLatencyRounds(list) {
  const ok = list.filter((v) => v.error === undefined);
  const failed = list.length - ok.length;
  if (ok.length === 0) return { error: list.map((v) => v.error).join("; ") };
  if (list.length === 1) return /** @type {Record<string, any>} */ (ok[0]);
  /** @param {number[]} xs */
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 === 1 ? Number(s[mid]) : (Number(s[mid - 1]) + Number(s[mid])) / 2;
  };
  /** @type {Record<string, any>} */
  const out = { ...ok[0] };
  for (const f of LATENCY_FIELDS) out[f] = median(ok.map((v) => v[f]));
  out.samples = ok.reduce((sum, v) => sum + v.samples, 0);
  out.mismatches = ok.reduce((sum, v) => sum + (v.mismatches ?? 0), 0);
  out.value = out.p50;
  out.rounds = list.map((v) => (v.error === undefined ? v.value : null));
  out.p99Rounds = list.map((v) => (v.error === undefined ? v.p99 : null));
  if (failed > 0) {
    out.failedRounds = failed;
    out.roundErrors = list.filter((v) => v.error !== undefined).map((v) => v.error);
  }
  return out;
}

/**
 * @param {Scenario} sc
 * @param {Record<string, any>} v
 */
function describe(sc, v) {
  const pct = (/** @type {number | null} */ x) =>
    x === null || x === undefined ? "?" : `${Math.round(x * 100)}%`;
  if (sc.group === "memory")
    return (
      `${v.value.toFixed(2)} KiB/conn ${v.forcedGc ? "after GC" : "(no GC: the server has no /gc)"} ` +
      `(RSS ${(v.rssBeforeKiB / 1024).toFixed(1)} → ${(v.rssAfterKiB / 1024).toFixed(1)} MiB` +
      `${typeof v.heapKiB === "number" ? `; JS heap ${v.heapKiB.toFixed(2)} KiB/conn` : ""}` +
      `; before GC ${v.noGcKiB.toFixed(2)} KiB/conn` +
      `${typeof v.echoCompressedShare === "number" && v.echoCompressedShare > 0 ? `, ${pct(v.echoCompressedShare)} of echoes compressed` : ""})`
    );
  if (sc.group === "latency")
    return `p50 ${v.p50.toFixed(1)} µs, p99 ${v.p99.toFixed(1)} µs (${v.samples} round trips)`;
  if (sc.group === "setup")
    return `${Math.round(v.connectionsPerSecond).toLocaleString("en-US")} connections/s  (CPU: server ${pct(v.serverCpu)}, generator ${pct(v.generatorCpu)}, everything else ${pct(v.otherCpu)})${v.errors > 0 ? ` [${v.errors} failed]` : ""}`;
  const main =
    sc.group === "small"
      ? `${Math.round(v.messagesPerSecond).toLocaleString("en-US")} msg/s`
      : `${v.megabytesPerSecond.toFixed(1)} MB/s`;
  const deflate =
    typeof v.echoCompressedShare === "number" && v.echoCompressedShare > 0
      ? `, ${pct(v.echoCompressedShare)} of echoes compressed to ${pct(v.echoWireRatio)}`
      : "";
  const warn =
    (v.mismatches ?? 0) > 0 || (v.errors ?? 0) > 0
      ? ` [${v.mismatches} bad lengths, ${v.errors} socket errors]`
      : "";
  return `${main}  (CPU: server ${pct(v.serverCpu)}, generator ${pct(v.generatorCpu)}, everything else ${pct(v.otherCpu)}${deflate})${warn}`;
}
