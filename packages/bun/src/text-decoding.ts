/**
 * UTF-8 decoding of a range of a received chunk, without a view of it (the session's
 * `Transport.decodeText`, the codec's `decodeText`), for text messages that come whole in one
 * frame. On JavaScriptCore a view of a fresh chunk (`subarray`) costs about as much as decoding
 * a kilobyte; Node's `Buffer` API, which Bun implements, decodes a range of a buffer.
 *
 * Node docs relied on (Bun implements `node:buffer`):
 * - `Buffer.from(arrayBuffer, byteOffset, length)` shares the memory, no copy:
 *   https://nodejs.org/api/buffer.html#static-method-bufferfromarraybuffer-byteoffset-length
 * - `buf.toString("utf8", start, end)` decodes a range, replacing each invalid sequence with
 *   U+FFFD: https://nodejs.org/api/buffer.html#buftostringencoding-start-end
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** Tells invalid input from a literal U+FFFD (RFC 6455 §8.1: invalid UTF-8 fails the connection). */
// ignoreBOM: a leading U+FEFF is message content (as for the codec's decoders, RFC 6455 §5.6).
const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The chunk decoded from last, and a `Buffer` over its memory: one per received chunk (which
 * usually holds several messages), not one per message. Keeps that one chunk alive until the
 * next, which is all it holds.
 */
let lastChunk: Uint8Array | undefined;
let lastBuffer: Buffer | undefined;

/**
 * `source[start…end)` decoded as UTF-8, or undefined when it is not valid UTF-8. The lax decode
 * marks every invalid sequence with U+FFFD, so a string without one is the valid decoding; one
 * with U+FFFD (invalid input, or the character itself, which is rare) is decoded again by a
 * fatal decoder to tell which.
 */
export function decodeUtf8Range(source: Uint8Array, start: number, end: number): string | undefined {
  let buffer = lastBuffer;
  if (lastChunk !== source || buffer === undefined) {
    buffer = Buffer.from(source.buffer, source.byteOffset, source.length);
    lastChunk = source;
    lastBuffer = buffer;
  }
  const text = buffer.toString("utf8", start, end);
  if (text.indexOf("\ufffd") === -1) return text;
  try {
    return fatalDecoder.decode(source.subarray(start, end));
  } catch {
    return undefined;
  }
}
