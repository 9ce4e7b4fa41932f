/**
 * Runs a file of shared scenarios (tools/test-support/*-scenarios.ts) against this adapter:
 * every scenario file takes the same adapter (server, client, cleanup, the runner's `expect`,
 * and `observe`, `setDeflateConcurrency`, the echo server and the classes for the scenarios that
 * need them), so each suite is one call.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  connect,
  HandshakeRejectedError,
  observe,
  setDeflateConcurrency,
  WebSocket,
  WebSocketServer,
} from "../src/index.ts";
import { cleanup, defer, startEchoServer } from "./helpers.ts";

// Each scenario file types its own narrower view of the adapter; this one satisfies them all.
const adapter = {
  createServer: (options: never) => new WebSocketServer(options),
  connect: (url: string, options: never) => connect(url, options),
  observe,
  setDeflateConcurrency,
  startEchoServer,
  WebSocket,
  WebSocketServer,
  HandshakeRejectedError,
  defer,
  expect,
};

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
