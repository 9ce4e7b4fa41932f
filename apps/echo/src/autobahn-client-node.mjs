#!/usr/bin/env node
// Autobahn client runner for the @ws/node client (apps/autobahn/targets.json):
//   node apps/echo/src/autobahn-client-node.mjs <url> <agent> [--http2]
// --http2: every WebSocket is an Extended CONNECT stream of one HTTP/2 connection (RFC 8441).
// It imports the built `@ws/node` (dist/): run `pnpm build` first.
import { WebSocket } from "@ws/node";
import { runAutobahnClient } from "./autobahn-client.mjs";

const http2 = process.argv.includes("--http2");
const [base, agent = "ws-node"] = process.argv.slice(2).filter((arg) => arg !== "--http2");
if (base === undefined) {
  console.error("usage: node apps/echo/src/autobahn-client-node.mjs <url> <agent>");
  process.exit(2);
}
const count = await runAutobahnClient({
  WebSocket,
  base,
  agent,
  debug: Boolean(process.env.AUTOBAHN_CLIENT_DEBUG),
  options: http2 ? { http2: true } : {},
});
console.log(`ran ${count} cases as ${agent}`);
