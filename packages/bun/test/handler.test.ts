/**
 * `handler` mode of @ws/bun's `WebSocketServer`: HTTP routes (a fetch-style handler) and
 * WebSockets on the one `Bun.listen` port, with real sockets: the shared scenarios
 * (tools/test-support/handler-scenarios.ts).
 */
import { expect, it } from "bun:test";
import { connect as netConnect } from "node:net";
import {
  type Adapter,
  type HandlerClient,
  type HandlerServer,
  type NodeServerClass,
  nodeHttpAndWebSocket,
  optionsAreChecked,
  routesAndWebSocket,
} from "../../../tools/test-support/handler-scenarios.ts";
import { connect, WebSocketServer } from "../src/index.ts";

/** Sends `request` on a raw TCP connection; resolves with what came back until the server closed. */
async function raw(port: number, request: string): Promise<string> {
  const socket = netConnect({ host: "127.0.0.1", port });
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  socket.on("end", () => socket.end());
  socket.write(request);
  await new Promise((resolve) => socket.once("close", resolve));
  return text;
}

const adapter: Adapter = {
  createServer: (options) => new WebSocketServer(options) as unknown as HandlerServer,
  connect: async (url) => (await connect(url)) as unknown as HandlerClient,
  raw,
  expect,
};

it("handler: HTTP routes (fetch-style handler) and a WebSocket on one Bun.listen port", () =>
  routesAndWebSocket(adapter));

it("handler: options are checked", () => optionsAreChecked(adapter));

it("one port for HTTP routes and WebSockets under Bun: node:http + @ws/node's WebSocketServer (the documented way)", async () =>
  nodeHttpAndWebSocket(adapter, (await import("@ws/node")).WebSocketServer as unknown as NodeServerClass));
