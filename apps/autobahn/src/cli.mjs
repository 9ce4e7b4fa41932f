#!/usr/bin/env node
// Conformance runner CLI. From the repository root:
//   node apps/autobahn/src/cli.mjs server --target node [--deflate] [--cases 1.*,6.*]
//   node apps/autobahn/src/cli.mjs client --target node [--cases ...]
// Exit code: 0 no FAILED case, 1 at least one FAILED, 2 usage or set-up error.

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { runClientMode } from "./client-mode.mjs";
import { PROFILES } from "./context.mjs";
import { http2TransportOf } from "./http2.mjs";
import { loadTargets, REPO_ROOT, stopAllTargets } from "./process.mjs";
import { countVerdicts, DEFAULT_RESULTS_DIR, DEFAULT_SUMMARY, runKey, saveRun } from "./report.mjs";
import { runServerMode } from "./server-mode.mjs";

const USAGE = `usage:
  node apps/autobahn/src/cli.mjs server --target <name>[,<name>...|all] [--deflate] [--cases 1.*,6.4.*]
  node apps/autobahn/src/cli.mjs client --target <name>[,<name>...|all] [--cases ...]
options:
  --targets-file <file>  default: apps/echo/targets.json (server), apps/autobahn/targets.json (client)
  --profile full|quick   quick: smaller performance sizes and shorter waits (default full)
  --concurrency <n>      server mode: cases in flight at once (default 4; performance/resource cases run alone)
  --results-dir <dir>    default: apps/autobahn/results
  --summary <file>       default: apps/autobahn/RESULTS.md; --no-summary to skip it
  --verbose              print every case, not only those that are not OK`;

/**
 * @param {string[]} argv
 * @returns {Promise<number>} exit code
 */
export async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        target: { type: "string" },
        deflate: { type: "boolean", default: false },
        cases: { type: "string" },
        "targets-file": { type: "string" },
        profile: { type: "string", default: "full" },
        concurrency: { type: "string", default: "4" },
        "results-dir": { type: "string" },
        summary: { type: "string" },
        "no-summary": { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const mode = positionals[0];
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (mode !== "server" && mode !== "client") {
    console.error(USAGE);
    return 2;
  }
  const profile =
    values.profile === "quick" ? PROFILES.quick : values.profile === "full" ? PROFILES.full : null;
  if (profile === null) {
    console.error(`unknown profile ${values.profile}\n${USAGE}`);
    return 2;
  }
  const targetsFile = resolve(
    values["targets-file"] ??
      join(REPO_ROOT, mode === "server" ? "apps/echo/targets.json" : "apps/autobahn/targets.json"),
  );
  if (!existsSync(targetsFile)) {
    console.error(`targets file not found: ${targetsFile}`);
    return 2;
  }
  const targets = loadTargets(targetsFile);
  const placeholder = mode === "server" ? "{port}" : "{url}";
  const wanted =
    values.target === undefined || values.target === "all"
      ? Object.keys(targets).filter((n) => (targets[n] ?? "").includes(placeholder))
      : values.target.split(",").map((s) => s.trim());
  for (const name of wanted) {
    const command = targets[name];
    if (command === undefined) {
      console.error(`no target "${name}" in ${targetsFile} (has: ${Object.keys(targets).join(", ")})`);
      return 2;
    }
    if (!command.includes(placeholder)) {
      console.error(
        `target "${name}" has no ${placeholder} placeholder; is it a ${mode === "server" ? "client" : "server"} target?`,
      );
      return 2;
    }
  }
  if (wanted.length === 0) {
    console.error(`no ${mode} targets in ${targetsFile}`);
    return 2;
  }

  let anyFailed = false;
  for (const name of wanted) {
    const command = /** @type {string} */ (targets[name]);
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    /** @param {import('./server-mode.mjs').CaseResult} r */
    const onResult = (r) => {
      if (values.verbose === true || (r.verdict !== "OK" && r.verdict !== "INFORMATIONAL")) {
        console.log(`  ${r.id.padEnd(8)} ${r.verdict.padEnd(13)} ${r.reason}`);
      }
    };
    console.log(
      `${mode} mode, target ${name}${values.deflate === true ? " --deflate" : ""} (${profile.name} profile)`,
    );
    let outcome;
    try {
      outcome =
        mode === "server"
          ? await runServerMode({
              command,
              deflate: values.deflate === true,
              ...(values.cases === undefined ? {} : { cases: values.cases }),
              profile,
              concurrency: Math.max(1, Number(values.concurrency) || 4),
              http2: http2TransportOf(name),
              onResult,
            })
          : await runClientMode({
              command,
              agent: name,
              ...(values.cases === undefined ? {} : { cases: values.cases }),
              profile,
              http2: http2TransportOf(name) !== null,
              onResult,
            });
    } catch (err) {
      console.error(`target ${name} could not be run: ${err instanceof Error ? err.message : String(err)}`);
      return 2;
    }
    /** @type {import('./report.mjs').RunRecord} */
    const run = {
      mode,
      target: name,
      deflate: mode === "server" && values.deflate === true,
      profile: profile.name,
      cases: values.cases ?? null,
      command: outcome.command,
      startedAt,
      durationMs: Math.round(performance.now() - t0),
      node: process.version,
      results: outcome.results,
    };
    const summaryFile = values["no-summary"] === true ? null : resolve(values.summary ?? DEFAULT_SUMMARY);
    const { dir } = saveRun(run, {
      resultsDir: resolve(values["results-dir"] ?? DEFAULT_RESULTS_DIR),
      summaryFile,
    });
    const counts = countVerdicts(run.results);
    console.log(
      `${runKey(run)}: ${run.results.length} cases in ${(run.durationMs / 1000).toFixed(1)} s: ${Object.entries(
        counts,
      )
        .filter(([, n]) => n > 0)
        .map(([v, n]) => `${n} ${v}`)
        .join(", ")}`,
    );
    console.log(
      `  results: ${join(dir, `${runKey(run)}.json`)}, ${join(dir, "results.md")}${summaryFile === null ? "" : `, ${summaryFile}`}`,
    );
    if ((counts.FAILED ?? 0) > 0) anyFailed = true;
  }
  return anyFailed ? 1 : 0;
}

if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)
) {
  for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
    process.once(signal, () => {
      console.error(`${signal}: stopping the targets we started`);
      void stopAllTargets().finally(() => process.exit(130));
    });
  }
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
