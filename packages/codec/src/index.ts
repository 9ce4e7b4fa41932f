/**
 * `@ws/codec`: a pure, zero-dependency, sans-I/O WebSocket codec (RFC 6455) on `Uint8Array`, for
 * every JavaScript runtime. Bytes in, events out; events in, bytes out. No sockets, timers or
 * clocks: adapters (`@ws/node`, `@ws/deno`, `@ws/bun`) or your own code move the bytes.
 *
 * The root holds what a user of the codec alone needs after the opening handshake: the
 * `Connection`, its events, errors and limits, and `CloseCode`. Each layer is on its own subpath,
 * with everything it has: `@ws/codec/handshake` (RFC 6455 §4: the opening handshake, HTTP heads),
 * `@ws/codec/frame` (§5), `@ws/codec/message` (§5.4, §5.6), `@ws/codec/close` (§5.5.1, §7),
 * `@ws/codec/connection` (§5–§7: also the transition table) and `@ws/codec/extensions` (§9,
 * RFC 7692).
 *
 * @example
 * ```ts
 * import { Connection, NEED_DATA, pongFor } from "@ws/codec";
 * const conn = new Connection({ role: "server" });
 * conn.receive(bytesFromSocket);
 * for (let event = conn.nextEvent(); event !== NEED_DATA; event = conn.nextEvent()) {
 *   if (event.type === "text") socket.write(conn.send({ type: "text", data: event.data }));
 *   if (event.type === "ping") socket.write(conn.send(pongFor(event)));
 * }
 * ```
 *
 * @module
 */

// The connection: bytes in, events out; events in, bytes out.
export {
  type BinaryEvent,
  type BinaryPieceEvent,
  type CloseReceived,
  Connection,
  type ConnectionOptions,
  ConnectionState,
  closeReplyFor,
  type EofEvent,
  type FailedEvent,
  type InboundEvent,
  NEED_DATA,
  type OutboundEvent,
  PENDING,
  type PingEvent,
  type PingPongOutbound,
  type PongEvent,
  pongFor,
  type SendOptions,
  type TextEvent,
  type TextPieceEvent,
  YIELD,
} from "./connection/index.ts";
export { CloseCode } from "./constants.ts";
export {
  ErrorCode,
  type FailureCloseCode,
  HandshakeError,
  LocalProtocolError,
  ProtocolError,
  RemoteProtocolError,
} from "./errors.ts";
export type { Extension } from "./extensions/extension.ts";
export { DEFAULT_LIMITS, type Limits } from "./limits.ts";
export type { OutputBudget } from "./message/assembler.ts";
export type { Utf8RangeDecoder } from "./message/utf8.ts";
export type { RandomSource } from "./web-globals.ts";
