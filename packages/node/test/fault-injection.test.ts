/**
 * Fault injection with real sockets on loopback on Node: the shared scenarios
 * (tools/test-support/fault-scenarios.ts), with one check more than on Deno and Bun. Node's
 * servers here run on an HTTP server of the test's own (the `server` option), so that every
 * scenario also checks that the server holds no socket afterwards (`getConnections`); Deno's and
 * Bun's servers listen on their runtime's own server, which has no such count.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import {
  clientScenarios,
  type FaultServer,
  serverScenarios,
} from "../../../tools/test-support/fault-scenarios.ts";
import { WebSocketServer } from "../src/index.ts";
import { sleep } from "./helpers.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

const httpServers = new WeakMap<FaultServer, HttpServer>();

/** A `WebSocketServer` on an HTTP server of its own, listening where `options` say. */
function createServer({ port, host, ...options }: Record<string, unknown>): FaultServer {
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, ...options });
  http.listen(port as number, host as string);
  const server: FaultServer = {
    on: (event, listener) => wss.on(event, listener as never),
    once: (event, listener) => http.once(event, listener),
    address: () => wss.address(),
    async close(timeout) {
      await wss.close(timeout);
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  httpServers.set(server, http);
  return server;
}

/** The number of sockets the HTTP server still holds, once it has settled (polled, bounded). */
async function openSockets(server: FaultServer): Promise<number> {
  const http = httpServers.get(server) as HttpServer;
  let count = -1;
  for (let i = 0; i < 100; i++) {
    count = await new Promise<number>((resolve, reject) =>
      http.getConnections((error, n) => (error ? reject(error) : resolve(n))),
    );
    if (count === 0) return 0;
    await sleep(20);
  }
  return count;
}

runSharedScenarios("fault injection, real sockets (server side)", serverScenarios, 30_000, {
  createServer,
  openSockets,
});
runSharedScenarios("fault injection, real sockets (client side)", clientScenarios, 30_000);
