/**
 * Runs a file of shared scenarios (tools/test-support/*-scenarios.ts) against this adapter:
 * every scenario file takes the same adapter (tools/test-support/adapter.ts: this package's
 * exports, and the runner's cleanup, `expect` and echo server), so each suite is one call.
 */
import { afterEach, describe, expect, it } from "vitest";
import { scenarioAdapter } from "../../../tools/test-support/adapter.ts";
import * as node from "../src/index.ts";
import { cleanup, defer, startEchoServer } from "./helpers.ts";

const adapter = scenarioAdapter(node, { startEchoServer, defer, expect });

/**
 * Registers one test per scenario, under `title`; `overrides` replaces or adds parts of the
 * adapter (what a scenario file lets a runtime do beyond the common adapter). A scenario for
 * which `skip` gives a reason is registered as skipped, with the reason in its name.
 */
export function runSharedScenarios<S extends (adapter: never) => Promise<void>>(
  title: string,
  scenarios: Record<string, S>,
  timeoutMs: number,
  overrides: Record<string, unknown> = {},
  skip: (scenario: S) => string | undefined = () => undefined,
): void {
  afterEach(cleanup);
  const withOverrides = { ...adapter, ...overrides };
  describe(title, () => {
    for (const [name, scenario] of Object.entries(scenarios)) {
      const reason = skip(scenario);
      if (reason === undefined) it(name, () => scenario(withOverrides as never), timeoutMs);
      else it.skip(`${name} (skipped: ${reason})`, () => scenario(withOverrides as never));
    }
  });
}
