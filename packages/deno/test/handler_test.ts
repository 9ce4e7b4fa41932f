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

/** Sends `request` on a raw TCP connection; resolves with what came back until the server closed. */
async function raw(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  let text = "";
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  conn.close();
  return text;
}

const adapter: Adapter = {
  createServer: (options) => new WebSocketServer(options) as unknown as HandlerServer,
  connect: async (url) => (await connect(url)) as unknown as HandlerClient,
  raw,
  expect,
};

test("handler: HTTP routes (fetch-style handler) and a WebSocket on one Deno.listen port", () =>
  routesAndWebSocket(adapter));

test("handler: options are checked", async () => optionsAreChecked(adapter));

test("one port for HTTP routes and WebSockets under Deno: node:http + @ws/node's WebSocketServer (the documented way)", async () =>
  nodeHttpAndWebSocket(adapter, (await import("@ws/node")).WebSocketServer as unknown as NodeServerClass));
