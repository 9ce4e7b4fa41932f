// Fan-out server on our adapters, for the fan-out benchmark (src/fanout.mjs):
// a connection to /sub subscribes to topic "bench"; each message a connection to /pub sends
// goes to every subscriber, with `server.publish` (--mode publish, the default) or with a loop
// over the subscribers calling `socket.send` (--mode loop: what users wrote before topics).
// --deflate: permessage-deflate with server_no_context_takeover (compressed once per publish).
// --redis URL: the Redis broker (publisher and subscribers on different processes).
// The runtime picks the adapter: Node the built @ws/node, Deno and Bun the sources.
//
// Usage: node|bun|deno run -A apps/bench/servers/fanout-ours.mjs --port N [--mode publish|loop] [--deflate] [--redis URL]
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    port: { type: "string" },
    mode: { type: "string", default: "publish" },
    deflate: { type: "boolean" },
    redis: { type: "string" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || (values.mode !== "publish" && values.mode !== "loop")) {
  console.error("usage: fanout-ours.mjs --port N [--mode publish|loop] [--deflate] [--redis URL]");
  process.exit(2);
}
// Non-literal specifiers: the TypeScript sources are for Deno and Bun, not for this check.
const adapterPath =
  "Deno" in globalThis
    ? "../../../packages/deno/src/mod.ts"
    : "Bun" in globalThis
      ? "../../../packages/bun/src/index.ts"
      : "@ws/node";
const redisPath =
  "Deno" in globalThis || "Bun" in globalThis ? "../../../packages/redis/src/index.ts" : "@ws/redis";
/** @type {any} @ws/node, @ws/deno or @ws/bun: the same API */
const adapter = await import(adapterPath);
/** @type {any} */
const redis = await import(redisPath);
const broker = values.redis === undefined ? undefined : new redis.RedisBroker({ url: values.redis });

const server = new adapter.WebSocketServer({
  host: "127.0.0.1",
  port,
  perMessageDeflate: values.deflate === true ? { serverNoContextTakeover: true } : false,
  ...(broker === undefined ? {} : { broker }),
});
/** @type {Set<{ send(data: string | Uint8Array): boolean }>} The subscribers, for --mode loop. */
const subscribers = new Set();
server.on("error", (/** @type {Error} */ error) => console.error(error.message));
server.on("connection", (/** @type {any} */ socket, /** @type {unknown} */ request) => {
  const head = /** @type {{ url?: string, target?: string }} */ (/** @type {unknown} */ (request));
  const path = String(head.url ?? head.target);
  if (path.startsWith("/sub")) {
    if (values.mode === "publish") socket.subscribe("bench");
    else {
      subscribers.add(socket);
      socket.addEventListener("close", () => subscribers.delete(socket));
    }
    return;
  }
  socket.binaryType = "uint8array";
  socket.addEventListener("message", (/** @type {{ data: string | Uint8Array }} */ event) => {
    const data = event.data;
    if (values.mode === "publish") server.publish("bench", data);
    else for (const subscriber of subscribers) subscriber.send(data);
  });
});
await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
if (broker !== undefined) await broker.connected();
console.log(`fan-out server (${values.mode}) listening on ws://127.0.0.1:${port}`);
process.on("SIGTERM", () => server.close(200).finally(() => process.exit(0)));
