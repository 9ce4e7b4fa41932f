/**
 * Runs a file of shared scenarios (tools/test-support/*-scenarios.ts) against this adapter:
 * every scenario file takes the same adapter (server, client, cleanup, the runner's `expect`,
 * and `observe`, `setDeflateConcurrency`, the echo server and the classes for the scenarios that
 * need them), so each suite is one call.
 */
import { describe, expect, it } from "bun:test";
import {
  connect,
  HandshakeRejectedError,
  observe,
  setDeflateConcurrency,
  WebSocket,
  WebSocketServer,
} from "../src/index.ts";
import { cleanupAfterEach, startEchoServer } from "./helpers.ts";

/** Registers one test per scenario, under `title`. */
export function runSharedScenarios(
  title: string,
  scenarios: Record<string, (adapter: never) => Promise<void>>,
  timeoutMs: number,
): void {
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
    defer: cleanupAfterEach(),
    expect,
  };
  describe(title, () => {
    for (const [name, scenario] of Object.entries(scenarios))
      it(name, () => scenario(adapter as never), timeoutMs);
  });
}
