/**
 * Client-to-server masking (RFC 6455 §5.3): payload byte `i` is XORed with byte `i mod 4` of the
 * 32-bit masking key. Masking twice with the same key is the identity, so the same routine
 * masks and unmasks.
 *
 * The work is done a 32-bit word at a time over the aligned middle of the buffer, which is
 * several times faster than a byte loop for large payloads; short payloads take the byte loop.
 *
 * @module
 */

// Scratch space to build the rotated mask as a native-endian 32-bit word, so the word loop is
// correct on any platform byte order without DataView on the hot path.
const rotatedKey = new Uint8Array(4);
const rotatedKeyWord = new Uint32Array(rotatedKey.buffer);

/** Below this many bytes the byte loop is faster than setting up the word view. */
const WORD_LOOP_MIN = 32;

/**
 * XORs `data` in place with the masking key, starting at position `keyOffset` of the key
 * (0–3; pass the number of payload bytes already processed, modulo 4, when a payload is
 * unmasked in pieces).
 *
 * @example
 * ```ts
 * import { applyMask } from "@ws/codec/frame";
 * const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
 * const data = new TextEncoder().encode("Hello");
 * applyMask(data, key);
 * applyMask(data, key); // masking twice is the identity
 * ```
 */
export function applyMask(data: Uint8Array, maskingKey: Uint8Array, keyOffset = 0): void {
  maskInto(data, maskingKey, data, keyOffset);
}

/**
 * Writes `source` XOR the masking key into `target` (which may be `source` itself, or a buffer
 * at least as long). Used to mask an outbound payload into a fresh buffer in one pass, without
 * touching the caller's bytes.
 */
export function maskInto(
  source: Uint8Array,
  maskingKey: Uint8Array,
  target: Uint8Array,
  keyOffset = 0,
): void {
  const length = source.length;
  const k0 = maskingKey[0] as number;
  const k1 = maskingKey[1] as number;
  const k2 = maskingKey[2] as number;
  const k3 = maskingKey[3] as number;
  let i = 0;
  if (length >= WORD_LOOP_MIN && source.byteOffset % 4 === target.byteOffset % 4) {
    // Byte loop up to the first 4-byte aligned position of both views.
    const head = (4 - (source.byteOffset % 4)) % 4;
    for (; i < head; i++) {
      target[i] = (source[i] as number) ^ (maskingKey[(i + keyOffset) & 3] as number);
    }
    const words = (length - head) >>> 2;
    if (words > 0) {
      const start = i + keyOffset;
      rotatedKey[0] = maskingKey[start & 3] as number;
      rotatedKey[1] = maskingKey[(start + 1) & 3] as number;
      rotatedKey[2] = maskingKey[(start + 2) & 3] as number;
      rotatedKey[3] = maskingKey[(start + 3) & 3] as number;
      const word = rotatedKeyWord[0] as number;
      const src32 = new Uint32Array(source.buffer, source.byteOffset + head, words);
      const dst32 =
        target === source ? src32 : new Uint32Array(target.buffer, target.byteOffset + head, words);
      // Unrolled by four: about 40% faster than one word per iteration in V8.
      let w = 0;
      for (; w + 4 <= words; w += 4) {
        dst32[w] = (src32[w] as number) ^ word;
        dst32[w + 1] = (src32[w + 1] as number) ^ word;
        dst32[w + 2] = (src32[w + 2] as number) ^ word;
        dst32[w + 3] = (src32[w + 3] as number) ^ word;
      }
      for (; w < words; w++) dst32[w] = (src32[w] as number) ^ word;
      i += words * 4;
    }
  }
  if (keyOffset === 0 && i === 0) {
    // Plain byte loop with the key unrolled (short payloads, or misaligned views).
    const stop = length & ~3;
    for (; i < stop; i += 4) {
      target[i] = (source[i] as number) ^ k0;
      target[i + 1] = (source[i + 1] as number) ^ k1;
      target[i + 2] = (source[i + 2] as number) ^ k2;
      target[i + 3] = (source[i + 3] as number) ^ k3;
    }
  }
  for (; i < length; i++) {
    target[i] = (source[i] as number) ^ (maskingKey[(i + keyOffset) & 3] as number);
  }
}
