// Fan-out server on the `ws` package, for the fan-out benchmark (src/fanout.mjs): `ws` has no
// topics, so a message from /pub is sent with a loop over the /sub clients (ws's documented
// broadcast pattern). --deflate: permessage-deflate with server_no_context_takeover.
//
// Usage: node apps/bench/servers/fanout-ws.mjs --port N [--deflate]
import { WebSocketServer } from "ws";

const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1]);
const deflate = args.includes("--deflate");
const wss = new WebSocketServer({
  host: "127.0.0.1",
  port,
  perMessageDeflate: deflate ? { serverNoContextTakeover: true, threshold: 1024 } : false,
});
const subscribers = new Set();
wss.on("connection", (ws, request) => {
  if (request.url?.startsWith("/sub")) {
    subscribers.add(ws);
    ws.on("close", () => subscribers.delete(ws));
    return;
  }
  ws.on("message", (data, isBinary) => {
    for (const subscriber of subscribers) subscriber.send(data, { binary: isBinary });
  });
});
wss.on("listening", () => console.log(`ws fan-out server listening on ws://127.0.0.1:${port}`));
process.on("SIGTERM", () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
});
