/**
 * `@ws/node/ws`: a drop-in entry point for code written against the `ws` package, over the
 * same session and codec as `@ws/node`. Change `from "ws"` to `from "@ws/node/ws"`; see the
 * migration guide (docs/migrating-from-ws.md) for what differs and why.
 *
 * @module
 */
import { WebSocket } from "./websocket.ts";

export {
  type VerifyClientCallback,
  type VerifyClientInfo,
  WebSocketServer,
  type WsServerEvents,
  type WsServerOptions,
} from "./server.ts";
export { createWebSocketStream } from "./stream.ts";
export {
  type UnexpectedResponse,
  WebSocket,
  type WsBinaryType,
  type WsClientOptions,
  type WsEvents,
  type WsSendOptions,
} from "./websocket.ts";
export default WebSocket;
