// Reference echo server: the `ws` package's WebSocketServer. Follows the apps/echo/targets.json
// contract (ARCHITECTURE.md): 127.0.0.1:{port}, every text/binary message echoed unchanged,
// subprotocols chat/superchat, /close?code=C&reason=R, /gc (the memory measurement's control), permessage-deflate with --deflate,
// one line on stdout when listening, stops on SIGTERM.
//
// Usage: node apps/bench/servers/ws-echo.mjs --port N [--deflate]

import { createRequire } from "node:module";
import { WebSocketServer } from "ws";
import { garbageReport } from "../../echo/src/collect-garbage.mjs";

// ws masks and unmasks with the bufferutil addon when it can load it (its README recommends
// installing it; the bench installs it) unless WS_NO_BUFFER_UTIL is set (the `ws-nobu` target).
// Said in the ready line, so the report shows which one ran.
let bufferUtil = "not used (WS_NO_BUFFER_UTIL)";
if (!process.env.WS_NO_BUFFER_UTIL) {
  try {
    createRequire(createRequire(import.meta.url).resolve("ws"))("bufferutil");
    bufferUtil = "native";
  } catch {
    bufferUtil = "not installed";
  }
}

const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = Number(portIndex >= 0 ? args[portIndex + 1] : Number.NaN);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: ws-echo.mjs --port N [--deflate]");
  process.exit(2);
}
const deflate = args.includes("--deflate");
const SUPPORTED = ["chat", "superchat"];

/**
 * permessage-deflate settings when --deflate is given: ws's defaults (context takeover both
 * ways, 15 window bits, level from zlib's default, messages under 1 KiB sent uncompressed).
 * Keep these in step with what our servers use so the compression benchmark compares like
 * with like.
 */
const DEFLATE = { threshold: 1024 };

const wss = new WebSocketServer({
  host: "127.0.0.1",
  port,
  perMessageDeflate: deflate ? DEFLATE : false,
  maxPayload: 64 * 1024 * 1024,
  clientTracking: true,
  handleProtocols: (protocols) => {
    for (const p of protocols) if (SUPPORTED.includes(p)) return p;
    return false;
  },
});

wss.on("connection", (ws, req) => {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (url.pathname === "/close") {
    ws.close(Number(url.searchParams.get("code") ?? 1000), url.searchParams.get("reason") ?? "");
    return;
  }
  if (url.pathname === "/gc") {
    ws.send(garbageReport());
    ws.close(1000);
    return;
  }
  ws.on("message", (data, isBinary) => ws.send(/** @type {Buffer} */ (data), { binary: isBinary }));
  ws.on("error", () => {}); // a benchmark client resets its sockets when a run ends
});

wss.on("listening", () => {
  console.log(
    `ws echo server listening on 127.0.0.1:${port}${deflate ? " (permessage-deflate)" : ""}; bufferutil: ${bufferUtil}`,
  );
});

process.on("SIGTERM", () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
