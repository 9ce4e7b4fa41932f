/**
 * Type tests of `@ws/bun`, checked by `tsc --strict` in the test script (with the DOM lib, for its
 * DOM `WebSocket` type): typed events, `data` following `binaryType`, and assignability to
 * the DOM `WebSocket` where the WHATWG enum allows. A regression fails `pnpm test`.
 */
import {
  type CloseEvent,
  connect,
  WebSocket,
  type WebSocketErrorEvent,
  WebSocketServer,
} from "../src/index.ts";

/** Compiles only when `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function same<A, B>(_proof: Equal<A, B>): void {}

const ws = new WebSocket("ws://127.0.0.1:1", [], { binaryType: "arraybuffer" });
ws.addEventListener("message", (event) => same<typeof event.data, string | ArrayBuffer>(true));
ws.addEventListener("close", (event) => same<typeof event, CloseEvent>(true));
ws.addEventListener("error", (event) => same<typeof event, WebSocketErrorEvent>(true));
ws.onmessage = (event) => same<typeof event.data, string | ArrayBuffer>(true);
ws.onclose = (event) =>
  same<[number, string, boolean], [typeof event.code, typeof event.reason, typeof event.wasClean]>(true);
// @ts-expect-error a close listener does not receive a MessageEvent
ws.addEventListener("close", (event: MessageEvent) => event.data);

// The DOM WebSocket type: assignable with a WHATWG binaryType, not with "uint8array".
const dom: globalThis.WebSocket = ws;
const bytes = new WebSocket("ws://127.0.0.1:1", { binaryType: "uint8array" });
// @ts-expect-error "uint8array" is outside the WHATWG BinaryType enum
const notDom: globalThis.WebSocket = bytes;
const any: WebSocket = bytes;

const wss = new WebSocketServer({ port: 0 });
wss.on("connection", (socket) => {
  same<typeof socket, WebSocket<"uint8array">>(true);
  socket.onmessage = (event) => same<typeof event.data, string | Uint8Array>(true);
});
const opened = connect("ws://127.0.0.1:1", { binaryType: "blob" });
same<typeof opened, Promise<WebSocket<"blob">>>(true);
void [dom, notDom, any];
