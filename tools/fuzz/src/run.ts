/**
 * The long fuzz run (`pnpm fuzz` at the repository root): visits every target in turn, a time
 * slice each, until the time or input budget is spent; prints inputs per target and in total;
 * writes every failing input (shrunk) to `failures/` and exits 1 if there was one.
 *
 *   pnpm fuzz --time 45m                # a time budget (s, m or h), default 60s
 *   pnpm fuzz --count 10000000          # an input budget (stops at whichever comes first)
 *   pnpm fuzz --only connection,dial    # targets whose name contains one of these
 *   pnpm fuzz --seed 42 --slice 2000    # reproducible order; milliseconds per slice
 *
 * For line and branch coverage of the fuzzed modules during the run, `pnpm fuzz:coverage` runs
 * the same command under c8 (V8's own coverage).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { stable } from "./check.ts";
import type { FuzzTarget } from "./target.ts";
import { TARGETS } from "./targets/index.ts";

const { values } = parseArgs({
  options: {
    time: { type: "string", default: "60s" },
    count: { type: "string" },
    only: { type: "string" },
    seed: { type: "string" },
    slice: { type: "string", default: "3000" },
  },
});

function duration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (match === null)
    throw new TypeError(`--time: cannot read ${JSON.stringify(text)} (examples: 90s, 45m, 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] as number;
  return Number(match[1]) * unit;
}

const budgetMs = duration(values.time);
const budgetInputs = values.count === undefined ? Number.POSITIVE_INFINITY : Number(values.count);
const sliceMs = Number(values.slice);
let seed = values.seed === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0 : Number(values.seed);
const filters = values.only?.split(",").filter(Boolean) ?? [];
const targets = TARGETS.filter((t) => filters.length === 0 || filters.some((f) => t.name.includes(f)));
if (targets.length === 0) throw new TypeError(`--only ${values.only}: no target matches`);

const failuresDir = new URL("../failures/", import.meta.url);

interface Tally {
  inputs: number;
  ms: number;
  failures: number;
}
const tally = new Map<FuzzTarget, Tally>(targets.map((t) => [t, { inputs: 0, ms: 0, failures: 0 }]));
const failed = new Set<FuzzTarget>();

function report(final: boolean): void {
  let total = 0;
  const rows = targets.map((t) => {
    const { inputs, ms, failures } = tally.get(t) as Tally;
    total += inputs;
    const rate = ms > 0 ? Math.round((inputs * 1000) / ms) : 0;
    return `  ${t.name.padEnd(32)} ${String(inputs).padStart(11)} inputs ${String(rate).padStart(7)}/s${failures > 0 ? `  FAILED ×${failures}` : ""}`;
  });
  console.log(`${final ? "Fuzz run finished" : "Progress"}: ${total} inputs in total`);
  if (final) console.log(rows.join("\n"));
}

const started = performance.now();
console.log(
  `Fuzzing ${targets.length} targets, budget ${values.time}${values.count ? ` or ${values.count} inputs` : ""}, seed ${seed}, ${sliceMs} ms slices`,
);
let lastProgress = started;
let totalInputs = 0;
outer: for (;;) {
  for (const target of targets) {
    const elapsed = performance.now() - started;
    if (elapsed >= budgetMs || totalInputs >= budgetInputs) break outer;
    if (failed.has(target)) continue;
    const slice = Math.min(sliceMs, budgetMs - elapsed);
    const t0 = performance.now();
    const runSeed = seed++;
    const details = await fc.check(target.property(), {
      seed: runSeed,
      numRuns: Math.max(1, Math.min(10_000_000, budgetInputs - totalInputs)),
      interruptAfterTimeLimit: slice,
      markInterruptAsFailure: false,
    });
    const entry = tally.get(target) as Tally;
    // numRuns counts the inputs run, shrinking runs of a failure excluded.
    entry.inputs += details.numRuns;
    entry.ms += performance.now() - t0;
    totalInputs += details.numRuns;
    // fast-check reports a slice interrupted before its first input finished as failed, with
    // no counterexample: that is a slice too short for a slow input on a busy machine, not a bug.
    const failure = details.failed && details.counterexample !== null;
    if (failure) {
      entry.failures++;
      failed.add(target);
      mkdirSync(failuresDir, { recursive: true });
      const file = new URL(`${target.name.replace(/\W+/g, "-")}-${runSeed}.json`, failuresDir);
      const error = details.errorInstance;
      writeFileSync(
        file,
        `${JSON.stringify(
          {
            target: target.name,
            seed: runSeed,
            path: details.counterexamplePath,
            counterexample: JSON.parse(stable(details.counterexample)),
            error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error),
          },
          null,
          2,
        )}\n`,
      );
      console.log(
        `FAILED ${target.name} (seed ${runSeed}): ${String(error).slice(0, 500)}\n  written to ${file.pathname}`,
      );
    }
    if (performance.now() - lastProgress > 60_000) {
      lastProgress = performance.now();
      report(false);
    }
  }
}
report(true);
console.log(`Elapsed ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failed.size > 0 ? 1 : 0;
