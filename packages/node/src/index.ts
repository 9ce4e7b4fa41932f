/**
 * `@ws/node`: WebSockets for Node.js on `@ws/codec` (the protocol) and `@ws/session` (the
 * runtime-neutral session and WHATWG `WebSocket` class): a {@link WebSocketServer} that
 * attaches to an `http`/`https` server or listens on its own, the WHATWG {@link WebSocket}
 * client with Node options (TLS, proxy, redirects, timeouts, `AbortSignal`) and
 * {@link connect}, a promise-based opener.
 *
 * @module
 */

export { HandshakeError, RemoteProtocolError } from "@ws/codec";
export {
  CloseEvent,
  type CloseInfo,
  DEFAULT_SESSION_LIMITS,
  type DeflateOptions,
  HandshakeRejectedError,
  type MessagePiece,
  type PerMessageDeflateOption,
  Session,
  type SessionLimits,
  WebSocketError,
  WebSocketErrorEvent,
} from "@ws/session";
export {
  type ClientOptions,
  type ConnectOptions,
  connect,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_REDIRECTS,
  WebSocket,
} from "./client.ts";
export { setDeflateConcurrency } from "./deflate.ts";
export { type EchoServer, startEchoServer } from "./echo.ts";
export {
  type AcceptVerdict,
  type RejectVerdict,
  type UpgradeInfo,
  type UpgradeVerdict,
  WebSocketServer,
  type WebSocketServerEvents,
  type WebSocketServerOptions,
} from "./server.ts";
export { attachSocket } from "./socket-transport.ts";
