// Reference echo server for validating the interop suite itself: the `ws` package's
// WebSocketServer, following the apps/echo/targets.json contract (ARCHITECTURE.md):
// 127.0.0.1:{port}, every text/binary message echoed unchanged, subprotocols `chat` and
// `superchat` (the first one the client offers that we support), a client's close code and
// reason echoed back, `/close?code=C&reason=R` closed by the server at once with that code and
// reason, permessage-deflate with --deflate, no message-size limit below 16 MiB, one line on
// stdout when listening, stops on SIGTERM.
//
// Usage: node apps/interop/servers/ws-echo.mjs --port N [--deflate]

import { WebSocketServer } from "ws";

const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = Number(portIndex >= 0 ? args[portIndex + 1] : Number.NaN);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: ws-echo.mjs --port N [--deflate]");
  process.exit(2);
}
const deflate = args.includes("--deflate");
const SUPPORTED = ["chat", "superchat"];

const wss = new WebSocketServer({
  host: "127.0.0.1",
  port,
  perMessageDeflate: deflate,
  maxPayload: 64 * 1024 * 1024,
  handleProtocols: (protocols) => {
    // `protocols` is a Set in the client's order: pick the first one we support.
    for (const p of protocols) if (SUPPORTED.includes(p)) return p;
    return false;
  },
});

wss.on("connection", (ws, req) => {
  ws.on("error", () => {});
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (url.pathname === "/close") {
    const code = Number(url.searchParams.get("code") ?? 1000);
    const reason = url.searchParams.get("reason") ?? "";
    ws.close(code, reason);
    return;
  }
  // ws echoes the peer's close code and reason by itself when it answers a close frame.
  ws.on("message", (data, isBinary) => ws.send(/** @type {Buffer} */ (data), { binary: isBinary }));
});

wss.on("listening", () => {
  const address = /** @type {import("node:net").AddressInfo} */ (wss.address());
  console.log(
    `ws reference echo server listening on ws://127.0.0.1:${address.port}${deflate ? " (permessage-deflate)" : ""}`,
  );
});

process.on("SIGTERM", () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
