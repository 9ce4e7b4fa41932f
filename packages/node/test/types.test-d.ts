/**
 * Type tests of `@ws/node` (run by `vitest` in typecheck mode): the server's sockets are typed
 * by the server's `binaryType` option (default `"uint8array"`), the client's by its own, and
 * the server's events keep `ws`'s argument lists.
 */
import type { IncomingMessage } from "node:http";
import { describe, expectTypeOf, it } from "vitest";
import {
  type CloseEvent,
  connect,
  type Http2ConnectRequest,
  WebSocket,
  type WebSocketErrorEvent,
  WebSocketServer,
} from "../src/index.ts";

describe("server", () => {
  it("hands out sockets whose message data is string | Uint8Array by default", () => {
    const wss = new WebSocketServer({ port: 0 });
    wss.on("connection", (ws, request) => {
      expectTypeOf(ws).toEqualTypeOf<WebSocket<"uint8array">>();
      expectTypeOf(request).toEqualTypeOf<IncomingMessage | Http2ConnectRequest>();
      ws.addEventListener("message", (event) => {
        expectTypeOf(event.data).toEqualTypeOf<string | Uint8Array>();
        ws.send(event.data);
      });
      ws.onclose = (event) => expectTypeOf(event).toEqualTypeOf<CloseEvent>();
      ws.onerror = (event) => expectTypeOf(event).toEqualTypeOf<WebSocketErrorEvent>();
    });
    wss.on("error", (error) => expectTypeOf(error).toEqualTypeOf<Error>());
    expectTypeOf(wss.clients).toEqualTypeOf<Set<WebSocket<"uint8array">>>();
  });

  it("follows its binaryType option", () => {
    const wss = new WebSocketServer({ noServer: true, binaryType: "arraybuffer" });
    wss.on("connection", (ws) => {
      ws.onmessage = (event) => expectTypeOf(event.data).toEqualTypeOf<string | ArrayBuffer>();
    });
  });

  it("lets a helper typed with plain WebSocket take any socket", () => {
    const handle = (ws: WebSocket): string => ws.url;
    const wss = new WebSocketServer({ port: 0 });
    wss.on("connection", handle);
  });
});

describe("client", () => {
  it("infers binaryType from the options, in either argument position", () => {
    expectTypeOf(new WebSocket("ws://127.0.0.1:1", { binaryType: "arraybuffer" })).toEqualTypeOf<
      WebSocket<"arraybuffer">
    >();
    expectTypeOf(new WebSocket("ws://127.0.0.1:1", ["chat"], { binaryType: "blob" })).toEqualTypeOf<
      WebSocket<"blob">
    >();
    expectTypeOf(new WebSocket("ws://127.0.0.1:1")).toEqualTypeOf<WebSocket>();
    expectTypeOf(connect("ws://127.0.0.1:1", { binaryType: "uint8array" })).toEqualTypeOf<
      Promise<WebSocket<"uint8array">>
    >();
  });

  it("iterates messages as string | Uint8Array whatever binaryType is", async () => {
    const ws = await connect("ws://127.0.0.1:1", { binaryType: "blob" });
    for await (const message of ws) expectTypeOf(message).toEqualTypeOf<string | Uint8Array>();
  });
});
