/**
 * `@ws/codec`: a pure, zero-dependency, sans-I/O WebSocket codec (RFC 6455) on `Uint8Array`, for
 * every JavaScript runtime. Bytes in, events out; events in, bytes out. No sockets, timers or
 * clocks: adapters (`@ws/node`, `@ws/deno`, `@ws/bun`) or your own code move the bytes.
 *
 * Subpaths expose each layer on its own: `@ws/codec/handshake` (RFC 6455 §4),
 * `@ws/codec/frame` (§5), `@ws/codec/message` (§5.4, §5.6), `@ws/codec/close` (§5.5.1, §7),
 * `@ws/codec/connection` and `@ws/codec/extensions` (§9).
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
export * from "./close/index.ts";
export * from "./connection/index.ts";
export {
  isControlOpcode,
  isKnownOpcode,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  Rsv,
  WEBSOCKET_GUID,
  WEBSOCKET_VERSION,
} from "./constants.ts";
export {
  ErrorCode,
  type FailureCloseCode,
  HandshakeError,
  LocalProtocolError,
  ProtocolError,
  RemoteProtocolError,
} from "./errors.ts";
export * from "./extensions/index.ts";
export * from "./handshake/index.ts";
export { DEFAULT_LIMITS, type Limits, resolveLimits } from "./limits.ts";
export { isValidUtf8 } from "./message/utf8.ts";
export type { RandomSource } from "./web-globals.ts";
