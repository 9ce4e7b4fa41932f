/**
 * Runs a file of shared scenarios (tools/test-support/*-scenarios.ts) against this adapter:
 * every scenario file takes the same adapter (tools/test-support/adapter.ts: this package's
 * exports, and the runner's cleanup, `expect` and echo server), so each suite is one call.
 */
import { expect } from "expect";
import { scenarioAdapter } from "../../../tools/test-support/adapter.ts";
import * as deno from "../src/mod.ts";
import { startEchoServer, test } from "./helpers.ts";

/** Registers one test per scenario, named `title: scenario`. */
export function runSharedScenarios(
  title: string,
  scenarios: Record<string, (adapter: never) => Promise<void>>,
): void {
  for (const [name, scenario] of Object.entries(scenarios)) {
    test(`${title}: ${name}`, (defer) =>
      scenario(scenarioAdapter(deno, { startEchoServer, defer, expect }) as never));
  }
}
