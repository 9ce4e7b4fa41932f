// Autobahn client runner for the @ws/deno client (apps/autobahn/targets.json):
//   node_modules/deno/deno run --conditions=@ws/source --allow-net --allow-env=AUTOBAHN_CLIENT_DEBUG apps/echo/src/autobahn-client-deno.ts <url> <agent>
import { WebSocket } from "../../../packages/deno/src/mod.ts";
import { runAutobahnClient } from "./autobahn-client.mjs";

const [base, agent = "ws-deno"] = Deno.args;
if (base === undefined) {
  console.error("usage: deno run --allow-net apps/echo/src/autobahn-client-deno.ts <url> <agent>");
  Deno.exit(2);
}
const debug = Boolean(Deno.env.get("AUTOBAHN_CLIENT_DEBUG"));
const count = await runAutobahnClient({ WebSocket, base, agent, debug });
console.log(`ran ${count} cases as ${agent}`);
