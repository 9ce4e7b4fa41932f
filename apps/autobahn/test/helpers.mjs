// Shared helpers for the runner's own tests.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runClientMode } from "../src/client-mode.mjs";
import { PROFILES } from "../src/context.mjs";
import { loadTargets } from "../src/process.mjs";
import { runServerMode } from "../src/server-mode.mjs";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
export const FIXTURE_TARGETS = loadTargets(join(FIXTURES, "targets.ws.json"));

/**
 * @param {string} name fixture target
 * @param {{ cases?: string, deflate?: boolean, extraArgs?: string }} [o]
 */
export async function runFixtureServer(name, o = {}) {
  const command =
    /** @type {string} */ (FIXTURE_TARGETS[name]) + (o.extraArgs === undefined ? "" : ` ${o.extraArgs}`);
  const run = await runServerMode({
    command,
    deflate: o.deflate ?? false,
    ...(o.cases === undefined ? {} : { cases: o.cases }),
    profile: PROFILES.quick,
    concurrency: 8,
  });
  return byId(run.results);
}

/**
 * @param {string} name fixture target
 * @param {{ cases?: string, extraArgs?: string }} [o]
 */
export async function runFixtureClient(name, o = {}) {
  const command =
    /** @type {string} */ (FIXTURE_TARGETS[name]) + (o.extraArgs === undefined ? "" : ` ${o.extraArgs}`);
  const run = await runClientMode({
    command,
    agent: name,
    ...(o.cases === undefined ? {} : { cases: o.cases }),
    profile: PROFILES.quick,
  });
  return byId(run.results);
}

/** @param {import('../src/server-mode.mjs').CaseResult[]} results */
export function byId(results) {
  return new Map(results.map((r) => [r.id, r]));
}

/**
 * Ids with a given verdict.
 * @param {Map<string, import('../src/server-mode.mjs').CaseResult>} results
 * @param {string} verdict
 */
export function idsWith(results, verdict) {
  return [...results.values()].filter((r) => r.verdict === verdict).map((r) => r.id);
}

/** Readable list for assertion messages. @param {Map<string, import('../src/server-mode.mjs').CaseResult>} results @param {string} verdict */
export function explain(results, verdict) {
  return [...results.values()]
    .filter((r) => r.verdict === verdict)
    .map((r) => `${r.id}: ${r.reason}`)
    .join("\n");
}
