#!/usr/bin/env node
// The connection soak (issue 12, "Proof"): per target, on a freshly started echo server,
// 10,000 concurrent connections each send sequence-numbered messages of random sizes and types
// and check every echo byte for byte and in order (src/soak-client.mjs, a separate process).
// Reports lost, reordered and corrupted messages (all must be 0) and the server's RSS before
// (idle), with every connection open, at its peak, and 5 s after the last connection closed.
// With --out, writes the table into that file between the soak markers (RELIABILITY.md).
//
//   node apps/hostile/src/soak.mjs [--targets node,deno,bun] [--connections 10000]
//                                  [--messages 100] [--window 2] [--out RELIABILITY.md]
//
// Run `pnpm build` first (our Node echo server imports the built adapter). The file descriptor
// limit is raised for the server and the generator to what the hard limit allows.

import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { steadyRss, treeRssKiB } from "../../bench/src/proc.mjs";
import { freePort, loadTargets, REPO_ROOT, ServerProcess } from "../../bench/src/targets.mjs";

export const SOAK_START = "<!-- soak:start (written by apps/hostile/src/soak.mjs; do not edit) -->";
export const SOAK_END = "<!-- soak:end -->";

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Raises the open-file limit of what `command` starts, up to the hard limit (for 10,000 sockets). */
const RAISE_FD_LIMIT = "ulimit -n $(ulimit -Hn) 2>/dev/null;";

/**
 * Runs the soak against one target.
 * @param {{ command: string }} spec
 * @param {{ connections: number, messages: number, window: number, seed: number, timeoutS: number, log: (line: string) => void }} o
 */
export async function soakTarget(spec, o) {
  const port = await freePort();
  const server = new ServerProcess(`${RAISE_FD_LIMIT} ${spec.command.replaceAll("{port}", String(port))}`, {
    cpu: null,
    nice: null,
  });
  try {
    await server.waitReady(port, 30_000);
    const pid = /** @type {number} */ (server.pid);
    const beforeKiB = await steadyRss(pid);
    let peakKiB = beforeKiB ?? 0;
    let openKiB = /** @type {number | null} */ (null);
    const sampler = setInterval(() => {
      const rss = treeRssKiB(pid);
      if (rss !== null) peakKiB = Math.max(peakKiB, rss);
    }, 100);
    const client = spawn(
      "sh",
      [
        "-c",
        `${RAISE_FD_LIMIT} exec "$0" "$@"`,
        process.execPath,
        resolve(dirname(fileURLToPath(import.meta.url)), "soak-client.mjs"),
        "--port",
        String(port),
        "--connections",
        String(o.connections),
        "--messages",
        String(o.messages),
        "--window",
        String(o.window),
        "--seed",
        String(o.seed),
        "--timeout",
        String(o.timeoutS),
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    /** @type {any} */
    let result = null;
    let pending = "";
    const started = performance.now();
    client.stdout.on("data", (chunk) => {
      pending += chunk.toString("utf8");
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const line = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (line.phase === "open") {
          // Every connection is open and idle for 2 s: read the server's memory now.
          void sleep(1500).then(() => {
            openKiB = treeRssKiB(pid);
          });
        }
        if (line.phase === "done") result = line;
        else o.log(`  ${((performance.now() - started) / 1000).toFixed(0)} s ${JSON.stringify(line)}`);
        nl = pending.indexOf("\n");
      }
    });
    const exitCode = await new Promise((resolveExit) => client.once("exit", resolveExit));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    await sleep(5000);
    const afterKiB = server.exitCode === null ? treeRssKiB(pid) : null;
    if (result === null) throw new Error(`the generator exited with ${exitCode} without a result`);
    return { ...result, seconds, survived: server.exitCode === null, beforeKiB, openKiB, peakKiB, afterKiB };
  } finally {
    await server.stop();
  }
}

/** The markdown table of `rows` (target → result). */
export function soakTable(rows, o) {
  const mb = (kib) => (kib === null || kib === undefined ? "?" : `${(kib / 1024).toFixed(0)} MB`);
  const lines = [
    `| server | connections opened | messages echoed | lost | reordered | corrupted | RSS before | RSS all open | RSS peak | RSS 5 s after | time |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [name, r] of rows) {
    if (r.error !== undefined) {
      lines.push(`| ${name} | failed: ${r.error} | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${name} | ${r.opened}/${r.connections}${r.handshakeFailures ? ` (${r.handshakeFailures} failed)` : ""} | ${r.echoed}/${r.connections * o.messages} | ${r.lost} | ${r.reordered} | ${r.corrupted} | ${mb(r.beforeKiB)} | ${mb(r.openKiB)} | ${mb(r.peakKiB)} | ${mb(r.afterKiB)} | ${r.seconds.toFixed(0)} s${r.timedOut ? " (timed out)" : ""} |`,
    );
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      targets: { type: "string", default: "node,deno,bun" },
      connections: { type: "string", default: "10000" },
      messages: { type: "string", default: "100" },
      window: { type: "string", default: "2" },
      seed: { type: "string", default: "1" },
      timeout: { type: "string", default: "900" },
      out: { type: "string" },
    },
  });
  const o = {
    connections: Number(values.connections),
    messages: Number(values.messages),
    window: Number(values.window),
    seed: Number(values.seed),
    timeoutS: Number(values.timeout),
    log: (/** @type {string} */ line) => console.log(line),
  };
  const { targets } = loadTargets();
  const rows = new Map();
  let failed = false;
  for (const name of values.targets.split(",")) {
    const spec = targets.get(name);
    if (spec === undefined) throw new Error(`unknown target ${name}`);
    console.log(`${name}: ${o.connections} connections × ${o.messages} messages`);
    try {
      const r = await soakTarget(spec, o);
      rows.set(name, r);
      console.log(`${name}: ${JSON.stringify(r)}`);
      if (r.lost + r.reordered + r.corrupted > 0 || r.opened < r.connections || !r.survived) failed = true;
    } catch (error) {
      rows.set(name, { error: error instanceof Error ? error.message.split("\n")[0] : String(error) });
      failed = true;
    }
  }
  const table = soakTable(rows, o);
  console.log(table.join("\n"));
  if (values.out !== undefined) {
    const out = resolve(REPO_ROOT, values.out);
    const section = [
      SOAK_START,
      "## Soak: concurrent connections, every echo checked",
      "",
      `Written by \`node apps/hostile/src/soak.mjs --connections ${o.connections} --messages ${o.messages}\` (\`pnpm soak\`): per server, a`,
      `fresh echo server with default options; a separate generator process opens ${o.connections} connections,`,
      `then each sends ${o.messages} sequence-numbered messages (text or binary at random; 80 % under 256 B,`,
      `18 % up to 4 KiB, 2 % up to 64 KiB), ${o.window} in flight at a time, checks every echo byte for byte and in`,
      "order, and closes with 1000. RSS: the server process, idle before; with every connection open and",
      `idle; the peak while messages flow; 5 s after the last connection closed. Run ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on a`,
      "shared 2-core machine (times are noisy).",
      "",
      ...table,
      SOAK_END,
    ].join("\n");
    const text = existsSync(out) ? readFileSync(out, "utf8") : "";
    const start = text.indexOf(SOAK_START);
    const end = text.indexOf(SOAK_END);
    const next =
      start >= 0 && end > start
        ? `${text.slice(0, start)}${section}${text.slice(end + SOAK_END.length)}`
        : `${text.trimEnd()}\n\n${section}\n`;
    writeFileSync(out, next);
    console.log(`written to ${out}`);
  }
  process.exit(failed ? 1 : 0);
}
