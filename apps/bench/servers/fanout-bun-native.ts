// Fan-out server on Bun's native `Bun.serve` (uWebSockets), for the fan-out benchmark
// (src/fanout.mjs): /sub subscribes to topic "bench", each message from /pub is
// `server.publish("bench", message)`. --deflate: Bun's permessage-deflate (its publish
// compresses once with a shared compressor).
//
// Usage: bun apps/bench/servers/fanout-bun-native.ts --port N [--deflate]
const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1]);
const deflate = args.includes("--deflate");

const server = Bun.serve<{ sub: boolean }>({
  hostname: "127.0.0.1",
  port,
  fetch(req, srv) {
    const sub = new URL(req.url).pathname.startsWith("/sub");
    if (srv.upgrade(req, { data: { sub } })) return undefined;
    return new Response("Upgrade Required", { status: 426 });
  },
  websocket: {
    perMessageDeflate: deflate,
    // Large enough for 10,000 subscribers behind on a shared machine (as our default limit).
    backpressureLimit: 128 * 1024 * 1024,
    open(ws) {
      if (ws.data.sub) ws.subscribe("bench");
    },
    message(_ws, message) {
      server.publish("bench", message, deflate);
    },
  },
});
console.log(`bun native fan-out server listening on ws://127.0.0.1:${server.port}`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
