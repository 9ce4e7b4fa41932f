/**
 * Type tests of the shared `WebSocket` (run by `vitest` in typecheck mode, with the DOM lib, as
 * in a browser or Deno project): typed events, `data` following `binaryType`, and where the
 * socket is (and is not) assignable to the DOM `WebSocket` type. A regression fails `pnpm test`.
 */
import { describe, expectTypeOf, it } from "vitest";
import {
  type BinaryType,
  type CloseEvent,
  type MessageEventData,
  WebSocket,
  type WebSocketErrorEvent,
  type WebSocketEventMap,
} from "../src/index.ts";

declare const url: string;

describe("events", () => {
  it("types addEventListener's events by name", () => {
    const ws = new WebSocket(url, [], { binaryType: "arraybuffer" });
    ws.addEventListener("message", (event) => {
      expectTypeOf(event).toEqualTypeOf<MessageEvent<string | ArrayBuffer>>();
      expectTypeOf(event.data).toEqualTypeOf<string | ArrayBuffer>();
    });
    ws.addEventListener("close", (event) => {
      expectTypeOf(event).toEqualTypeOf<CloseEvent>();
      expectTypeOf(event.code).toEqualTypeOf<number>();
      expectTypeOf(event.reason).toEqualTypeOf<string>();
      expectTypeOf(event.wasClean).toEqualTypeOf<boolean>();
    });
    ws.addEventListener("error", (event) => {
      expectTypeOf(event).toEqualTypeOf<WebSocketErrorEvent>();
      expectTypeOf(event.error).toEqualTypeOf<unknown>();
      expectTypeOf(event.message).toEqualTypeOf<string>();
    });
    ws.addEventListener("open", (event) => expectTypeOf(event).toEqualTypeOf<Event>());
    ws.addEventListener("message", {
      handleEvent: (event) => expectTypeOf(event.data).toEqualTypeOf<string | ArrayBuffer>(),
    });
    // Other event names fall back to the EventTarget signature.
    ws.addEventListener("custom", (event) => expectTypeOf(event).toEqualTypeOf<Event>());
    // @ts-expect-error a close listener does not receive a MessageEvent
    ws.addEventListener("close", (event: MessageEvent) => event.data);
    const listener = (event: CloseEvent): number => event.code;
    ws.removeEventListener("close", listener);
  });

  it("types the on<event> handlers the same way, with `this` the socket", () => {
    const ws = new WebSocket(url, "chat", { binaryType: "uint8array" });
    ws.onmessage = function (event) {
      expectTypeOf(this).toEqualTypeOf<WebSocket<"uint8array">>();
      expectTypeOf(event.data).toEqualTypeOf<string | Uint8Array>();
    };
    ws.onclose = (event) => expectTypeOf(event).toEqualTypeOf<CloseEvent>();
    ws.onerror = (event) => expectTypeOf(event.error).toEqualTypeOf<unknown>();
    ws.onopen = (event) => expectTypeOf(event).toEqualTypeOf<Event>();
    ws.onmessage = null;
    // @ts-expect-error an error handler gets a WebSocketErrorEvent, not a CloseEvent
    ws.onerror = (event: CloseEvent) => event.code;
  });

  it("follows binaryType: inferred from the option, every BinaryType without it", () => {
    expectTypeOf<MessageEventData<"blob">>().toEqualTypeOf<string | Blob>();
    expectTypeOf<MessageEventData<"arraybuffer" | "uint8array">>().toEqualTypeOf<
      string | ArrayBuffer | Uint8Array
    >();
    expectTypeOf(new WebSocket(url, [], { binaryType: "blob" })).toEqualTypeOf<WebSocket<"blob">>();
    const plain = new WebSocket(url);
    expectTypeOf(plain).toEqualTypeOf<WebSocket<BinaryType>>();
    plain.binaryType = "arraybuffer"; // any value may be set, so data is the union
    plain.onmessage = (event) =>
      expectTypeOf(event.data).toEqualTypeOf<string | Blob | ArrayBuffer | Uint8Array>();
    const bytes = new WebSocket(url, [], { binaryType: "uint8array" });
    // @ts-expect-error the type says Uint8Array: a socket typed for one binaryType keeps it
    bytes.binaryType = "blob";
    expectTypeOf<WebSocketEventMap<"arraybuffer">["message"]["data"]>().toEqualTypeOf<string | ArrayBuffer>();
  });
});

describe("assignability", () => {
  it("a socket of one binaryType is a WebSocket", () => {
    const bytes = new WebSocket(url, [], { binaryType: "uint8array" });
    expectTypeOf(bytes).toExtend<WebSocket>();
    expectTypeOf<WebSocket>().not.toExtend<WebSocket<"uint8array">>();
  });

  it("is a DOM WebSocket when binaryType is a WHATWG value (blob, arraybuffer)", () => {
    expectTypeOf<WebSocket<"blob">>().toExtend<globalThis.WebSocket>();
    expectTypeOf<WebSocket<"arraybuffer">>().toExtend<globalThis.WebSocket>();
    expectTypeOf<WebSocket<"blob" | "arraybuffer">>().toExtend<globalThis.WebSocket>();
    // "uint8array" is our extra: the DOM type's binaryType cannot hold it.
    expectTypeOf<WebSocket<"uint8array">>().not.toExtend<globalThis.WebSocket>();
    expectTypeOf<WebSocket>().not.toExtend<globalThis.WebSocket>();
    const dom: globalThis.WebSocket = new WebSocket(url, [], { binaryType: "arraybuffer" });
    expectTypeOf(dom.binaryType).toEqualTypeOf<globalThis.BinaryType>();
  });

  it("has the DOM WebSocket's ready-state constants as literal types", () => {
    expectTypeOf(WebSocket.OPEN).toEqualTypeOf<1>();
    expectTypeOf(new WebSocket(url).CLOSED).toEqualTypeOf<3>();
  });
});
