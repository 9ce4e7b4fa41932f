/**
 * Error families (following h11 and wsproto):
 *
 * - {@link RemoteProtocolError}: the peer sent bytes that break the protocol. It is never thrown
 *   out of `Connection.receive()`; it arrives as a terminal `failed` event carrying the close code
 *   to send and a stable string {@link ErrorCode}.
 * - {@link LocalProtocolError}: the caller asked for something the current state forbids (for
 *   example sending after close). Thrown synchronously.
 * - {@link HandshakeError}: an opening handshake that cannot be accepted, with the HTTP status to
 *   answer (server side) or the reason the response was refused (client side).
 *
 * Argument misuse (wrong types, out-of-range numbers) throws the built-in `TypeError` /
 * `RangeError`.
 *
 * @module
 */
import type { CloseCode } from "./constants.ts";

/** Stable string codes carried by every {@link ProtocolError}. */
export const ErrorCode = {
  // RFC 6455 §5.2 base framing
  ReservedBits: "RESERVED_BITS",
  InvalidOpcode: "INVALID_OPCODE",
  UnexpectedMask: "UNEXPECTED_MASK",
  MissingMask: "MISSING_MASK",
  InvalidLength: "INVALID_LENGTH",
  NonMinimalLength: "NON_MINIMAL_LENGTH",
  // RFC 6455 §5.5 control frames
  ControlFrameTooLong: "CONTROL_FRAME_TOO_LONG",
  FragmentedControlFrame: "FRAGMENTED_CONTROL_FRAME",
  // RFC 6455 §5.4 fragmentation
  UnexpectedContinuation: "UNEXPECTED_CONTINUATION",
  ExpectedContinuation: "EXPECTED_CONTINUATION",
  // RFC 6455 §8.1 UTF-8
  InvalidUtf8: "INVALID_UTF8",
  // RFC 6455 §5.5.1, §7.4 close
  InvalidClosePayload: "INVALID_CLOSE_PAYLOAD",
  InvalidCloseCode: "INVALID_CLOSE_CODE",
  // Limits (RFC 6455 §10.4)
  MessageTooBig: "MESSAGE_TOO_BIG",
  FrameTooBig: "FRAME_TOO_BIG",
  TooManyFragments: "TOO_MANY_FRAGMENTS",
  // Extensions (RFC 6455 §9)
  ExtensionFailure: "EXTENSION_FAILURE",
  // Handshake (RFC 6455 §4)
  HeadTooLarge: "HEAD_TOO_LARGE",
  TooManyHeaders: "TOO_MANY_HEADERS",
  MalformedHead: "MALFORMED_HEAD",
  BadMethod: "BAD_METHOD",
  BadHttpVersion: "BAD_HTTP_VERSION",
  MissingHost: "MISSING_HOST",
  BadUpgrade: "BAD_UPGRADE",
  BadConnection: "BAD_CONNECTION",
  BadKey: "BAD_KEY",
  UnsupportedVersion: "UNSUPPORTED_VERSION",
  BadStatus: "BAD_STATUS",
  BadAccept: "BAD_ACCEPT",
  BadSubprotocol: "BAD_SUBPROTOCOL",
  BadExtensions: "BAD_EXTENSIONS",
  // Local misuse
  InvalidState: "INVALID_STATE",
} as const;
/** One of the stable string codes of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error the codec produces on purpose. */
export class ProtocolError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ErrorCode;
  /** Creates an error with a stable code and a message. */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/** Close codes a connection may fail with because of the peer (RFC 6455 §7.4.1). */
export type FailureCloseCode =
  | typeof CloseCode.ProtocolError
  | typeof CloseCode.InvalidFramePayloadData
  | typeof CloseCode.PolicyViolation
  | typeof CloseCode.MessageTooBig
  | typeof CloseCode.MandatoryExtension
  | typeof CloseCode.InternalError;

/**
 * The peer broke the protocol. Carries the close code the endpoint should send before it
 * closes the transport ("_Fail the WebSocket Connection_", RFC 6455 §7.1.7).
 */
export class RemoteProtocolError extends ProtocolError {
  /** The close code to send to the peer: 1002, 1007, 1008, 1009, 1010 or 1011. */
  readonly closeCode: FailureCloseCode;
  /** Creates an error with a stable code, the close code to send and a message. */
  constructor(code: ErrorCode, closeCode: FailureCloseCode, message: string) {
    super(code, message);
    this.name = "RemoteProtocolError";
    this.closeCode = closeCode;
  }
}

/** The caller asked for something the connection's state forbids. */
export class LocalProtocolError extends ProtocolError {
  /** Creates an error with a stable code and a message. */
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = "LocalProtocolError";
  }
}

/**
 * An opening handshake that cannot go on (RFC 6455 §4). On the server, `status` is the HTTP
 * status to answer with (400, 426, 431, 403 …) and `headers` the extra headers that answer
 * needs (426 carries `Sec-WebSocket-Version: 13`, §4.4). On the client, `status` is the status
 * the server answered with, or 0 when the response itself was unusable.
 */
export class HandshakeError extends ProtocolError {
  /** HTTP status code to answer with (server) or the one received (client). */
  readonly status: number;
  /** Extra response headers that go with `status`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Creates an error with a stable code, the HTTP status, a message and extra headers. */
  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(code, message);
    this.name = "HandshakeError";
    this.status = status;
    this.headers = headers;
  }
}
