/**
 * `Sec-WebSocket-Key` generation and the `Sec-WebSocket-Accept` computation
 * (RFC 6455 §1.3, §4.1, §4.2.2).
 *
 * @module
 */
import { WEBSOCKET_GUID } from "../constants.ts";
import { type RandomSource, utf8Encoder, webRandom } from "../web-globals.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { sha1 } from "./sha1.ts";

/**
 * Computes the `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 §1.3, §4.2.2
 * step 5.4): base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). The key is used as
 * sent, without decoding it; validate it first with {@link isValidKey}.
 *
 * @example
 * ```ts
 * import { computeAcceptKey } from "./accept-key.ts";
 * // The sample from RFC 6455 §1.3.
 * console.assert(computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==") === "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 */
export function computeAcceptKey(key: string): string {
  return encodeBase64(sha1(utf8Encoder.encode(key + WEBSOCKET_GUID)));
}

/**
 * Generates a fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded (RFC 6455 §4.1,
 * client requirement 7). The key must be chosen randomly for each connection.
 *
 * @param random fills a buffer with random bytes; defaults to `globalThis.crypto.getRandomValues`.
 *
 * @example
 * ```ts
 * import { generateKey } from "./accept-key.ts";
 * const key = generateKey();
 * console.assert(key.length === 24 && key.endsWith("=="));
 * ```
 */
export function generateKey(random: RandomSource = webRandom): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  return encodeBase64(bytes);
}

/**
 * Whether `key` is a valid `Sec-WebSocket-Key`: the base64 encoding of exactly 16 bytes
 * (RFC 6455 §4.1 client requirement 7, §4.2.1 item 5).
 *
 * @example
 * ```ts
 * import { isValidKey } from "./accept-key.ts";
 * console.assert(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="));
 * console.assert(!isValidKey("dGhlIHNhbXBsZQ=="));
 * ```
 */
export function isValidKey(key: string): boolean {
  return key.length === 24 && decodeBase64(key)?.length === 16;
}
