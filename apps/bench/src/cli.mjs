#!/usr/bin/env node
// End-to-end WebSocket echo benchmark. See apps/bench/README.md.
//
//   node apps/bench/src/cli.mjs [--targets node,ws] [--quick] [--deflate] [--ceiling] ...

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { renderMarkdown } from "./report.mjs";
import { runBench } from "./run.mjs";
import { loadTargets, REPO_ROOT } from "./targets.mjs";

const USAGE = `Usage: node apps/bench/src/cli.mjs [options]

  --targets a,b     targets to run (default: every target in apps/echo/targets.json and
                    apps/bench/targets.json but tcp-ceiling); the baseline, and the native
                    server of deno/bun, are added when missing
  --baseline name   the target ratios are computed against (default: ws)
  --quick           short smoke run (well under a minute)
  --tiny            one short measurement of each kind (what the test uses)
  --deflate         start targets with --deflate; the generator offers permessage-deflate
  --ceiling         also run tcp-ceiling, the generator's own limit (raw TCP echo, no
                    WebSocket work); the default in full runs
  --no-ceiling      do not
  --no-pin          do not pin the server and the generator to separate cores
  --nice            run server and generator at niceness -10 (needs privileges), so other
                    work on a shared machine disturbs the numbers less
  --niceness n      the same with niceness n (-20..19)
  --duration ms     measured time of each throughput measurement
  --warmup ms       warm-up before each throughput measurement
  --out dir         where to write the JSON and Markdown (default: apps/bench/results)
  --results-md      also regenerate apps/bench/RESULTS.md (default for full runs without --out)
  --no-results-md   do not
  --render file     only render a results JSON file as Markdown (stdout; with --results-md
                    also to apps/bench/RESULTS.md)
  --list            list the targets and exit
  -h, --help`;

/**
 * @param {string} message
 * @returns {never}
 */
function die(message) {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    // `pnpm bench -- --quick` passes the `--` through: ignore a leading one.
    const args = process.argv.slice(2);
    return parseArgs({
      args: args[0] === "--" ? args.slice(1) : args,
      options: {
        targets: { type: "string" },
        baseline: { type: "string", default: "ws" },
        quick: { type: "boolean", default: false },
        tiny: { type: "boolean", default: false },
        deflate: { type: "boolean", default: false },
        ceiling: { type: "boolean" },
        "no-ceiling": { type: "boolean" },
        "no-pin": { type: "boolean", default: false },
        nice: { type: "boolean", default: false },
        niceness: { type: "string" },
        duration: { type: "string" },
        warmup: { type: "string" },
        out: { type: "string" },
        "results-md": { type: "boolean" },
        "no-results-md": { type: "boolean" },
        list: { type: "boolean", default: false },
        render: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return die(/** @type {Error} */ (err).message);
  }
}
const values = parse();

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

if (values.list) {
  const { targets, notes } = loadTargets();
  for (const t of targets.values()) console.log(`${t.name.padEnd(14)} ${t.source.padEnd(24)} ${t.command}`);
  for (const n of notes) console.log(`note: ${n}`);
  process.exit(0);
}

if (typeof values.render === "string") {
  const markdown = renderMarkdown(JSON.parse(readFileSync(resolve(values.render), "utf8")));
  console.log(markdown);
  if (values["results-md"] === true) writeFileSync(resolve(REPO_ROOT, "apps/bench/RESULTS.md"), markdown);
  process.exit(0);
}

/** @param {unknown} v @param {string} name */
function ms(v, name) {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 600_000) die(`--${name} wants milliseconds (1..600000)`);
  return n;
}

/** @param {unknown} v */
function niceness(v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < -20 || n > 19) die("--niceness wants an integer from -20 to 19");
  return n;
}

if (values.quick && values.tiny) die("--quick and --tiny are exclusive");
const mode = values.tiny ? "tiny" : values.quick ? "quick" : "full";
const outDir = resolve(
  typeof values.out === "string" ? values.out : resolve(REPO_ROOT, "apps/bench/results"),
);
const writeResultsMd =
  values["no-results-md"] === true
    ? false
    : values["results-md"] === true
      ? true
      : mode === "full" && values.out === undefined;

process.on("SIGINT", () => process.exit(130)); // exit handlers stop every child we started
process.on("SIGTERM", () => process.exit(143));

const log = (/** @type {string} */ line) => console.log(line);

const result = await runBench({
  mode,
  targets:
    typeof values.targets === "string"
      ? values.targets
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : null,
  baseline: /** @type {string} */ (values.baseline),
  deflate: values.deflate === true,
  ceiling: values["no-ceiling"] === true ? false : values.ceiling === true ? true : null,
  pin: values["no-pin"] !== true,
  nice: values.niceness !== undefined ? niceness(values.niceness) : values.nice === true ? -10 : null,
  durationMs: ms(values.duration, "duration"),
  warmupMs: ms(values.warmup, "warmup"),
  log,
});

const markdown = renderMarkdown(result);
console.log(`\n${markdown}`);

mkdirSync(outDir, { recursive: true });
const stamp = result.startedAt.replace(/[:.]/g, "-");
const json = `${JSON.stringify(result, null, 2)}\n`;
writeFileSync(resolve(outDir, `bench-${stamp}.json`), json);
writeFileSync(resolve(outDir, `bench-${stamp}.md`), markdown);
writeFileSync(resolve(outDir, "latest.json"), json);
writeFileSync(resolve(outDir, "latest.md"), markdown);
console.log(`written: ${resolve(outDir, `bench-${stamp}.{json,md}`)} (and latest.{json,md})`);
if (writeResultsMd) {
  writeFileSync(resolve(REPO_ROOT, "apps/bench/RESULTS.md"), markdown);
  console.log("written: apps/bench/RESULTS.md");
}

const failed = result.targets.filter((t) => t.status !== "ok").map((t) => t.name);
const errored = result.scenarios.some((s) =>
  Object.values(s.values).some((v) => /** @type {any} */ (v).error !== undefined),
);
if (failed.length > 0) console.error(`targets that failed: ${failed.join(", ")}`);
if (errored) console.error("some measurements failed: see the Errors section");
process.exit(failed.length > 0 || errored ? 1 : 0);
