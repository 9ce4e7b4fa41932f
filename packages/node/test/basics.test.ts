/**
 * The basics every adapter shares (tools/test-support/basics-scenarios.ts), on Node: echo,
 * close orderings, limits, backpressure, ping, handshake rejections, graceful shutdown, bounded
 * handshakes, WebIDL shape. The scenarios whose peer is the runtime's native `WebSocket` client
 * run where Node has one (22 and later: `test:node24`); Node 20 has no `globalThis.WebSocket`.
 * Node's own files keep what differs on Node (`ws` as the peer, node:http attachment, proxies,
 * redirects, HTTP/2).
 */
import { basicsScenarios, nativeClientScenarios } from "../../../tools/test-support/basics-scenarios.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

const noNativeClient =
  typeof globalThis.WebSocket === "function"
    ? undefined
    : `Node ${process.versions.node} has no globalThis.WebSocket (test:node24 runs it)`;

for (const [title, scenarios] of Object.entries(basicsScenarios))
  runSharedScenarios(title, scenarios, 60_000, {}, (scenario) =>
    nativeClientScenarios.has(scenario) ? noNativeClient : undefined,
  );
