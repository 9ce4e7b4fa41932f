// Our own implementations, as listed by the contract files (ARCHITECTURE.md, "Contracts other
// tools rely on"): every echo server in apps/echo/targets.json (with and without --deflate)
// and every echo client in apps/autobahn/targets.json must have no FAILED case. Targets named
// `*-h2` / `*-h2-tls` run over HTTP/2 streams (RFC 8441, src/http2.mjs).
// While a file does not exist yet, its tests are skipped with the reason.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runClientMode } from "../src/client-mode.mjs";
import { PROFILES } from "../src/context.mjs";
import { http2TransportOf } from "../src/http2.mjs";
import { loadTargets, REPO_ROOT } from "../src/process.mjs";
import { saveRun } from "../src/report.mjs";
import { runServerMode } from "../src/server-mode.mjs";

// Overridable to try other target lists (paths relative to the repository root).
const SERVER_TARGETS = process.env.AUTOBAHN_SERVER_TARGETS ?? "apps/echo/targets.json";
const CLIENT_TARGETS = process.env.AUTOBAHN_CLIENT_TARGETS ?? "apps/autobahn/targets.json";

/**
 * Records a run in apps/autobahn/results/ and rebuilds RESULTS.md and the README's conformance
 * table from it, so the published table is what the test run saw (issue #6).
 * @param {"client" | "server"} mode @param {string} target @param {boolean} deflate @param {number} started
 * @param {{ command: string, results: import('../src/server-mode.mjs').CaseResult[] }} outcome
 */
function record(mode, target, deflate, started, outcome) {
  saveRun({
    mode,
    target,
    deflate,
    profile: PROFILES.quick.name,
    cases: null,
    command: outcome.command,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    node: process.version,
    results: outcome.results,
  });
}

/** @param {import('../src/server-mode.mjs').CaseResult[]} results */
function failures(results) {
  return results.filter((r) => r.verdict === "FAILED").map((r) => `${r.id}: ${r.reason}`);
}

// The targets run side by side: each has its own process and ports, and most of a run is
// waiting (timeouts, pauses), so this keeps the whole test run short.
describe.concurrent(`echo servers from ${SERVER_TARGETS}`, () => {
  const file = join(REPO_ROOT, SERVER_TARGETS);
  if (!existsSync(file)) {
    it.skip(`skipped: ${SERVER_TARGETS} does not exist yet (contract in ARCHITECTURE.md)`, () => {});
    return;
  }
  for (const [name, command] of Object.entries(loadTargets(file)).filter(([, c]) => c.includes("{port}"))) {
    for (const deflate of [false, true]) {
      it(`${name}${deflate ? " --deflate" : ""} has no FAILED case`, { timeout: 600_000 }, async () => {
        const started = Date.now();
        const run = await runServerMode({
          command,
          deflate,
          profile: PROFILES.quick,
          concurrency: 4,
          http2: http2TransportOf(name),
        });
        record("server", name, deflate, started, run);
        expect(failures(run.results), run.targetOutput.slice(-2000)).toEqual([]);
      });
    }
  }
});

describe(`echo clients from ${CLIENT_TARGETS}`, () => {
  const file = join(REPO_ROOT, CLIENT_TARGETS);
  if (!existsSync(file)) {
    it.skip(`skipped: ${CLIENT_TARGETS} does not exist yet (contract in ARCHITECTURE.md)`, () => {});
    return;
  }
  for (const [name, command] of Object.entries(loadTargets(file)).filter(([, c]) => c.includes("{url}"))) {
    it(`${name} has no FAILED case`, { timeout: 600_000 }, async () => {
      const started = Date.now();
      const run = await runClientMode({
        command,
        agent: name,
        profile: PROFILES.quick,
        http2: http2TransportOf(name) !== null,
      });
      record("client", name, false, started, run);
      expect(failures(run.results), run.targetOutput.slice(-2000)).toEqual([]);
    });
  }
});
