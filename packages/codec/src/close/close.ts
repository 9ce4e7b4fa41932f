/**
 * The close frame's payload (RFC 6455 §5.5.1) and close codes (§7.4).
 *
 * @module
 */
import { CloseCode, MAX_CLOSE_REASON_BYTES } from "../constants.ts";
import { ErrorCode, RemoteProtocolError } from "../errors.ts";
import { decodeUtf8 } from "../message/utf8.ts";
import { utf8Encoder } from "../web-globals.ts";

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4.1, §7.4.2 and the IANA
 * registry): 1000–1003, 1007–1014 and 3000–4999. 1004 is reserved; 1005, 1006 and 1015 are
 * only ever reported locally; 1016–2999 are reserved for future RFCs; 0–999 are unused.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= CloseCode.NormalClosure && code <= CloseCode.UnsupportedData) ||
      (code >= CloseCode.InvalidFramePayloadData && code <= CloseCode.BadGateway) ||
      (code >= 3000 && code <= 4999))
  );
}

/** A decoded close payload. `code` is 1005 ("No Status Received") when the payload was empty. */
export interface ClosePayload {
  /** The close code (1005 when the payload was empty). */
  readonly code: number;
  /** The close reason, decoded from UTF-8 (empty when absent). */
  readonly reason: string;
}

const EMPTY = new Uint8Array(0);

/**
 * Encodes a close payload: the 2-byte code in network order followed by the UTF-8 reason.
 * Without a code the payload is empty (and there can be no reason). Throws a `RangeError` for a
 * code that may not be sent or a reason longer than 123 bytes.
 *
 * @example
 * ```ts
 * import { encodeClosePayload } from "@ws/codec/close";
 * encodeClosePayload(1000, "bye"); // 03 e8 62 79 65
 * ```
 */
export function encodeClosePayload(code?: number, reason = ""): Uint8Array {
  if (code === undefined) {
    if (reason !== "") throw new RangeError("Cannot encode close payload: a reason needs a code");
    return EMPTY;
  }
  if (!isValidCloseCode(code)) {
    throw new RangeError(`Cannot encode close payload: code ${code} may not be sent`);
  }
  const out = new Uint8Array(2 + reason.length * 3);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  const { written } = utf8Encoder.encodeInto(reason, out.subarray(2));
  if (written > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`Cannot encode close payload: the reason is ${written} bytes, the maximum is 123`);
  }
  return out.subarray(0, 2 + written);
}

/**
 * Decodes a received close payload. Throws a {@link RemoteProtocolError}: 1002 for a 1-byte
 * payload or a code that may not be sent, 1007 for a reason that is not valid UTF-8.
 *
 * @example
 * ```ts
 * import { decodeClosePayload } from "@ws/codec/close";
 * decodeClosePayload(new Uint8Array()); // { code: 1005, reason: "" }
 * ```
 */
export function decodeClosePayload(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return { code: CloseCode.NoStatusReceived, reason: "" };
  if (payload.length === 1) {
    throw new RemoteProtocolError(
      ErrorCode.InvalidClosePayload,
      CloseCode.ProtocolError,
      "Cannot decode close payload: it is 1 byte, a code needs 2",
    );
  }
  const code = ((payload[0] as number) << 8) | (payload[1] as number);
  if (!isValidCloseCode(code)) {
    throw new RemoteProtocolError(
      ErrorCode.InvalidCloseCode,
      CloseCode.ProtocolError,
      `Cannot decode close payload: code ${code} may not be sent`,
    );
  }
  return { code, reason: decodeUtf8(payload.subarray(2), "close reason") };
}

/**
 * Shortens `reason` to at most 123 UTF-8 bytes without splitting a code point, so that it fits
 * in a close frame.
 */
export function truncateCloseReason(reason: string): string {
  const bytes = utf8Encoder.encode(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  let end = MAX_CLOSE_REASON_BYTES;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut code point.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return decodeUtf8(bytes.subarray(0, end));
}
