/**
 * `handler` mode of @ws/deno's `WebSocketServer`: HTTP routes (a fetch-style handler) and
 * WebSockets on the one `Deno.listen` port, with real sockets: the shared scenarios
 * (tools/test-support/handler-scenarios.ts).
 */
import { expect } from "expect";
import {
  type Adapter,
  type HandlerClient,
  type HandlerServer,
  type NodeServerClass,
  nodeHttpAndWebSocket,
  optionsAreChecked,
  routesAndWebSocket,
} from "../../../tools/test-support/handler-scenarios.ts";
import { connect, WebSocketServer } from "../src/mod.ts";
import { test } from "./helpers.ts";

const adapter: Adapter = {
  createServer: (options) => new WebSocketServer(options) as unknown as HandlerServer,
  connect: async (url) => (await connect(url)) as unknown as HandlerClient,
  expect,
};

test("handler: HTTP routes (fetch-style handler) and a WebSocket on one Deno.listen port", () =>
  routesAndWebSocket(adapter));

test("handler: options are checked", async () => optionsAreChecked(adapter));

test("one port for HTTP routes and WebSockets under Deno: node:http + @ws/node's WebSocketServer (the documented way)", async () =>
  nodeHttpAndWebSocket(adapter, (await import("@ws/node")).WebSocketServer as unknown as NodeServerClass));
