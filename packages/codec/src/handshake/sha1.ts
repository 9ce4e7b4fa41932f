/**
 * A small synchronous SHA-1 (FIPS 180-4 §6.1), used once per connection to compute
 * `Sec-WebSocket-Accept` (RFC 6455 §1.3, §4.2.2). SHA-1 is not used for any security property
 * here: the accept value only proves the server understood the WebSocket handshake.
 *
 * Keeping it synchronous lets the whole handshake stay synchronous on every runtime without
 * `node:crypto` or an async `crypto.subtle.digest`.
 *
 * @module
 */

/**
 * Computes the SHA-1 digest (20 bytes) of `bytes` (FIPS 180-4 §6.1.2).
 *
 * @example
 * ```ts
 * import { sha1 } from "./sha1.ts";
 * const digest = sha1(new TextEncoder().encode("abc"));
 * // digest is a9993e364706816aba3e25717850c26c9cd0d89d
 * console.assert(digest.length === 20 && digest[0] === 0xa9);
 * ```
 */
export function sha1(bytes: Uint8Array): Uint8Array {
  const length = bytes.length;
  // FIPS 180-4 §5.1.1 padding: 0x80, zeros, then the 64-bit big-endian bit length. A
  // handshake's input (a key and the GUID: 60 bytes) fits the shared scratch, so hashing it
  // allocates nothing but the digest.
  const blocks = ((length + 8) >>> 6) + 1;
  const size = blocks * 64;
  const padded = size <= SCRATCH.length ? SCRATCH : new Uint8Array(size);
  padded.set(bytes);
  padded.fill(0, length, size);
  padded[length] = 0x80;
  const bitLength = length * 8;
  writeInt32(padded, size - 8, Math.floor(bitLength / 0x100000000));
  writeInt32(padded, size - 4, bitLength >>> 0);

  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const w = SCHEDULE;

  for (let block = 0; block < size; block += 64) {
    // §6.1.2 step 1: the message schedule.
    for (let t = 0, i = block; t < 16; t++, i += 4) {
      w[t] = (padded[i]! << 24) | (padded[i + 1]! << 16) | (padded[i + 2]! << 8) | padded[i + 3]!;
    }
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
      w[t] = (x << 1) | (x >>> 31);
    }
    // Steps 2–4: the 80 rounds.
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    // Step 5: the intermediate hash value.
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }

  const digest = new Uint8Array(20);
  writeInt32(digest, 0, h0);
  writeInt32(digest, 4, h1);
  writeInt32(digest, 8, h2);
  writeInt32(digest, 12, h3);
  writeInt32(digest, 16, h4);
  return digest;
}

/**
 * Scratch for the padded input of up to two blocks and for the message schedule, reused by
 * every call (the function is synchronous and does not re-enter).
 */
const SCRATCH = /* @__PURE__ */ new Uint8Array(128);
const SCHEDULE = /* @__PURE__ */ new Int32Array(80);

/** Writes `value` big-endian at `offset`. */
function writeInt32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}
