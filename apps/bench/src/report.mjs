// Rendering a run's JSON as Markdown tables (printed to stdout and written to results/).

import { messageLabel } from "./run.mjs";
import { CEILING } from "./targets.mjs";

/** @typedef {Awaited<ReturnType<typeof import("./run.mjs").runBench>>} BenchResult */
/** @typedef {BenchResult["scenarios"][number]} ScenarioResult */

/** Generator CPU share above which a throughput number may be limited by the generator. */
export const GENERATOR_SATURATED = 0.9;

/** A throughput this close to tcp-ceiling's is probably the generator's limit. */
export const CEILING_NEAR = 0.8;

/** Background CPU (share of one core) above which a run is flagged as unreliable. */
export const NOISY = 0.5;

/** @param {number} n */
function compact(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(1);
}

/** @param {number} r */
const ratio = (r) => `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;

/** @param {number | null | undefined} x */
const pct = (x) => (x === null || x === undefined ? "?" : `${Math.round(x * 100)}%`);

/**
 * @param {string[]} header
 * @param {string[][]} rows
 * @param {boolean} [numeric] right-align every column but the first
 */
function table(header, rows, numeric = true) {
  const line = (/** @type {string[]} */ cells) => `| ${cells.join(" | ")} |`;
  return [
    line(header),
    line(header.map((_, i) => (i === 0 || !numeric ? "---" : "---:"))),
    ...rows.map(line),
  ].join("\n");
}

/**
 * Median of the "everything else" CPU over the throughput measurements (share of one core).
 * @param {BenchResult} res
 * @returns {number | null}
 */
export function backgroundCpu(res) {
  const xs = res.scenarios
    .flatMap((sc) => Object.values(sc.values).map((v) => v.otherCpu))
    .filter((x) => typeof x === "number")
    .sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] ?? null;
}

/**
 * Value of a target in a scenario, or null (missing or error).
 * @param {ScenarioResult} sc
 * @param {string} target
 * @param {string} [field]
 * @returns {number | null}
 */
function cellValue(sc, target, field = "value") {
  const v = /** @type {Record<string, any> | undefined} */ (sc.values[target]);
  if (v === undefined || v.error !== undefined || typeof v[field] !== "number") return null;
  return v[field];
}

/**
 * What the generator drove against tcp-ceiling: its best round (interference only ever lowers
 * a throughput, and the ceiling is a capacity). Null when the ceiling server itself used ≥ 90%
 * of its core (then it measured itself: large messages through Node streams).
 * @param {ScenarioResult} sc
 * @param {string} field
 * @returns {number | null}
 */
function ceilingOf(sc, field) {
  const v = /** @type {Record<string, any> | undefined} */ (sc.values[CEILING]);
  const median = cellValue(sc, CEILING, field);
  // A ceiling server that used its whole core measured itself, not the generator.
  if (
    v === undefined ||
    median === null ||
    (typeof v.serverCpu === "number" && v.serverCpu >= GENERATOR_SATURATED)
  )
    return null;
  if (field !== "value" || !Array.isArray(v.rounds)) return median;
  return Math.max(median, ...v.rounds.filter((/** @type {unknown} */ x) => typeof x === "number"));
}

/**
 * Columns: every target (baseline first), then "ours ÷ native" comparisons.
 * @param {BenchResult} res
 */
function columns(res) {
  const targets = res.targets.map((t) => t.name);
  return { targets, comparisons: res.comparisons };
}

/**
 * "180–260": the lowest and highest p99 of a target's latency rounds; null without rounds.
 * @param {Record<string, any>} v
 * @returns {string | null}
 */
function p99Spread(v) {
  const list = Array.isArray(v.p99Rounds) ? v.p99Rounds.filter((x) => typeof x === "number") : [];
  if (list.length === 0) return null;
  return `${Math.min(...list).toFixed(0)}–${Math.max(...list).toFixed(0)}`;
}

/**
 * One table for a group of scenarios; `rows` turns each scenario into one or more rows
 * (label, field, format).
 * @param {BenchResult} res
 * @param {ScenarioResult[]} list
 * @param {(sc: ScenarioResult) => { label: string, field: string, format: (n: number) => string, text?: (v: Record<string, any>) => string | null }[]} rows
 *   `text`: the row shows this of each target's value instead (no ratios)
 * @param {string} corner
 */
function groupTable(res, list, rows, corner) {
  const { targets, comparisons } = columns(res);
  const na = new Set(res.targets.filter((t) => t.status === "n/a").map((t) => t.name));
  const header = [
    corner,
    ...targets.map((t) => (t === res.baseline ? `${t} (baseline)` : t)),
    ...comparisons.map((c) => `${c.target} ÷ ${c.against}`),
  ];
  /** @type {string[][]} */
  const body = [];
  for (const sc of list) {
    for (const row of rows(sc)) {
      const text = row.text;
      if (text !== undefined) {
        body.push([
          row.label,
          ...targets.map((t) => {
            if (na.has(t)) return "n/a";
            const raw = /** @type {Record<string, any> | undefined} */ (sc.values[t]);
            return raw === undefined || raw.error !== undefined ? "–" : (text(raw) ?? "–");
          }),
          ...comparisons.map(() => "–"),
        ]);
        continue;
      }
      const base = cellValue(sc, res.baseline, row.field);
      const ceiling = sc.better === "higher" ? ceilingOf(sc, row.field) : null;
      const cells = targets.map((t) => {
        if (na.has(t)) return "n/a";
        const raw = /** @type {Record<string, any> | undefined} */ (sc.values[t]);
        if (raw === undefined) return "–";
        if (raw.error !== undefined) return "error";
        const v = cellValue(sc, t, row.field);
        if (v === null) return "–";
        const nearCeiling = t !== CEILING && ceiling !== null && v >= CEILING_NEAR * ceiling;
        const saturated = typeof raw.generatorCpu === "number" && raw.generatorCpu >= GENERATOR_SATURATED;
        const warn = nearCeiling || saturated ? " ⚠" : "";
        if (t === res.baseline || base === null || base === 0) return `${row.format(v)}${warn}`;
        return `${row.format(v)} (${ratio(v / base)})${warn}`;
      });
      const comps = comparisons.map((c) => {
        if (na.has(c.target) || na.has(c.against)) return "n/a";
        const a = cellValue(sc, c.target, row.field);
        const b = cellValue(sc, c.against, row.field);
        return a === null || b === null || b === 0 ? "–" : ratio(a / b);
      });
      body.push([row.label, ...cells, ...comps]);
    }
  }
  return table(header, body);
}

/**
 * CPU use of server and generator during each throughput measurement.
 * @param {BenchResult} res
 * @param {ScenarioResult[]} list
 */
function cpuTable(res, list) {
  const { targets } = columns(res);
  const na = new Set(res.targets.filter((t) => t.status === "n/a").map((t) => t.name));
  return table(
    ["CPU: server / generator / rest of machine", ...targets],
    list.map((sc) => [
      sc.label,
      ...targets.map((t) => {
        if (na.has(t)) return "n/a";
        const v = /** @type {Record<string, any> | undefined} */ (sc.values[t]);
        if (v === undefined || v.error !== undefined) return "–";
        return `${pct(v.serverCpu)} / ${pct(v.generatorCpu)} / ${pct(v.otherCpu)}`;
      }),
    ]),
  );
}

/**
 * --deflate runs: what the echoes looked like (share compressed by the server, and payload
 * bytes on the wire ÷ uncompressed bytes). Equal ratios mean equal compression settings.
 * @param {BenchResult} res
 * @param {ScenarioResult[]} list
 */
function compressionTable(res, list) {
  const targets = res.targets.filter((t) => t.status === "ok" && t.name !== CEILING).map((t) => t.name);
  return table(
    ["echoes compressed / wire bytes ÷ payload bytes", ...targets],
    list.map((sc) => [
      sc.label,
      ...targets.map((t) => {
        const v = /** @type {Record<string, any> | undefined} */ (sc.values[t]);
        if (v === undefined || v.error !== undefined || typeof v.echoCompressedShare !== "number") return "–";
        return `${pct(v.echoCompressedShare)} / ${typeof v.echoWireRatio === "number" ? v.echoWireRatio.toFixed(3) : "?"}`;
      }),
    ]),
  );
}

/**
 * The target table's extensions cell.
 * @param {BenchResult["targets"][number]} t
 * @param {boolean} deflate
 */
function extensionsCell(t, deflate) {
  if (deflate && t.status === "n/a") return "n/a";
  if (!t.extensions) return deflate && t.name !== CEILING ? "none" : "–";
  const check = /** @type {{ echoCompressed: boolean, verified: boolean } | null | undefined} */ (
    t.deflateCheck
  );
  if (check === null || check === undefined) return `\`${t.extensions}\``;
  return `\`${t.extensions}\` (2 KiB echoes ${check.echoCompressed ? "compressed" : "**not compressed**"}${check.verified ? ", inflated and checked" : ""})`;
}

/**
 * @param {BenchResult} res
 * @returns {string}
 */
export function renderMarkdown(res) {
  const m = res.machine;
  const out = [];
  const deflate = res.options.deflate === true;
  out.push(deflate ? "# WebSocket echo benchmark with permessage-deflate" : "# WebSocket echo benchmark");
  out.push("");
  out.push(
    `Run ${res.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}, mode \`${res.mode}\`` +
      `${res.options.deflate ? ", servers started with `--deflate` (the generator offers permessage-deflate)" : ""}.` +
      ` Regenerate with \`node apps/bench/src/cli.mjs${deflate ? " --deflate" : ""}\` (see apps/bench/README.md).`,
  );
  out.push("");
  if (deflate) {
    out.push(
      "Compression settings, the same for every target: the client offers a bare `permessage-deflate` " +
        "(no parameters), so context takeover is on in both directions with 15 window bits; the servers use " +
        "zlib level 6 (the default), memLevel 8 and compress messages of 1 KiB or more (`ws` is configured " +
        "with its defaults and `threshold: 1024`, as are our servers). The messages are compressible JSON-like " +
        "text above the threshold (2 KiB, 16 KiB, 64 KiB), so every echo is inflated and deflated by the " +
        "server; the compression table shows that they were, and that each server's output has about the same size. " +
        "Targets without permessage-deflate (Deno's native server) are n/a.",
    );
    out.push("");
  }
  out.push(
    `- Machine: ${m.cpuModel}, ${m.cpus} CPU${m.cpus === 1 ? "" : "s"}, ${m.memoryGiB} GiB, ${m.platform}.`,
  );
  if (m.pinning !== null) {
    out.push(
      `- The machine has ${m.cpus} cores: each server under test runs pinned to CPU ${m.pinning.server}, the load generator ` +
        `to CPU ${m.pinning.generator} (\`taskset\`); every server is measured in turn, with the others idle.`,
    );
  } else {
    out.push(
      "- Server and load generator are **not pinned** to separate cores (see notes): they compete for CPU.",
    );
  }
  if (m.nice !== null) {
    out.push(
      `- Server and generator ran at niceness ${m.nice} (\`--nice\`, also on their autogroups), ahead of other work on the machine.`,
    );
  }
  out.push(
    `- Node ${m.versions.node}; ${m.versions.deno ?? "Deno not found"}; Bun ${m.versions.bun ?? "not found"}.`,
  );
  out.push(`- Load generator: ${res.generator}.`);
  if (res.rounds > 1) {
    out.push(
      `- Each throughput number is the median of ${res.rounds} rounds, the targets interleaved ` +
        "(all rounds are in the JSON); latency has rounds of its own (see its section). Memory is measured once. Every server is started afresh before each group of measurements (memory, latency, setup, small, large).",
    );
  }
  const background = backgroundCpu(res);
  if (background !== null) {
    const busy = background >= NOISY;
    out.push(
      `- ${busy ? "**Busy machine**: " : ""}other work used a median ${pct(background)} of one core during the throughput ` +
        `measurements (other processes plus kernel loopback work not charged to either side)${busy ? ": the numbers are unreliable; rerun on a quiet machine" : ""}.`,
    );
  }
  out.push(
    `- Ratios: the target's number ÷ the baseline's (\`${res.baseline}\`); \`a ÷ b\` columns compare our adapter with the ` +
      "native server of the same runtime. Throughput: higher is better; latency and memory: lower is better.",
  );
  out.push(
    `- ⚠: the number is within ${Math.round((1 - CEILING_NEAR) * 100)}% of what the generator drove against ` +
      "`tcp-ceiling` in its best round (a raw TCP echo, no WebSocket work: the harness's own limit; in full runs, or with `--ceiling`; " +
      "not used where the ceiling server itself was CPU-bound, as with large messages), " +
      `or the generator used ≥ ${Math.round(GENERATOR_SATURATED * 100)}% of its core: it may be the harness's limit rather than the server's.`,
  );
  out.push("");
  out.push(
    table(
      ["target", "command", "from", "status", "extensions", "processes"],
      res.targets.map((t) => [
        `\`${t.name}\``,
        `\`${t.command}\``,
        t.source,
        t.status === "ok"
          ? (t.note ?? "ok")
          : t.status === "n/a"
            ? "n/a: no permessage-deflate, not measured"
            : `**failed**: ${(t.error ?? "").split("\n")[0]}`,
        extensionsCell(t, deflate),
        t.processes.length === 0
          ? "–"
          : `${t.processes.map((p) => p.replace(/^\d+ /, "")).join(" → ")}${t.processes.length > 1 ? " (a wrapper stays: RSS and CPU are summed over the tree)" : ""}`,
      ]),
      false,
    ),
  );
  if (res.notes.length > 0) {
    out.push("");
    out.push("Notes:");
    for (const n of res.notes) out.push(`- ${n}`);
  }

  const group = (/** @type {string} */ g) => res.scenarios.filter((s) => s.group === g);

  const small = group("small");
  if (small.length > 0) {
    const p = /** @type {Record<string, number>} */ (small[0]?.params);
    out.push("");
    out.push("## 1. Echo throughput, small messages");
    out.push("");
    out.push(
      `Messages per second echoed back and counted by the client (higher is better). Each connection keeps a window of ` +
        `messages in flight (pipelined); ${p.warmupMs} ms warm-up, then ${p.durationMs} ms measured.`,
    );
    out.push("");
    out.push(
      groupTable(res, small, (sc) => [{ label: sc.label, field: "value", format: compact }], "messages/s"),
    );
    out.push("");
    out.push(
      "<details><summary>CPU use during these measurements (share of one core; the rest of the machine includes kernel loopback work)</summary>",
    );
    out.push("");
    out.push(cpuTable(res, small));
    out.push("");
    out.push("</details>");
  }

  const large = group("large");
  if (large.length > 0) {
    out.push("");
    out.push("## 2. Echo throughput, large messages");
    out.push("");
    out.push("Payload megabytes (10⁶ bytes) per second echoed back (higher is better).");
    out.push("");
    out.push(
      groupTable(
        res,
        large,
        (sc) => [{ label: sc.label, field: "value", format: (n) => n.toFixed(1) }],
        "MB/s",
      ),
    );
    out.push("");
    out.push(
      "<details><summary>CPU use during these measurements (share of one core; the rest of the machine includes kernel loopback work)</summary>",
    );
    out.push("");
    out.push(cpuTable(res, large));
    out.push("");
    out.push("</details>");
  }

  for (const sc of group("latency")) {
    const p = /** @type {Record<string, number>} */ (sc.params);
    out.push("");
    out.push("## 3. Round-trip latency");
    out.push("");
    const latencyRounds = p.rounds ?? res.rounds;
    out.push(
      `${sc.label}: send, wait for the echo, repeat; ${p.warmup} warm-up round trips${p.firstWarmup !== undefined && p.firstWarmup !== p.warmup ? ` (${p.firstWarmup} in the first round)` : ""}, then up to ${p.samples} measured ` +
        `(microseconds, lower is better)` +
        (latencyRounds > 1
          ? `, in each of ${latencyRounds} rounds on a fresh connection, the targets interleaved. Each figure is the ` +
            "median of the rounds' figures, so that a few rounds disturbed by other work on the machine do not decide it; " +
            "the last row gives the lowest and highest round's p99 (how far one round's p99 can be trusted)."
          : "."),
    );
    out.push("");
    const us = (/** @type {number} */ n) => n.toFixed(1);
    out.push(
      groupTable(
        res,
        [sc],
        () => [
          { label: "p50", field: "p50", format: us },
          { label: "p90", field: "p90", format: us },
          { label: "p99", field: "p99", format: us },
          { label: "mean", field: "mean", format: us },
          ...(latencyRounds > 1
            ? [
                {
                  label: "p99, lowest–highest round",
                  field: "p99",
                  format: us,
                  text: (/** @type {Record<string, any>} */ v) => p99Spread(v),
                },
              ]
            : []),
        ],
        "µs",
      ),
    );
  }

  if (deflate) {
    const measured = res.scenarios.filter(
      (s) => s.group === "small" || s.group === "large" || s.group === "latency" || s.group === "memory",
    );
    if (measured.length > 0) {
      out.push("");
      out.push("## Compression check");
      out.push("");
      out.push(
        "Share of the echoes the server sent compressed (RSV1), and the payload bytes it sent ÷ the uncompressed " +
          "message bytes (lower: better compression; equal across targets: equal settings).",
      );
      out.push("");
      out.push(compressionTable(res, measured));
    }
  }

  for (const sc of group("memory")) {
    const p = /** @type {Record<string, any>} */ (sc.params);
    const message = messageLabel(p.size ?? 16, p.binary ?? true, p.kind);
    out.push("");
    out.push(`## 4. Memory per idle connection${deflate ? " with permessage-deflate" : ""}`);
    out.push("");
    out.push(
      `The server's resident memory (VmRSS of its process tree, from /proc) before and after opening ${sc.label.replace(" idle connections", "")} ` +
        `connections that each echoed one ${message} message and then stay idle. Lower is better. ` +
        "Each reading is taken after a full garbage collection in the server (asked for over the echo contract's " +
        "`/gc` control path) once RSS has settled, so garbage the handshakes left is not counted; the JavaScript heap " +
        "the server reports after it, and the figure before the collection (what the process held as it was, which " +
        "moves from run to run with the collector's timing), are shown below it." +
        (p.warmupConnections > 0
          ? ` ${p.warmupConnections} warm-up connections (opened the same way, and kept) come before the first reading, ` +
            "so one-time costs (compiling the handshake and echo code, the heap's first pages) are not charged to the measured ones."
          : "") +
        (deflate
          ? " The message is above the 1 KiB threshold, so it was compressed both ways and the zlib streams that " +
            "context takeover keeps (an inflater and a deflater per connection) exist."
          : ""),
    );
    out.push("");
    const mib = (/** @type {number} */ n) => (n / 1024).toFixed(1);
    out.push(
      groupTable(
        res,
        [sc],
        () => [
          { label: "RSS before (MiB)", field: "rssBeforeKiB", format: mib },
          { label: "RSS with the connections (MiB)", field: "rssAfterKiB", format: mib },
          { label: "**KiB per connection**", field: "value", format: (n) => n.toFixed(2) },
          { label: "of which JavaScript heap (KiB)", field: "heapKiB", format: (n) => n.toFixed(2) },
          { label: "KiB per connection before the GC", field: "noGcKiB", format: (n) => n.toFixed(2) },
        ],
        "memory",
      ),
    );
  }

  const setup = group("setup");
  if (setup.length > 0) {
    out.push("");
    out.push("## 5. Connection setup");
    out.push("");
    out.push(
      "Connections per second that went through a whole life (higher is better): TCP connect, the opening handshake, " +
        "a close frame from the client, the server's close frame and the end of the TCP connection; then the client " +
        `starts over. ${setup[0]?.params.warmupMs} ms warm-up, then ${setup[0]?.params.durationMs} ms measured.`,
    );
    out.push("");
    out.push(
      groupTable(res, setup, (sc) => [{ label: sc.label, field: "value", format: compact }], "connections/s"),
    );
    out.push("");
    out.push("<details><summary>CPU use during these measurements (share of one core)</summary>");
    out.push("");
    out.push(cpuTable(res, setup));
    out.push("");
    out.push("</details>");
  }

  const errors = res.scenarios.flatMap((sc) =>
    Object.entries(sc.values)
      .filter(([, v]) => v.error !== undefined)
      .map(([t, v]) => `- ${sc.label} / \`${t}\`: ${v.error}`),
  );
  const suspicious = res.scenarios.flatMap((sc) =>
    Object.entries(sc.values)
      .filter(([, v]) => (v.mismatches ?? 0) > 0 || (v.errors ?? 0) > 0)
      .map(
        ([t, v]) =>
          `- ${sc.label} / \`${t}\`: ${v.mismatches ?? 0} echoes of the wrong length, ` +
          `${v.errors ?? 0} socket errors or early closes`,
      ),
  );
  if (errors.length > 0 || suspicious.length > 0) {
    out.push("");
    out.push("## Errors");
    out.push("");
    out.push(...errors, ...suspicious);
  }
  out.push("");
  return out.join("\n");
}
