#!/usr/bin/env node
// Autobahn client runner for the @ws/node client (apps/autobahn/targets.json):
//   node apps/echo/src/autobahn-client-node.mjs <url> <agent>
// It imports the built `@ws/node` (dist/): run `pnpm build` first.
import { WebSocket } from "@ws/node";
import { runAutobahnClient } from "./autobahn-client.mjs";

const [base, agent = "ws-node"] = process.argv.slice(2);
if (base === undefined) {
  console.error("usage: node apps/echo/src/autobahn-client-node.mjs <url> <agent>");
  process.exit(2);
}
const count = await runAutobahnClient({
  WebSocket,
  base,
  agent,
  debug: Boolean(process.env.AUTOBAHN_CLIENT_DEBUG),
});
console.log(`ran ${count} cases as ${agent}`);
