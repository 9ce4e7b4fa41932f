// Results: one JSON file per run in results/, a combined cases × runs matrix (JSON + Markdown)
// in results/, and the committed summary RESULTS.md rebuilt from every run present.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { firstTable, replaceReadmeSection } from "../../../tools/readme-section.mjs";
import { compareIds } from "./cases/index.mjs";
import { VERDICTS } from "./judge.mjs";

export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_RESULTS_DIR = join(APP_DIR, "results");
export const DEFAULT_SUMMARY = join(APP_DIR, "RESULTS.md");

/**
 * @typedef {object} RunRecord
 * @property {'server' | 'client'} mode
 * @property {string} target
 * @property {boolean} deflate
 * @property {string} profile
 * @property {string} command
 * @property {string} startedAt ISO time
 * @property {number} durationMs
 * @property {string} node Node.js version of the runner
 * @property {string | null} [cases] the --cases filter; a filtered run is "partial"
 * @property {import('./server-mode.mjs').CaseResult[]} results
 */

/**
 * File name and column label. A run with --cases gets its own "-partial" key, so that trying a
 * few cases never replaces a full run.
 * @param {RunRecord} run
 */
export function runKey(run) {
  return `${run.mode}-${run.target}${run.deflate ? "-deflate" : ""}${isPartial(run) ? "-partial" : ""}`;
}

/** @param {RunRecord} run */
const isPartial = (run) => typeof run.cases === "string" && run.cases !== "";

/** @param {import('./server-mode.mjs').CaseResult[]} results */
export function countVerdicts(results) {
  /** @type {Record<string, number>} */
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0]));
  for (const r of results) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
  return counts;
}

/**
 * Save one run and rebuild the combined files.
 * @param {RunRecord} run
 * @param {{ resultsDir?: string, summaryFile?: string | null }} [options] summaryFile null: do not write RESULTS.md
 */
export function saveRun(run, options = {}) {
  const dir = options.resultsDir ?? DEFAULT_RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${runKey(run)}.json`), `${JSON.stringify(run, null, 2)}\n`);
  const runs = loadRuns(dir);
  writeFileSync(join(dir, "results.json"), `${JSON.stringify(matrixJson(runs), null, 2)}\n`);
  writeFileSync(join(dir, "results.md"), matrixMarkdown(runs));
  const summary = options.summaryFile === undefined ? DEFAULT_SUMMARY : options.summaryFile;
  if (summary !== null) {
    const markdown = summaryMarkdown(runs);
    writeFileSync(summary, markdown);
    // The root README shows the summary table (issue #6); only for the committed summary file.
    if (summary === DEFAULT_SUMMARY) {
      replaceReadmeSection(
        "conformance",
        `${firstTable(markdown)}\n\nPer family and every case that is not OK: [apps/autobahn/RESULTS.md](apps/autobahn/RESULTS.md).`,
      );
    }
  }
  return { dir, runs };
}

/** @param {string} dir @returns {RunRecord[]} */
export function loadRuns(dir) {
  /** @type {RunRecord[]} */
  const runs = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".json") || name === "results.json") continue;
    try {
      const run = JSON.parse(readFileSync(join(dir, name), "utf8"));
      if (Array.isArray(run.results)) runs.push(run);
    } catch {
      // not ours
    }
  }
  return runs;
}

/** @param {RunRecord[]} runs */
function matrixJson(runs) {
  const ids = allIds(runs);
  return {
    runs: runs.map((r) => ({
      key: runKey(r),
      mode: r.mode,
      target: r.target,
      deflate: r.deflate,
      profile: r.profile,
      startedAt: r.startedAt,
      counts: countVerdicts(r.results),
    })),
    cases: ids.map((id) => ({
      id,
      description: runs.flatMap((r) => r.results).find((x) => x.id === id)?.description ?? "",
      verdicts: Object.fromEntries(
        runs.map((r) => [runKey(r), r.results.find((x) => x.id === id)?.verdict ?? null]),
      ),
    })),
  };
}

/** @param {RunRecord[]} runs */
function allIds(runs) {
  return [...new Set(runs.flatMap((r) => r.results.map((x) => x.id)))].sort(compareIds);
}

/** @param {string} s */
const cell = (s) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** @param {string | undefined} v */
function short(v) {
  switch (v) {
    case "OK":
      return "OK";
    case "NON-STRICT":
      return "NON-STRICT";
    case "FAILED":
      return "**FAILED**";
    case "INFORMATIONAL":
      return "INFO";
    case "UNIMPLEMENTED":
      return "UNIMPL";
    default:
      return "–";
  }
}

/** The full cases × runs table (results/results.md, not committed). @param {RunRecord[]} runs */
export function matrixMarkdown(runs) {
  const ids = allIds(runs);
  const lines = [
    "# Conformance results: cases × runs",
    "",
    `| Case | ${runs.map((r) => cell(runKey(r))).join(" | ")} |`,
    `|---|${runs.map(() => "---").join("|")}|`,
  ];
  for (const id of ids) {
    lines.push(
      `| ${id} | ${runs.map((r) => short(r.results.find((x) => x.id === id)?.verdict)).join(" | ")} |`,
    );
  }
  lines.push("", "## Reasons (everything not OK)", "");
  for (const r of runs) {
    const notOk = r.results.filter((x) => x.verdict !== "OK");
    if (notOk.length === 0) continue;
    lines.push(`### ${runKey(r)}`, "", "| Case | Verdict | Reason |", "|---|---|---|");
    for (const x of notOk) lines.push(`| ${x.id} | ${x.verdict} | ${cell(x.reason)} |`);
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

/** @param {string} id */
function family(id) {
  const [first = ""] = id.split(".");
  return first;
}

const FAMILY_NAMES = /** @type {Record<string, string>} */ ({
  1: "framing",
  2: "pings/pongs",
  3: "reserved bits",
  4: "opcodes",
  5: "fragmentation",
  6: "UTF-8",
  7: "close",
  9: "limits/performance",
  10: "misc",
  12: "permessage-deflate",
  13: "deflate parameters",
  H: "opening handshake",
  R: "resources",
});

/** The committed README-ready summary (RESULTS.md). @param {RunRecord[]} allRuns */
export function summaryMarkdown(allRuns) {
  // Only complete runs go into the committed summary; partial ones stay in results/.
  const runs = allRuns.filter((r) => !isPartial(r));
  const lines = [
    "<!-- Generated by `node apps/autobahn/src/cli.mjs`; do not edit by hand. -->",
    "# Conformance summary",
    "",
    "Autobahn-style conformance runs (RFC 6455, RFC 7692) of our implementations, from",
    "`apps/autobahn` (see its README). Verdicts: OK, NON-STRICT (allowed by the RFC but not the",
    "strictest behaviour), INFORMATIONAL (timings, behaviour the RFC leaves open), UNIMPLEMENTED",
    "(optional feature absent), FAILED.",
    "",
  ];
  if (runs.length === 0) {
    lines.push("_No runs recorded yet._", "");
    return `${lines.join("\n")}\n`;
  }
  lines.push(
    `| Run | Profile | Cases | ${VERDICTS.join(" | ")} | When |`,
    `|---|---|---|${VERDICTS.map(() => "---").join("|")}|---|`,
  );
  for (const r of runs) {
    const c = countVerdicts(r.results);
    lines.push(
      `| ${runKey(r)} | ${r.profile} | ${r.results.length} | ${VERDICTS.map((v) => String(c[v] ?? 0)).join(" | ")} | ${r.startedAt.slice(0, 10)} |`,
    );
  }
  const families = [...new Set(runs.flatMap((r) => r.results.map((x) => family(x.id))))].sort(compareIds);
  lines.push(
    "",
    "## By family",
    "",
    `| Family | ${runs.map((r) => runKey(r)).join(" | ")} |`,
    `|---|${runs.map(() => "---").join("|")}|`,
  );
  for (const f of families) {
    const row = runs.map((r) => {
      const inFamily = r.results.filter((x) => family(x.id) === f);
      if (inFamily.length === 0) return "–";
      const c = countVerdicts(inFamily);
      return VERDICTS.filter((v) => (c[v] ?? 0) > 0)
        .map((v) => `${c[v]} ${v === "FAILED" ? "**FAILED**" : v}`)
        .join(", ");
    });
    lines.push(`| ${f} ${FAMILY_NAMES[f] ?? ""} | ${row.join(" | ")} |`);
  }
  lines.push("", "## Not OK", "");
  let any = false;
  for (const r of runs) {
    const bad = r.results.filter((x) => x.verdict === "FAILED" || x.verdict === "NON-STRICT");
    // UNIMPLEMENTED cases share a reason (e.g. no permessage-deflate): one row per reason.
    /** @type {Map<string, string[]>} */
    const missing = new Map();
    for (const x of r.results.filter((y) => y.verdict === "UNIMPLEMENTED")) {
      missing.set(x.reason, [...(missing.get(x.reason) ?? []), x.id]);
    }
    if (bad.length === 0 && missing.size === 0) continue;
    any = true;
    lines.push(`### ${runKey(r)}`, "", "| Case | Verdict | Reason |", "|---|---|---|");
    for (const x of bad.slice(0, 60))
      lines.push(`| ${x.id} | ${x.verdict} | ${cell(x.reason.slice(0, 300))} |`);
    if (bad.length > 60) lines.push(`| … | | ${bad.length - 60} more in results/results.md |`);
    for (const [reason, ids] of missing) {
      const which = ids.length === 1 ? ids[0] : `${ids.length} cases (${ids[0]} … ${ids[ids.length - 1]})`;
      lines.push(`| ${which} | UNIMPLEMENTED | ${cell(reason.slice(0, 300))} |`);
    }
    lines.push("");
  }
  if (!any) lines.push("Nothing: every case is OK or INFORMATIONAL.", "");
  return `${lines.join("\n")}\n`;
}
