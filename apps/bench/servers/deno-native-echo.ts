// Reference echo server: Deno's built-in `Deno.serve` + `Deno.upgradeWebSocket`. Follows the
// apps/echo/targets.json contract (ARCHITECTURE.md) as far as Deno's API allows:
// 127.0.0.1:{port}, echo, subprotocols chat/superchat, /close?code=C&reason=R, /gc (the memory
// measurement's control, apps/echo/src/collect-garbage.mjs), one line on
// stdout when listening, stops on SIGTERM. Deno's server WebSocket has no permessage-deflate:
// --deflate is accepted and ignored (the benchmark reports what was negotiated).
//
// Usage: deno run --allow-net apps/bench/servers/deno-native-echo.ts --port N [--deflate]

import { garbageReport } from "../../echo/src/collect-garbage.mjs";

const args = Deno.args;
const portIndex = args.indexOf("--port");
const port = Number(portIndex >= 0 ? args[portIndex + 1] : Number.NaN);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: deno-native-echo.ts --port N [--deflate]");
  Deno.exit(2);
}
const deflate = args.includes("--deflate");
const SUPPORTED = ["chat", "superchat"];

function pickProtocol(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const p of header.split(",")) {
    const name = p.trim();
    if (SUPPORTED.includes(name)) return name;
  }
  return undefined;
}

const server = Deno.serve(
  {
    hostname: "127.0.0.1",
    port,
    onListen: () => {
      console.log(
        `deno native echo server listening on 127.0.0.1:${port}${deflate ? " (permessage-deflate not supported, ignored)" : ""}`,
      );
    },
  },
  (req) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("WebSocket only\n", { status: 426, headers: { "Sec-WebSocket-Version": "13" } });
    }
    const protocol = pickProtocol(req.headers.get("sec-websocket-protocol"));
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    // Set the header ourselves: Deno's `protocol` option only matches offers separated by ", ".
    if (protocol !== undefined) response.headers.set("Sec-WebSocket-Protocol", protocol);
    socket.binaryType = "arraybuffer";
    const url = new URL(req.url);
    if (url.pathname === "/close") {
      socket.onopen = () => {
        socket.close(Number(url.searchParams.get("code") ?? 1000), url.searchParams.get("reason") ?? "");
      };
      return response;
    }
    if (url.pathname === "/gc") {
      socket.onopen = () => {
        socket.send(garbageReport());
        socket.close(1000);
      };
      return response;
    }
    socket.onmessage = (e) => socket.send(e.data);
    socket.onerror = () => {};
    return response;
  },
);

Deno.addSignalListener("SIGTERM", () => {
  server.shutdown().finally(() => Deno.exit(0));
  setTimeout(() => Deno.exit(0), 500);
});
