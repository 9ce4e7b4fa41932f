/**
 * Base64 (RFC 4648 §4, standard alphabet with `=` padding) for `Uint8Array`, written out so it
 * depends on neither `Buffer` nor `btoa`/`atob`. Used for `Sec-WebSocket-Key` and
 * `Sec-WebSocket-Accept` (RFC 6455 §4.1, §4.2.2).
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Character code → 6-bit value, or -1 for characters outside the alphabet. */
const DECODE_TABLE: Int8Array = /* @__PURE__ */ (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * Encodes `bytes` as padded base64 (RFC 4648 §4).
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./base64.ts";
 * console.assert(encodeBase64(new Uint8Array([102, 111, 111])) === "Zm9v");
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  const full = bytes.length - (bytes.length % 3);
  for (let i = 0; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += `${ALPHABET[n >>> 18]}${ALPHABET[(n >>> 12) & 63]}${ALPHABET[(n >>> 6) & 63]}${ALPHABET[n & 63]}`;
  }
  if (bytes.length - full === 1) {
    const n = bytes[full]! << 16;
    out += `${ALPHABET[n >>> 18]}${ALPHABET[(n >>> 12) & 63]}==`;
  } else if (bytes.length - full === 2) {
    const n = (bytes[full]! << 16) | (bytes[full + 1]! << 8);
    out += `${ALPHABET[n >>> 18]}${ALPHABET[(n >>> 12) & 63]}${ALPHABET[(n >>> 6) & 63]}=`;
  }
  return out;
}

/**
 * Decodes padded base64 strictly (RFC 4648 §3.3, §3.5): the length must be a multiple of 4,
 * only the standard alphabet is allowed, padding only at the end, no whitespace, and the
 * unused bits before the padding must be zero (so every input has a single encoding).
 * Returns `undefined` for anything else.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./base64.ts";
 * console.assert(decodeBase64("Zm9v")?.length === 3);
 * console.assert(decodeBase64("Zm9") === undefined);
 * ```
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const length = text.length;
  if (length % 4 !== 0) return undefined;
  let padding = 0;
  if (length > 0 && text.charCodeAt(length - 1) === 0x3d)
    padding = text.charCodeAt(length - 2) === 0x3d ? 2 : 1;
  const out = new Uint8Array((length / 4) * 3 - padding);
  let o = 0;
  let bits = 0;
  const end = length - padding;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? DECODE_TABLE[code]! : -1;
    if (value < 0) return undefined;
    bits = (bits << 6) | value;
    if ((i & 3) === 3) {
      out[o++] = bits >>> 16;
      out[o++] = (bits >>> 8) & 0xff;
      out[o++] = bits & 0xff;
      bits = 0;
    }
  }
  if (padding === 2) {
    // Two characters carry 12 bits: 8 used, the last 4 must be zero.
    if ((bits & 0xf) !== 0) return undefined;
    out[o] = bits >>> 4;
  } else if (padding === 1) {
    // Three characters carry 18 bits: 16 used, the last 2 must be zero.
    if ((bits & 0x3) !== 0) return undefined;
    out[o++] = bits >>> 10;
    out[o] = (bits >>> 2) & 0xff;
  }
  return out;
}
