/**
 * Protocol constants from RFC 6455 and the IANA WebSocket registries.
 *
 * Constants are `as const` objects with a derived union type rather than TS `enum`s, so the
 * sources stay erasable (runnable by Deno, Bun and Node type stripping).
 *
 * @module
 */

/** The GUID appended to `Sec-WebSocket-Key` before hashing (RFC 6455 §1.3, §4.2.2). */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The only protocol version this codec speaks (RFC 6455 §4.1, `Sec-WebSocket-Version`). */
export const WEBSOCKET_VERSION = "13";

/** Frame opcodes (RFC 6455 §5.2, §11.8). */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
/** One of the opcodes defined by RFC 6455. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Whether `opcode` is a control opcode: its high bit is set (RFC 6455 §5.5). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** Whether `opcode` is one that RFC 6455 defines (everything else is reserved, §5.2). */
export function isKnownOpcode(opcode: number): opcode is Opcode {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

/** The RSV bits of the first header byte (RFC 6455 §5.2), as masks over that byte. */
export const Rsv = {
  Rsv1: 0x40,
  Rsv2: 0x20,
  Rsv3: 0x10,
} as const;

/** Control frames carry at most 125 bytes of payload (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** A close reason fits in a control frame after the 2-byte code: 125 - 2 (RFC 6455 §5.5.1). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Close status codes (RFC 6455 §7.4.1 and the IANA "WebSocket Close Code Number Registry").
 *
 * `NoStatusReceived` (1005), `AbnormalClosure` (1006) and `TLSHandshake` (1015) are reported
 * locally and never sent on the wire (RFC 6455 §7.4.1).
 */
export const CloseCode = {
  NormalClosure: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatusReceived: 1005,
  AbnormalClosure: 1006,
  InvalidFramePayloadData: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  TLSHandshake: 1015,
} as const;
/** One of the close codes named by RFC 6455 or the IANA registry. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
