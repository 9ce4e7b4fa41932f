/**
 * What both engines share: option checks, the 1009 failure and the window-bits rule.
 *
 * @module
 */
import { CloseCode, ErrorCode, RemoteProtocolError } from "@ws/codec";

/** @throws {RangeError} unless `value` is an integer from `min` to `max`. */
export function checkInteger(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot create deflate engine: ${what} must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
}

/** The failure of a message that inflates past its limit (RFC 6455 §7.4.1: 1009). */
export function tooBig(maxOutput: number): RemoteProtocolError {
  return new RemoteProtocolError(
    ErrorCode.MessageTooBig,
    CloseCode.MessageTooBig,
    `Cannot inflate message: it inflates to more than the ${maxOutput} bytes left under the message size limit`,
  );
}

/**
 * The window a zlib compressor is created with for a negotiated `*_max_window_bits`. zlib
 * refuses a raw deflate window of 8 bits (since zlib 1.2.9; pako maps it to 9). A 9-bit window
 * is safe when 8 was negotiated: zlib's deflate never refers further back than the window size
 * minus MIN_LOOKAHEAD (262 bytes), that is 250 bytes with 9 bits, within the peer's 256
 * (RFC 7692 §7.1.2). ws does the same.
 */
export function zlibWindowBits(windowBits: number): number {
  return Math.max(9, windowBits);
}
