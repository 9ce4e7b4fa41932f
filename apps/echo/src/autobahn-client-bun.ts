// Autobahn client runner for the @ws/bun client (apps/autobahn/targets.json):
//   node_modules/bun/bin/bun.exe --conditions=@ws/source apps/echo/src/autobahn-client-bun.ts <url> <agent>
import process from "node:process";
import { WebSocket } from "../../../packages/bun/src/index.ts";
import { runAutobahnClient } from "./autobahn-client.mjs";

const [base, agent = "ws-bun"] = process.argv.slice(2);
if (base === undefined) {
  console.error("usage: bun apps/echo/src/autobahn-client-bun.ts <url> <agent>");
  process.exit(2);
}
const count = await runAutobahnClient({
  WebSocket,
  base,
  agent,
  debug: Boolean(process.env.AUTOBAHN_CLIENT_DEBUG),
});
console.log(`ran ${count} cases as ${agent}`);
