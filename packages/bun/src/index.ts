/**
 * `@ws/bun`: WebSockets for Bun on `@ws/codec` (the protocol) and `@ws/session` (the
 * runtime-neutral session, server core and WHATWG `WebSocket` class), over Bun's TCP API: a
 * {@link WebSocketServer} on `Bun.listen` (TLS too), the WHATWG {@link WebSocket} client on
 * `Bun.connect` and {@link connect}, a promise-based opener. Same API and defaults as
 * `@ws/node`; see the README for what Bun cannot do.
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
export type { BunTlsOptions } from "./bun-api.ts";
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
export { Pump } from "./socket-transport.ts";
