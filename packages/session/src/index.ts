/**
 * `@ws/session`: the runtime-neutral layer between the `@ws/codec` state machine and a
 * runtime's sockets, shared by `@ws/node`, `@ws/deno` and `@ws/bun`:
 *
 * - {@link Session}: one open connection over a {@link Transport} (auto-pong, close handshake
 *   with a timeout, failure close codes, send queue and `bufferedAmount`, receive
 *   backpressure, ping round-trip time, heartbeat, streamed messages, async iteration and
 *   `{ readable, writable }` streams);
 * - {@link WebSocket}: the WHATWG `WebSocket` class over a session, with {@link CloseEvent};
 * - limits with the same defaults everywhere ({@link DEFAULT_SESSION_LIMITS});
 * - {@link ServerCore}: the runtime-neutral server logic (the accept path of `accept.ts`:
 *   head read, handshake timeout and limits, checks, `verify`, subprotocols, the response as
 *   data, rejections; path matching, client tracking, graceful shutdown);
 * - {@link dial}: the runtime-neutral client handshake (request, response head, checks,
 *   redirects, timeout, abort) over an adapter's {@link Opener};
 * - the `perMessageDeflate` option (RFC 7692) on an engine the adapter injects (the engines
 *   live in `@ws/deflate`);
 * - pub/sub: socket topics, `publish` / `broadcast` with messages framed and compressed once
 *   ({@link PreparedMessage}), and the {@link Broker} interface to other servers and processes
 *   ({@link InProcessBroker} by default, `@ws/redis` across processes);
 * - what servers are doing: diagnostics channels ({@link observe}, `ws:connection:closed` …,
 *   bound to `node:diagnostics_channel` by the adapters) and counters (`ServerCore.stats()`).
 *
 * Uses only ES2022 and universal web globals (`EventTarget`, `Event`, `MessageEvent`,
 * `DOMException`, `AbortController`, timers, `queueMicrotask`, web streams, `Blob`, `URL`).
 *
 * @module
 */

export {
  type AcceptConnection,
  Admission,
  type Deliver,
  type PlainRequests,
  REJECTION_LINGER,
  refuse,
} from "./accept.ts";
export {
  type AdapterName,
  checkListenerOptions,
  LISTENER_OPTIONS,
  refuseNodeOnlyClientOptions,
} from "./adapter-checks.ts";
export {
  type DeflateEngineSource,
  type DeflateOptions,
  deflateExtensions,
  type PerMessageDeflateOption,
} from "./deflate.ts";
export {
  type BackpressureMessage,
  bindDiagnosticsChannels,
  type ClosedBy,
  type ConnectionClosedMessage,
  type ConnectionOpenedMessage,
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsChannel,
  type DiagnosticsChannelModule,
  type DiagnosticsChannelName,
  type DiagnosticsListener,
  type DiagnosticsMessages,
  type HandshakeAcceptedMessage,
  type HandshakeRejectedMessage,
  type HandshakeRejectionCode,
  type LimitName,
  type LimitReachedMessage,
  observe,
  type ProtocolErrorMessage,
} from "./diagnostics.ts";
export {
  ChunkQueue,
  connectWhenOpen,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_REDIRECTS,
  type DialConnection,
  type DialOptions,
  dial,
  type Opener,
  readResponseHead,
  splitClientArguments,
} from "./dial.ts";
export { Emitter, type EmitterListener, type EventArgs } from "./emitter.ts";
export { HandshakeRejectedError, type HeaderPair, type SessionErrorCode, WebSocketError } from "./errors.ts";
export { CloseEvent, type CloseEventInit, WebSocketErrorEvent } from "./events.ts";
export { handled, rejected, reportListenerError } from "./handled.ts";
export {
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  isPlainRequest,
  plainRequests,
  type RequestHandler,
  serveRequest,
} from "./http-handler.ts";
export { Inbox } from "./inbox.ts";
export { DEFAULT_SESSION_LIMITS, resolveSessionLimits, type SessionLimits } from "./limits.ts";
export { type BudgetHolder, DEFAULT_MEMORY_BUDGET, MemoryBudget } from "./memory-budget.ts";
export { type MemoryPeer, MemoryTransport, memoryTransportPair } from "./memory-transport.ts";
export { Meter, type ServerStats } from "./meter.ts";
export {
  CLIENT_OPTIONS,
  checkOptions,
  type OptionSchema,
  SERVER_OPTIONS,
  SESSION_OPTIONS,
} from "./options.ts";
export {
  type Broker,
  BrokerError,
  type BrokerErrorCode,
  type BrokerLink,
  type BrokerMessage,
  type BrokerPeer,
  InProcessBroker,
} from "./pubsub/broker.ts";
export {
  type PreparedDeflate,
  PreparedMessage,
  type PrepareMessageOptions,
  prepareMessage,
} from "./pubsub/prepared-message.ts";
export { type PublishOptions, PubSub, type PubSubSocket } from "./pubsub/pubsub.ts";
export { TopicRegistry } from "./pubsub/topics.ts";
export { type ServerEvents, WebSocketServerBase } from "./server-base.ts";
export {
  type AcceptVerdict,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  DEFAULT_SERVER_HANDSHAKE_TIMEOUT,
  HandshakeAccepted,
  type HandshakeOutcome,
  HandshakeRejected,
  type HandshakeRequest,
  headerRecord,
  type IncomingHeaders,
  MISSING_HOST,
  matchesPath,
  NO_ENDPOINT,
  type RejectVerdict,
  rejection,
  ServerCore,
  type ServerCoreOptions,
  UPGRADE_REQUIRED,
  type UpgradeInfo,
  type UpgradeVerdict,
} from "./server-core.ts";
export { type AfterIo, afterImmediate, afterTimer } from "./session/after-io.ts";
export { WRITE_BATCH_LIMIT } from "./session/outbox.ts";
export {
  type CloseInfo,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_RECEIVE_HIGH_WATER_MARK,
  type HeartbeatOptions,
  type MessageData,
  type MessagePiece,
  type Received,
  type SendStreamOptions,
  Session,
  type SessionHandler,
  type SessionOptions,
  type SessionState,
  toBytes,
  utf8Length,
} from "./session.ts";
export type { Transport } from "./transport.ts";
export {
  acceptedSocket,
  type BinaryType,
  type BinaryTypeMap,
  type Connector,
  type ConnectRequest,
  isAcceptedSocket,
  type MessageEventData,
  type SessionSettings,
  type StandardBinaryType,
  type StoredEventHandler,
  WebSocket,
  type WebSocketEventHandler,
  type WebSocketEventMap,
  type WebSocketInit,
  type WebSocketListener,
} from "./websocket.ts";
