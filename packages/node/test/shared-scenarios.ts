/**
 * Runs a file of shared scenarios (tools/test-support/*-scenarios.ts) against this adapter:
 * every scenario file takes the same adapter (server, client, cleanup, the runner's `expect`,
 * and `observe` and `setDeflateConcurrency` for the scenarios that need them), so each suite is
 * one call.
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect, observe, setDeflateConcurrency, WebSocketServer } from "../src/index.ts";
import { cleanup, defer } from "./helpers.ts";

// Each scenario file types its own narrower view of the adapter; this one satisfies them all.
const adapter = {
  createServer: (options: never) => new WebSocketServer(options),
  connect: (url: string, options: never) => connect(url, options),
  observe,
  setDeflateConcurrency,
  defer,
  expect,
};

/**
 * Registers one test per scenario, under `title`; `overrides` replaces or adds parts of the
 * adapter (what a scenario file lets a runtime do beyond the common adapter).
 */
export function runSharedScenarios(
  title: string,
  scenarios: Record<string, (adapter: never) => Promise<void>>,
  timeoutMs: number,
  overrides: Record<string, unknown> = {},
): void {
  afterEach(cleanup);
  const withOverrides = { ...adapter, ...overrides };
  describe(title, () => {
    for (const [name, scenario] of Object.entries(scenarios))
      it(name, () => scenario(withOverrides as never), timeoutMs);
  });
}
