// The pub/sub echo servers of the contract in ARCHITECTURE.md (apps/echo/targets.json:
// node-pubsub, deno-pubsub, bun-pubsub), written once for every runtime:
//
//   --port <port> [--host <host>] [--deflate] [--redis <url>] [--workers <n>] [--reuse-port]
//
// The echo contract, plus: a connection to /topic/NAME subscribes to topic NAME, and each text
// message it sends is published to that topic (the sender included; its binary messages are
// echoed). --redis makes the process use the Redis broker at <url>, so that processes share
// their topics. Many processes on one port: --workers <n> (Node: n node:cluster workers behind
// this process) or --reuse-port (Deno, Bun: SO_REUSEPORT; start the command n times). Each 101
// response names the process that accepted the connection (`X-Echo-Process: <pid>`), so that a
// tool can see how connections spread over the processes. One line is printed once the process
// (with --workers: every worker) listens and its broker is connected; SIGTERM/SIGINT close
// every connection with 1001 and exit.
import process from "node:process";
import { parseArgs } from "node:util";

/**
 * @typedef {{
 *   WebSocketServer: new (options: any) => any,
 *   RedisBroker: new (options: { url: string }) => any,
 *   serveEcho: (ws: any) => void,
 *   ECHO_SERVER_OPTIONS: object,
 * }} PubsubRuntime
 */

/** Serves one connection: a topic connection publishes its text, anything else is echoed. */
function serveTopic(server, ws) {
  const match = /^\/topic\/([^?]+)/.exec(new URL(ws.url).pathname);
  if (match === null) return false;
  const topic = decodeURIComponent(match[1]);
  ws.subscribe(topic);
  ws.binaryType = "uint8array";
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") {
      if (ws.readyState === 1) ws.send(event.data);
      return;
    }
    try {
      server.publish(topic, event.data);
    } catch (error) {
      // The broker is unreachable: the sender learns it (1011 Internal Error), nothing is lost silently.
      console.error(`cannot publish to ${topic}: ${error.message}`);
      ws.close(1011, "Broker unavailable");
    }
  });
  return true;
}

/**
 * @param {string} name the adapter, for the listening line
 * @param {PubsubRuntime} runtime
 * @param {{
 *   fork?: (count: number, args: string[]) => Promise<void>,
 *   ready?: () => void,
 * }} [multi] Node's cluster: `fork` (the primary) resolves once every worker called `ready`
 *   (a worker), which replaces the worker's own listening line
 */
export async function runPubsubCli(name, runtime, multi = {}) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      deflate: { type: "boolean" },
      redis: { type: "string" },
      workers: { type: "string" },
      "reuse-port": { type: "boolean" },
    },
  });
  const port = Number(values.port);
  const workers = values.workers === undefined ? 1 : Number(values.workers);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(workers) || workers < 1) {
    console.error(
      `usage: ${name} pubsub echo server --port <port> [--host <host>] [--deflate] [--redis <url>] [--workers <n>] [--reuse-port]`,
    );
    process.exit(2);
  }
  const host = values.host ?? "127.0.0.1";
  if (workers > 1) {
    if (multi.fork === undefined) {
      console.error(`${name}: --workers is Node's (node:cluster); use --reuse-port and start n processes`);
      process.exit(2);
    }
    await multi.fork(
      workers,
      process.argv.slice(2).filter((arg, i, all) => arg !== "--workers" && all[i - 1] !== "--workers"),
    );
    console.log(`${name} pubsub echo server listening on ws://${host}:${port} (${workers} workers)`);
    return;
  }
  const broker = values.redis === undefined ? undefined : new runtime.RedisBroker({ url: values.redis });
  const server = new runtime.WebSocketServer({
    ...runtime.ECHO_SERVER_OPTIONS,
    port,
    host,
    perMessageDeflate: values.deflate === true,
    ...(broker === undefined ? {} : { broker }),
    ...(values["reuse-port"] === true ? { reusePort: true } : {}),
    verify: () => ({ headers: { "X-Echo-Process": String(process.pid) } }),
  });
  // Broker failures are reported, never thrown into the event loop.
  server.on("error", (error) => console.error(`${name}: ${error.message}`));
  server.on("connection", (ws) => {
    if (!serveTopic(server, ws)) runtime.serveEcho(ws);
  });
  await new Promise((resolve) => server.once("listening", resolve));
  if (broker !== undefined) await broker.connected().catch(() => {});
  if (multi.ready !== undefined) multi.ready();
  else console.log(`${name} pubsub echo server listening on ws://${host}:${server.address().port}`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(1000).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
