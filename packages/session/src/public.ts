/**
 * The names every adapter (`@ws/node`, `@ws/deno`, `@ws/bun`) exports to its users from the
 * shared layers, listed once: each adapter's root module re-exports this module
 * (`export * from "@ws/session/public"`) beside its own `WebSocket`, `connect` and
 * `WebSocketServer`, and the pub/sub names (brokers, prepared messages). Internals (`ServerCore`, transports, `dial`) are not here.
 *
 * @module
 */

export { HandshakeError, RemoteProtocolError } from "@ws/codec";
export type { DeflateOptions, PerMessageDeflateOption } from "./deflate.ts";
export {
  type BackpressureMessage,
  type ClosedBy,
  type ConnectionClosedMessage,
  type ConnectionOpenedMessage,
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsChannelName,
  type DiagnosticsMessages,
  type HandshakeAcceptedMessage,
  type HandshakeRejectedMessage,
  type HandshakeRejectionCode,
  type LimitName,
  type LimitReachedMessage,
  observe,
  type ProtocolErrorMessage,
} from "./diagnostics.ts";
export { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_REDIRECTS } from "./dial.ts";
export { HandshakeRejectedError, WebSocketError } from "./errors.ts";
export { CloseEvent, WebSocketErrorEvent } from "./events.ts";
export { DEFAULT_SESSION_LIMITS, type SessionLimits } from "./limits.ts";
export { DEFAULT_MEMORY_BUDGET } from "./memory-budget.ts";
export type { ServerStats } from "./meter.ts";
export { type Broker, BrokerError, type BrokerErrorCode, InProcessBroker } from "./pubsub/broker.ts";
export { PreparedMessage, type PrepareMessageOptions, prepareMessage } from "./pubsub/prepared-message.ts";
export type { PublishOptions } from "./pubsub/pubsub.ts";
export {
  type AcceptVerdict,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  DEFAULT_SERVER_HANDSHAKE_TIMEOUT,
  type RejectVerdict,
  type UpgradeVerdict,
} from "./server-core.ts";
export { type CloseInfo, type MessagePiece, Session } from "./session.ts";
export type {
  BinaryType,
  BinaryTypeMap,
  MessageEventData,
  StandardBinaryType,
  StoredEventHandler,
  WebSocketEventHandler,
  WebSocketEventMap,
  WebSocketListener,
} from "./websocket.ts";
