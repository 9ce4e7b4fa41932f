/**
 * Runs a file of shared scenarios (tools/test-support/*-scenarios.ts) against this adapter:
 * every scenario file takes the same adapter (tools/test-support/adapter.ts: this package's
 * exports, and the runner's cleanup, `expect` and echo server), so each suite is one call.
 */
import { describe, expect, it } from "bun:test";
import { scenarioAdapter } from "../../../tools/test-support/adapter.ts";
import * as bun from "../src/index.ts";
import { cleanupAfterEach, startEchoServer } from "./helpers.ts";

/** Registers one test per scenario, under `title`. */
export function runSharedScenarios(
  title: string,
  scenarios: Record<string, (adapter: never) => Promise<void>>,
  timeoutMs: number,
): void {
  const adapter = scenarioAdapter(bun, { startEchoServer, defer: cleanupAfterEach(), expect });
  describe(title, () => {
    for (const [name, scenario] of Object.entries(scenarios))
      it(name, () => scenario(adapter as never), timeoutMs);
  });
}
