/**
 * `handler` mode of @ws/bun's `WebSocketServer`: HTTP routes (a fetch-style handler) and
 * WebSockets on the one `Bun.listen` port, with real sockets: the shared scenarios
 * (tools/test-support/handler-scenarios.ts).
 */
import { expect, it } from "bun:test";
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

const adapter: Adapter = {
  createServer: (options) => new WebSocketServer(options) as unknown as HandlerServer,
  connect: async (url) => (await connect(url)) as unknown as HandlerClient,
  expect,
};

it("handler: HTTP routes (fetch-style handler) and a WebSocket on one Bun.listen port", () =>
  routesAndWebSocket(adapter));

it("handler: options are checked", () => optionsAreChecked(adapter));

it("one port for HTTP routes and WebSockets under Bun: node:http + @ws/node's WebSocketServer (the documented way)", async () =>
  nodeHttpAndWebSocket(adapter, (await import("@ws/node")).WebSocketServer as unknown as NodeServerClass));
