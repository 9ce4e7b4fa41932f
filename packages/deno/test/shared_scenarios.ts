/**
 * Runs a file of shared scenarios (tools/test-support/*-scenarios.ts) against this adapter:
 * every scenario file takes the same adapter (server, client, cleanup, the runner's `expect`,
 * and `observe`, `setDeflateConcurrency`, the echo server and the classes for the scenarios that
 * need them), so each suite is one call.
 */
import { expect } from "expect";
import {
  connect,
  HandshakeRejectedError,
  observe,
  setDeflateConcurrency,
  WebSocket,
  WebSocketServer,
} from "../src/mod.ts";
import { startEchoServer, test } from "./helpers.ts";

/** Registers one test per scenario, named `title: scenario`. */
export function runSharedScenarios(
  title: string,
  scenarios: Record<string, (adapter: never) => Promise<void>>,
): void {
  for (const [name, scenario] of Object.entries(scenarios)) {
    test(`${title}: ${name}`, (defer) =>
      // Each scenario file types its own narrower view of the adapter; this one satisfies them all.
      scenario({
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
      } as never));
  }
}
