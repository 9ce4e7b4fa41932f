// The soak: per target, on a freshly started server, a few connections echo a large number of
// (compressed) messages while the server's RSS is sampled; the question is whether memory keeps
// growing with the number of messages once warmed up. See apps/bench/README.md ("Soak").

import os from "node:os";
import { GeneratorProcess } from "./generator-client.mjs";
import { processName, processTree, steadyRss, treeRssKiB } from "./proc.mjs";
import { clockTicks, messageLabel } from "./run.mjs";
import { canNice, freePort, hasTaskset, loadTargets, ServerProcess } from "./targets.mjs";

export const SOAK_SCHEMA_VERSION = 1;

/**
 * @typedef {object} SoakOptions
 * @property {string[]} targets names, run one after another, each on a fresh server
 * @property {boolean} deflate
 * @property {number} messages echoed messages per target, all connections together
 * @property {number} connections
 * @property {number} window messages in flight per connection
 * @property {number} size bytes per message
 * @property {"json" | "random"} kind
 * @property {boolean} binary
 * @property {number} sampleEvery read the server's RSS every this many echoed messages
 * @property {number} warmupMessages the samples from here on are used for the slope
 * @property {number} maxMs per target: the soak stops there and reports what it reached
 * @property {boolean} pin
 * @property {number | null} nice
 * @property {(line: string) => void} log
 */

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Least-squares line through (messages, RSS) of the samples after warm-up: the slope in KiB per
 * 100 000 messages, the residual standard deviation (the noise), the fitted growth over the
 * span, and a verdict: "flat" when that growth is within max(2 × noise, 2 % of the RSS after
 * warm-up), else "grows" (or "shrinks").
 * @param {{ messages: number, rssKiB: number | null }[]} samples
 * @param {number} warmupMessages
 */
export function analyse(samples, warmupMessages) {
  const pts = samples
    .filter((s) => s.messages >= warmupMessages && typeof s.rssKiB === "number")
    .map((s) => ({ x: s.messages / 100_000, y: /** @type {number} */ (s.rssKiB) }));
  if (pts.length < 3) return null;
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.x, 0) / n;
  const my = pts.reduce((a, p) => a + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of pts) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const residuals = pts.map((p) => p.y - (intercept + slope * p.x));
  const noise = Math.sqrt(residuals.reduce((a, r) => a + r * r, 0) / Math.max(1, n - 2));
  const firstPt = /** @type {{ x: number, y: number }} */ (pts[0]);
  const lastPt = /** @type {{ x: number, y: number }} */ (pts[n - 1]);
  const span = lastPt.x - firstPt.x;
  const growth = slope * span;
  const tolerance = Math.max(2 * noise, 0.02 * firstPt.y);
  return {
    points: n,
    slopeKiBPer100k: slope,
    noiseKiB: noise,
    spanMessages: span * 100_000,
    growthKiB: growth,
    toleranceKiB: tolerance,
    verdict: Math.abs(growth) <= tolerance ? "flat" : growth > 0 ? "grows" : "shrinks",
  };
}

/**
 * @param {SoakOptions} o
 */
export async function runSoak(o) {
  const startedAt = new Date();
  const log = o.log;
  const { targets: available, notes } = loadTargets();
  const unknown = o.targets.filter((n) => !available.has(n));
  if (unknown.length > 0)
    throw new Error(
      `unknown target(s) ${unknown.join(", ")}; available: ${[...available.keys()].join(", ")}`,
    );
  const cpus = os.cpus();
  const pinned = o.pin && cpus.length >= 2 && hasTaskset();
  let nice = o.nice;
  if (nice !== null && !canNice(nice)) {
    notes.push(`not allowed to run at niceness ${nice}: the priority is unchanged`);
    nice = null;
  }
  const serverCpu = pinned ? 0 : null;
  const generatorCpu = pinned ? 1 : null;
  /** @type {Record<string, any>[]} */
  const results = [];
  for (const name of o.targets) {
    const spec = /** @type {import("./targets.mjs").TargetSpec} */ (available.get(name));
    /** @type {Record<string, any>} */
    const r = {
      name,
      command: spec.command + (o.deflate ? " --deflate" : ""),
      source: spec.source,
      status: "ok",
      error: null,
      extensions: null,
      deflateCheck: null,
      processes: [],
    };
    results.push(r);
    /** @type {ServerProcess | null} */
    let server = null;
    /** @type {GeneratorProcess | null} */
    let gen = null;
    try {
      const port = await freePort();
      const command = spec.command.replaceAll("{port}", String(port)) + (o.deflate ? " --deflate" : "");
      log(`starting ${name}: ${command}`);
      server = new ServerProcess(command, { cpu: serverCpu, nice });
      await server.waitReady(port, 20_000);
      const pid = /** @type {number} */ (server.pid);
      gen = new GeneratorProcess({ cpu: generatorCpu, nice });
      const rssStartKiB = await steadyRss(pid);
      const probe = await gen.run({ type: "probe", port, deflate: o.deflate }, 15_000);
      r.extensions = probe.extensions;
      r.deflateCheck = probe.deflateCheck ?? null;
      r.processes = processTree(pid).map((p) => `${p} ${processName(p) ?? "?"}`);
      if (o.deflate && !probe.compressed) {
        r.status = "n/a";
        log(`  ${name}: no permessage-deflate negotiated: n/a`);
        continue;
      }
      log(
        `  ${name}: echo ok${probe.extensions ? `, extensions: ${probe.extensions}` : ""}; RSS at start ` +
          `${((rssStartKiB ?? 0) / 1024).toFixed(1)} MiB; ${o.messages.toLocaleString("en-US")} messages…`,
      );
      const ticks = clockTicks();
      const soak = await gen.run(
        {
          type: "soak",
          port,
          deflate: o.deflate,
          connections: o.connections,
          window: o.window,
          size: o.size,
          binary: o.binary,
          kind: o.kind,
          messages: o.messages,
          sampleEvery: o.sampleEvery,
          serverPid: pid,
          clockTicks: ticks,
          maxMs: o.maxMs,
          idleMs: 2000,
        },
        o.maxMs + 60_000,
      );
      await sleep(1000);
      const rssAfterCloseKiB = treeRssKiB(pid);
      /** @type {{ messages: number, elapsedMs: number, rssKiB: number | null, serverCpuTicks: number | null }[]} */
      const samples = soak.samples;
      const atOrAfter = (/** @type {number} */ m) => samples.find((s) => s.messages >= m) ?? null;
      const warm = atOrAfter(o.warmupMessages);
      const last = samples[samples.length - 1] ?? null;
      const first = samples[0] ?? null;
      const cpuSeconds =
        first?.serverCpuTicks != null && last?.serverCpuTicks != null
          ? (last.serverCpuTicks - first.serverCpuTicks) / ticks
          : null;
      Object.assign(r, {
        messages: soak.messages,
        seconds: soak.seconds,
        messagesPerSecond: soak.messagesPerSecond,
        messagesPerSecondAfterWarmup:
          warm !== null && last !== null && last.elapsedMs > warm.elapsedMs
            ? (last.messages - warm.messages) / ((last.elapsedMs - warm.elapsedMs) / 1000)
            : null,
        serverCpu: cpuSeconds === null ? null : cpuSeconds / soak.seconds,
        timedOut: soak.timedOut,
        rssStartKiB,
        rssConnectedKiB: first?.rssKiB ?? null,
        rssAfterWarmupKiB: warm?.rssKiB ?? null,
        rssEndKiB: last?.rssKiB ?? null,
        rssIdleKiB: soak.idleRssKiB,
        rssAfterCloseKiB,
        rssPeakKiB: Math.max(...samples.map((s) => s.rssKiB ?? 0)),
        samples,
        trend: analyse(samples, o.warmupMessages),
        echoCompressedShare: soak.echoCompressedShare,
        echoWireRatio: soak.echoWireRatio,
        mismatches: soak.mismatches,
        errors: soak.errors,
      });
      if (soak.timedOut)
        r.error = `stopped after ${o.maxMs} ms with ${soak.messages} of ${o.messages} messages`;
      if (soak.messages < o.messages && !soak.timedOut)
        r.error = `connections closed after ${soak.messages} of ${o.messages} messages`;
      const mib = (/** @type {number | null} */ k) => (k === null ? "?" : `${(k / 1024).toFixed(1)}`);
      log(
        `  ${name}: ${Math.round(r.messagesPerSecond).toLocaleString("en-US")} msg/s; RSS MiB: start ${mib(rssStartKiB)}, ` +
          `after warm-up ${mib(r.rssAfterWarmupKiB)}, end ${mib(r.rssEndKiB)}, idle ${mib(r.rssIdleKiB)}, closed ${mib(rssAfterCloseKiB)}; ` +
          `slope ${r.trend ? `${r.trend.slopeKiBPer100k.toFixed(0)} KiB/100k (${r.trend.verdict})` : "?"}` +
          `${typeof r.echoCompressedShare === "number" ? `; ${Math.round(r.echoCompressedShare * 100)}% of echoes compressed` : ""}`,
      );
      if (server.exitCode !== null) throw new Error(`exited with code ${server.exitCode} during the soak`);
    } catch (err) {
      r.status = "failed";
      r.error = /** @type {Error} */ (err).message;
      log(`  ${name}: failed: ${r.error.split("\n")[0]}`);
    } finally {
      await gen?.stop();
      await server?.stop();
    }
  }
  return {
    schema: SOAK_SCHEMA_VERSION,
    kind: "soak",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: {
      deflate: o.deflate,
      messages: o.messages,
      connections: o.connections,
      window: o.window,
      size: o.size,
      kind: o.kind,
      binary: o.binary,
      sampleEvery: o.sampleEvery,
      warmupMessages: o.warmupMessages,
      maxMs: o.maxMs,
    },
    machine: {
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      cpuModel: cpus[0]?.model ?? "unknown",
      cpus: cpus.length,
      pinning: pinned ? { server: serverCpu, generator: generatorCpu } : null,
      nice,
      node: process.version,
    },
    notes,
    targets: results,
  };
}

/** @typedef {Awaited<ReturnType<typeof runSoak>>} SoakResult */

/**
 * @param {SoakResult} res
 * @returns {string}
 */
export function renderSoakMarkdown(res) {
  const o = res.options;
  const mib = (/** @type {number | null | undefined} */ k) =>
    typeof k === "number" ? (k / 1024).toFixed(1) : "–";
  const num = (/** @type {number} */ n) => n.toLocaleString("en-US");
  const out = [];
  out.push(`# Soak: memory over ${num(o.messages)} ${o.deflate ? "compressed " : ""}messages`);
  out.push("");
  out.push(
    `Run ${res.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}. Regenerate with ` +
      `\`node apps/bench/src/cli.mjs soak${o.deflate ? " --deflate" : ""} --targets ${res.targets.map((t) => t.name).join(",")}` +
      `${o.messages === 1_000_000 ? "" : ` --messages ${o.messages}`}\` (see apps/bench/README.md).`,
  );
  out.push("");
  out.push(
    `Per target, on a freshly started server${res.machine.pinning ? " (pinned to CPU 0, the generator to CPU 1" : " (not pinned"}` +
      `${res.machine.nice !== null ? `, niceness ${res.machine.nice})` : ")"}: ${o.connections} connections each keep ${o.window} ` +
      `${messageLabel(o.size, o.binary, o.kind)} messages in flight (a rotation of 64 distinct compressible messages` +
      `${o.deflate ? ", sent compressed; the echoes come back compressed with context takeover" : ""}) until ` +
      `${num(o.messages)} have been echoed. The server's RSS (VmRSS of its process tree, /proc) is read at start, ` +
      `every ${num(o.sampleEvery)} echoed messages, 2 s after the load stops (connections still open: "idle") and 1 s ` +
      `after they are closed. No forced GC. The slope is a least-squares line through the samples from ` +
      `${num(o.warmupMessages)} messages on (after warm-up); "flat" means the growth it predicts over that span is within ` +
      "max(2 × the samples' scatter around the line, 2 % of the RSS after warm-up).",
  );
  out.push("");
  out.push(
    `- Machine: ${res.machine.cpuModel}, ${res.machine.cpus} CPUs, ${res.machine.platform}; Node ${res.machine.node}.`,
  );
  for (const n of res.notes) out.push(`- ${n}`);
  out.push("");
  const ok = res.targets.filter((t) => t.status === "ok" && typeof t.messages === "number");
  const base = ok.find((t) => t.name === "ws");
  const line = (/** @type {string[]} */ c) => `| ${c.join(" | ")} |`;
  out.push(line(["", ...res.targets.map((t) => `\`${t.name}\``)]));
  out.push(line(["---", ...res.targets.map(() => "---:")]));
  /**
   * @param {string} label
   * @param {(t: Record<string, any>) => string} f
   */
  const row = (label, f) =>
    out.push(
      line([
        label,
        ...res.targets.map((t) =>
          t.status === "n/a"
            ? "n/a"
            : t.status === "failed" && typeof t.messages !== "number"
              ? "failed"
              : f(t),
        ),
      ]),
    );
  row("extensions", (t) => (t.extensions ? `\`${t.extensions}\`` : "none"));
  row("messages echoed", (t) => num(t.messages));
  row("echoes compressed / wire ÷ payload", (t) =>
    typeof t.echoCompressedShare === "number"
      ? `${Math.round(t.echoCompressedShare * 100)}% / ${t.echoWireRatio.toFixed(3)}`
      : "–",
  );
  row("**msgs/s** (whole run)", (t) => {
    const v = num(Math.round(t.messagesPerSecond));
    return base !== undefined && t !== base
      ? `${v} (${(t.messagesPerSecond / base.messagesPerSecond).toFixed(2)}×)`
      : v;
  });
  row("msgs/s after warm-up", (t) =>
    typeof t.messagesPerSecondAfterWarmup === "number"
      ? num(Math.round(t.messagesPerSecondAfterWarmup))
      : "–",
  );
  row("server CPU (share of one core)", (t) =>
    typeof t.serverCpu === "number" ? `${Math.round(t.serverCpu * 100)}%` : "–",
  );
  row("RSS at start (MiB)", (t) => mib(t.rssStartKiB));
  row(`RSS after warm-up, ${num(o.warmupMessages)} msgs (MiB)`, (t) => mib(t.rssAfterWarmupKiB));
  row(`**RSS after ${num(o.messages)} msgs (MiB)**`, (t) => mib(t.rssEndKiB));
  row("RSS peak of the samples (MiB)", (t) => mib(t.rssPeakKiB));
  row("RSS idle, 2 s after the load (MiB)", (t) => mib(t.rssIdleKiB));
  row("RSS after closing (MiB)", (t) => mib(t.rssAfterCloseKiB));
  row("**slope after warm-up (KiB per 100k msgs)**", (t) =>
    t.trend ? `${t.trend.slopeKiBPer100k >= 0 ? "+" : ""}${t.trend.slopeKiBPer100k.toFixed(0)}` : "–",
  );
  row("scatter around the line (KiB)", (t) => (t.trend ? t.trend.noiseKiB.toFixed(0) : "–"));
  row("verdict", (t) => (t.trend ? `**${t.trend.verdict}**` : "–"));
  out.push("");
  out.push("RSS samples (MiB) by echoed messages:");
  out.push("");
  // Samples are taken at the first echo past each multiple of sampleEvery: group by multiple.
  const bucket = (/** @type {number} */ m) => Math.round(m / o.sampleEvery);
  const buckets = [
    ...new Set(
      ok.flatMap((t) => t.samples.map((/** @type {{ messages: number }} */ s) => bucket(s.messages))),
    ),
  ].sort((a, b) => a - b);
  out.push(line(["messages", ...ok.map((t) => `\`${t.name}\``)]));
  out.push(line(["---", ...ok.map(() => "---:")]));
  for (const b of buckets) {
    out.push(
      line([
        b === 0 ? "0 (connected)" : num(b * o.sampleEvery),
        ...ok.map((t) => {
          const s = t.samples.find((/** @type {{ messages: number }} */ x) => bucket(x.messages) === b);
          return s === undefined ? "–" : mib(s.rssKiB);
        }),
      ]),
    );
  }
  const errors = res.targets.filter((t) => t.error);
  if (errors.length > 0) {
    out.push("");
    out.push("Errors:");
    for (const t of errors) out.push(`- \`${t.name}\`: ${String(t.error).split("\n")[0]}`);
  }
  const suspicious = ok.filter((t) => t.mismatches > 0 || t.errors > 0);
  for (const t of suspicious)
    out.push(
      `- \`${t.name}\`: ${t.mismatches} echoes of the wrong length, ${t.errors} socket errors or early closes`,
    );
  out.push("");
  return out.join("\n");
}
