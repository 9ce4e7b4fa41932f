// Reference echo server: Bun's built-in `Bun.serve` with a `websocket` handler (uWebSockets
// underneath). Follows the apps/echo/targets.json contract (ARCHITECTURE.md): 127.0.0.1:{port},
// echo, subprotocols chat/superchat, /close?code=C&reason=R, /gc (the memory measurement's
// control, apps/echo/src/collect-garbage.mjs), permessage-deflate with --deflate,
// one line on stdout when listening, stops on SIGTERM.
//
// Usage: bun run apps/bench/servers/bun-native-echo.ts --port N [--deflate]

import { garbageReport } from "../../echo/src/collect-garbage.mjs";

const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = Number(portIndex >= 0 ? args[portIndex + 1] : Number.NaN);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: bun-native-echo.ts --port N [--deflate]");
  process.exit(2);
}
const deflate = args.includes("--deflate");
const SUPPORTED = ["chat", "superchat"];
/** permessage-deflate threshold, as for ws and our servers: smaller messages are sent uncompressed. */
const THRESHOLD = 1024;

type Data = { close: { code: number; reason: string } | null; gc: boolean };

function pickProtocol(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const p of header.split(",")) {
    const name = p.trim();
    if (SUPPORTED.includes(name)) return name;
  }
  return undefined;
}

const server = Bun.serve<Data>({
  hostname: "127.0.0.1",
  port,
  fetch(req, srv) {
    const url = new URL(req.url);
    const close =
      url.pathname === "/close"
        ? { code: Number(url.searchParams.get("code") ?? 1000), reason: url.searchParams.get("reason") ?? "" }
        : null;
    const protocol = pickProtocol(req.headers.get("sec-websocket-protocol"));
    const upgraded = srv.upgrade(req, {
      data: { close, gc: url.pathname === "/gc" },
      ...(protocol === undefined ? {} : { headers: { "Sec-WebSocket-Protocol": protocol } }),
    });
    if (upgraded) return undefined;
    return new Response("WebSocket only\n", { status: 426, headers: { "Sec-WebSocket-Version": "13" } });
  },
  websocket: {
    maxPayloadLength: 64 * 1024 * 1024,
    backpressureLimit: 256 * 1024 * 1024, // the benchmark client bounds what is in flight
    closeOnBackpressureLimit: false,
    idleTimeout: 0,
    sendPings: false,
    // With --deflate, the same settings as ws and our servers: context takeover both ways
    // ("dedicated": a compressor and decompressor per connection; `true` would mean Bun's shared
    // compressor, which negotiates no context takeover), and echoes of 1 KiB or more sent
    // compressed (Bun's send() compresses only when asked to).
    perMessageDeflate: deflate ? { compress: "dedicated", decompress: "dedicated" } : false,
    open(ws) {
      if (ws.data.gc) {
        ws.send(garbageReport());
        ws.close(1000);
        return;
      }
      const close = ws.data.close;
      if (close !== null) ws.close(close.code, close.reason);
    },
    message(ws, message) {
      ws.send(
        message,
        deflate &&
          (typeof message === "string" ? Buffer.byteLength(message) : message.byteLength) >= THRESHOLD,
      );
    },
  },
});

console.log(
  `bun native echo server listening on 127.0.0.1:${server.port}${deflate ? " (permessage-deflate)" : ""}`,
);

process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
