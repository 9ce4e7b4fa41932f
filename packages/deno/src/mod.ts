/**
 * `@ws/deno`: WebSockets for Deno on `@ws/codec` (the protocol) and `@ws/session` (the
 * runtime-neutral session, server core and WHATWG `WebSocket` class), over Deno TCP: a
 * {@link WebSocketServer} on `Deno.listen` (TLS too), the WHATWG {@link WebSocket} client on
 * `Deno.connect` and {@link connect}, a promise-based opener. Same API and defaults as
 * `@ws/node`; see the README for what Deno cannot do.
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
export type { ClientTlsOptions } from "./client.ts";
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
  type ServerTlsOptions,
  type UpgradeInfo,
  type UpgradeVerdict,
  WebSocketServer,
  type WebSocketServerEvents,
  type WebSocketServerOptions,
} from "./server.ts";
export { attachConn } from "./socket-transport.ts";
