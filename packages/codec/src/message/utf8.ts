/**
 * UTF-8 for text messages (RFC 6455 §5.6, §8.1): incremental, fail-fast validation that is
 * also the decoding, in one pass.
 *
 * The WHATWG Encoding Standard's UTF-8 decoder examines one byte at a time and reports an error
 * at the first byte that cannot continue a valid sequence, even in streaming mode; with
 * `fatal: true` that error is thrown. So a fatal streaming `TextDecoder` fails as soon as the
 * input is certainly invalid — mid-frame, mid-chunk or at a fragment boundary — not at the end
 * of the message (checked on Node 20 and 24, Deno and Bun by this module's tests, against a
 * reference DFA).
 *
 * @module
 */

import { CloseCode } from "../constants.ts";
import { ErrorCode, RemoteProtocolError } from "../errors.ts";
import { createUtf8Decoder, type TextDecoderLike, utf8Decoder } from "../web-globals.ts";

/**
 * With the lax-then-check strategy (Deno), payloads up to this size are checked for pure ASCII
 * first and made into a string in JavaScript: below it, that beats a call into Deno's decoder
 * (measured: 62 against 90 ns at 16 bytes, even at 24). On Node and Bun the decoder call is
 * cheaper at every size (16 bytes: 50 against 97 ns on Node, 33 against 103 ns on Bun), so
 * there the fatal decoder does everything.
 */
const ASCII_FAST_PATH_MAX = 20;

/**
 * Pieces of a message up to this size that are ASCII are made into a string in JavaScript
 * rather than by a call into the streaming decoder, which costs more than the piece.
 */
const TINY_PIECE_MAX = 4;

function invalidUtf8(where: string): RemoteProtocolError {
  return new RemoteProtocolError(
    ErrorCode.InvalidUtf8,
    CloseCode.InvalidFramePayloadData,
    `Cannot decode ${where}: it is not valid UTF-8`,
  );
}

/** An incremental, fail-fast UTF-8 decoder for the pieces of one message after another. */
export class StreamingUtf8Decoder {
  // Created on the first message that arrives in pieces: most messages are decoded whole by
  // the shared decoder, and a TextDecoder per idle connection costs about 0.3 KiB.
  #decoder: TextDecoderLike | undefined;
  #pending = false;
  /**
   * The decoder holds no part of a code point: nothing was given to it in this message yet, or
   * the last byte given was ASCII (valid input cannot end a cut code point on an ASCII byte).
   */
  #atBoundary = true;

  /**
   * Decodes the next piece of the current message. `last` ends the message: an incomplete
   * sequence at its end is an error. Throws a {@link RemoteProtocolError} (1007,
   * `INVALID_UTF8`) as soon as the bytes so far cannot be the start of valid UTF-8.
   */
  decode(bytes: Uint8Array, last: boolean): string {
    if (last && !this.#pending) return decodeUtf8(bytes, "text message");
    const length = bytes.length;
    // A tiny ASCII piece between whole code points (a peer's one-byte fragments) needs no call
    // into the decoder: it is valid as it is, and the decoder's state does not change.
    if (length <= TINY_PIECE_MAX && this.#atBoundary && !last) {
      const text = this.#tinyAscii(bytes, 0, length);
      if (text !== undefined) return text;
    }
    return this.#decodeWithDecoder(bytes, last);
  }

  /**
   * Decodes `source[start…end)` as the next piece of the current message, not its last: the
   * same as `decode(source.subarray(start, end), false)`, without making the view when the
   * piece is tiny ASCII (a peer's one-byte fragments).
   */
  decodeRange(source: Uint8Array, start: number, end: number): string {
    if (end - start <= TINY_PIECE_MAX && this.#atBoundary) {
      const text = this.#tinyAscii(source, start, end);
      if (text !== undefined) return text;
    }
    return this.#decodeWithDecoder(source.subarray(start, end), false);
  }

  /** `source[start…end)` as a string if it is all ASCII (the decoder's state stays as it is), else undefined. */
  #tinyAscii(source: Uint8Array, start: number, end: number): string | undefined {
    let text = "";
    for (let i = start; i < end; i++) {
      const byte = source[i] as number;
      if (byte >= 0x80) return undefined;
      text += String.fromCharCode(byte);
    }
    this.#pending = true;
    return text;
  }

  #decodeWithDecoder(bytes: Uint8Array, last: boolean): string {
    const length = bytes.length;
    try {
      this.#decoder ??= createUtf8Decoder(true);
      const text = this.#decoder.decode(bytes, { stream: !last });
      this.#pending = !last;
      if (last) this.#atBoundary = true;
      else if (length > 0) this.#atBoundary = (bytes[length - 1] as number) < 0x80;
      return text;
    } catch {
      // A decoder that threw may keep partial state; start the next message afresh.
      this.#decoder = undefined;
      this.#pending = false;
      this.#atBoundary = true;
      throw invalidUtf8("text message");
    }
  }
}

const fatalDecoder = /* @__PURE__ */ createUtf8Decoder(true);

/**
 * How whole payloads are validated and decoded (internal, not exported by the package). Both give the same result: a string, or a
 * 1007 error for invalid input.
 *
 * - `"fatal"`: one call to a fatal `TextDecoder`.
 * - `"lax-then-check"`: a non-fatal decode, then a search for U+FFFD. A non-fatal decoder
 *   replaces every invalid sequence with U+FFFD (WHATWG Encoding §4.1), so a result without
 *   one proves the input valid; a result with one (invalid input, or a literal U+FFFD, which is
 *   rare) is decoded again fatally to tell which.
 *
 * Deno's fatal decoder takes a generic path (an encoding_rs decoder behind a separate op) while
 * its non-fatal UTF-8 decoder has a fast one: measured on this machine (Deno 2, one core), 1 KiB
 * of ASCII decodes in 576 ns fatally against 137 ns lax-then-check, 64 KiB of Latin-1 text in
 * 103 µs against 8 µs. On Node 20 both take the same time, and on Bun the extra search makes
 * non-ASCII text up to a third slower, so there the fatal decoder stays.
 */
export type WholeUtf8Strategy = "fatal" | "lax-then-check";

const laxDecoder = /* @__PURE__ */ createUtf8Decoder(false);

/** The strategy {@link decodeUtf8} uses in this runtime (see {@link WholeUtf8Strategy}). */
export const WHOLE_UTF8_STRATEGY: WholeUtf8Strategy =
  typeof (globalThis as { Deno?: unknown }).Deno === "object" ? "lax-then-check" : "fatal";

/**
 * Decodes a whole UTF-8 payload, throwing a {@link RemoteProtocolError} (1007) when it is not
 * valid. `where` names the payload in the error message.
 */
export function decodeUtf8(bytes: Uint8Array, where = "payload"): string {
  return decodeUtf8With(WHOLE_UTF8_STRATEGY, bytes, where);
}

/** {@link decodeUtf8} with the given strategy (internal: tests check both give the same results). */
export function decodeUtf8With(strategy: WholeUtf8Strategy, bytes: Uint8Array, where: string): string {
  const length = bytes.length;
  if (strategy === "lax-then-check" && length <= ASCII_FAST_PATH_MAX) {
    let ascii = true;
    for (let i = 0; i < length; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return length === 0 ? "" : String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  if (strategy === "lax-then-check") {
    const text = laxDecoder.decode(bytes);
    if (text.indexOf("\ufffd") === -1) return text;
  }
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    throw invalidUtf8(where);
  }
}

/**
 * A runtime's own decoder of a range of an array as UTF-8 (see `ConnectionOptions.decodeText`):
 * the string `source[start…end)` decodes to, or undefined when those bytes are not valid UTF-8.
 */
export type Utf8RangeDecoder = (source: Uint8Array, start: number, end: number) => string | undefined;

/**
 * Decodes `source[start…end)`, a whole UTF-8 payload, with `decoder` when there is one (no view
 * of `source` is made), else as {@link decodeUtf8} does from a view. Throws a
 * {@link RemoteProtocolError} (1007) when the bytes are not valid UTF-8.
 */
export function decodeUtf8Range(
  source: Uint8Array,
  start: number,
  end: number,
  decoder: Utf8RangeDecoder | undefined,
  where: string,
): string {
  if (decoder === undefined) return decodeUtf8(source.subarray(start, end), where);
  const text = decoder(source, start, end);
  if (text === undefined) throw invalidUtf8(where);
  return text;
}

/** Whether `bytes` is valid UTF-8 as a whole. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    fatalDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Decodes bytes already known to be valid UTF-8. */
export function decodeValidUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}
