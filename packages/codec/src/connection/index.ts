/**
 * The connection state machine (RFC 6455 §5–§7).
 *
 * @module
 */

export { DEFAULT_LIMITS, type Limits, resolveLimits } from "../limits.ts";
export type { RandomSource } from "../web-globals.ts";
export {
  Connection,
  type ConnectionOptions,
  closeReplyFor,
  NEED_DATA,
  PENDING,
  type PingPongOutbound,
  pongFor,
  YIELD,
} from "./connection.ts";
export type {
  BinaryEvent,
  BinaryPieceEvent,
  CloseReceived,
  EofEvent,
  FailedEvent,
  InboundEvent,
  OutboundEvent,
  PingEvent,
  PongEvent,
  SendOptions,
  TextEvent,
  TextPieceEvent,
} from "./events.ts";
export {
  ALLOWED,
  type AllowedInputs,
  CONNECTION_INPUTS,
  type ConnectionInput,
  ConnectionState,
  TRANSITIONS,
  transitionsAsMermaid,
} from "./states.ts";
