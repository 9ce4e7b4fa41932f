// Autobahn client runner for the @ws/bun client (apps/autobahn/targets.json):
//   node_modules/bun/bin/bun.exe --conditions=@ws/source apps/echo/src/autobahn-client-bun.ts <url> <agent>
// The standard Autobahn client protocol: GET <url>/getCaseCount reads a number; for each case i,
// connect to <url>/runCase?case=i&agent=<agent> and echo every message until the server
// closes; finally <url>/updateReports?agent=<agent>.
//
// It runs from the TypeScript sources (no build needed).
import process from "node:process";
import { WebSocket } from "../../../packages/bun/src/index.ts";

const [base, agent = "ws-bun"] = process.argv.slice(2);
if (base === undefined) {
  console.error(
    "usage: node_modules/bun/bin/bun.exe --conditions=@ws/source apps/echo/src/autobahn-client-bun.ts <url> <agent>",
  );
  process.exit(2);
}
const root = base.replace(/\/+$/, "");

/** Opens `url`, calls `onMessage(ws, data)` for each message, resolves when the connection closes. */
function session(
  url: string,
  onMessage: (ws: WebSocket, data: string | Uint8Array) => void,
): Promise<unknown> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, undefined, { binaryType: "uint8array", handshakeTimeout: 60_000 });
    ws.onmessage = (event) => onMessage(ws, (event as MessageEvent).data);
    ws.onerror = (event) => {
      if (process.env.AUTOBAHN_CLIENT_DEBUG) console.error(url, (event as ErrorEvent).message);
    };
    ws.onclose = (event) => resolve(event);
  });
}

let count = 0;
await session(`${root}/getCaseCount`, (_ws, data) => {
  count = Number(data);
});
if (!Number.isInteger(count) || count <= 0) {
  console.error(`cannot read the case count from ${root}/getCaseCount`);
  process.exit(1);
}
for (let i = 1; i <= count; i++) {
  const url = `${root}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`;
  await session(url, (ws, data) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(data);
  });
}
await session(`${root}/updateReports?agent=${encodeURIComponent(agent)}`, () => {});
console.log(`ran ${count} cases as ${agent}`);
