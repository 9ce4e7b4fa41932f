/**
 * Client-to-server masking (RFC 6455 §5.3): payload byte `i` is XORed with byte `i mod 4` of the
 * 32-bit masking key. Masking twice with the same key is the identity, so the same routine
 * masks and unmasks.
 *
 * Three paths, by payload size:
 * - short payloads: a byte loop with the key unrolled;
 * - bulk: WebAssembly SIMD where the runtime has it (`mask-simd.ts`);
 * - otherwise a 32-bit word loop, for any alignment of source and target: when their byte
 *   offsets differ modulo 4 (a masked frame's payload sits behind a 6-, 8- or 14-byte header)
 *   the bytes are first copied to the target, then masked there in place, because a memory copy
 *   plus an aligned word loop is much faster than a byte loop.
 *
 * @module
 */

import { maskIntoSimd } from "./mask-simd.ts";

// Scratch space to build the rotated mask as a native-endian 32-bit word, so the word loop is
// correct on any platform byte order without DataView on the hot path.
const rotatedKey = new Uint8Array(4);
const rotatedKeyWord = new Uint32Array(rotatedKey.buffer);

/** Below this many bytes the byte loop is faster than setting up the word view. */
const WORD_LOOP_MIN = 64;
/**
 * Below this many bytes, a source and target of different alignments (a short client frame's
 * payload sits 6 bytes into its buffer) take the byte loop too: the copy the word loop needs
 * first costs more than it saves on so few words.
 */
const MISALIGNED_WORD_LOOP_MIN = 80;
/** From this many bytes on, WebAssembly SIMD is faster than the word loop (the call and the copies cost). */
const SIMD_MIN = 256;

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
  if (length >= SIMD_MIN && maskIntoSimd(source, maskingKey, target, keyOffset)) return;
  maskIntoJs(source, maskingKey, target, keyOffset);
}

/** {@link maskInto} in JavaScript only: the fallback where WebAssembly SIMD is unavailable. */
export function maskIntoJs(
  source: Uint8Array,
  maskingKey: Uint8Array,
  target: Uint8Array,
  keyOffset = 0,
): void {
  const length = source.length;
  const aligned = source.byteOffset % 4 === target.byteOffset % 4;
  if (length < WORD_LOOP_MIN || (!aligned && length < MISALIGNED_WORD_LOOP_MIN)) {
    maskBytes(source, maskingKey, target, keyOffset);
    return;
  }
  let from = source;
  if (!aligned) {
    // Different alignments: copy, then mask the target in place (set() handles overlap).
    target.set(source);
    from = target;
  }
  // Byte loop up to the first 4-byte aligned position of both views.
  const head = (4 - (target.byteOffset % 4)) % 4;
  for (let i = 0; i < head; i++) {
    target[i] = (from[i] as number) ^ (maskingKey[(i + keyOffset) & 3] as number);
  }
  const words = (length - head) >>> 2;
  const start = head + keyOffset;
  rotatedKey[0] = maskingKey[start & 3] as number;
  rotatedKey[1] = maskingKey[(start + 1) & 3] as number;
  rotatedKey[2] = maskingKey[(start + 2) & 3] as number;
  rotatedKey[3] = maskingKey[(start + 3) & 3] as number;
  const word = rotatedKeyWord[0] as number;
  const dst32 = new Uint32Array(target.buffer, target.byteOffset + head, words);
  const src32 = from === target ? dst32 : new Uint32Array(from.buffer, from.byteOffset + head, words);
  // Unrolled by four: about 40% faster than one word per iteration in V8.
  let w = 0;
  for (; w + 4 <= words; w += 4) {
    dst32[w] = (src32[w] as number) ^ word;
    dst32[w + 1] = (src32[w + 1] as number) ^ word;
    dst32[w + 2] = (src32[w + 2] as number) ^ word;
    dst32[w + 3] = (src32[w + 3] as number) ^ word;
  }
  for (; w < words; w++) dst32[w] = (src32[w] as number) ^ word;
  const done = head + words * 4;
  for (let i = done; i < length; i++) {
    target[i] = (from[i] as number) ^ (maskingKey[(i + keyOffset) & 3] as number);
  }
}

/** The byte loop, with the key unrolled when it starts in phase. */
function maskBytes(source: Uint8Array, maskingKey: Uint8Array, target: Uint8Array, keyOffset: number): void {
  const length = source.length;
  let i = 0;
  if (keyOffset === 0) {
    const k0 = maskingKey[0] as number;
    const k1 = maskingKey[1] as number;
    const k2 = maskingKey[2] as number;
    const k3 = maskingKey[3] as number;
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

/**
 * Writes `target.length` bytes of `source` from position `start`, XORed with the masking key
 * from key position `keyOffset`, into `target` (a fresh array): unmasking a short payload
 * straight out of the received chunk, without making a view of it first. With `maskingKey`
 * undefined the bytes are copied as they are.
 */
export function maskFrom(
  source: Uint8Array,
  start: number,
  target: Uint8Array,
  maskingKey: Uint8Array | undefined,
  keyOffset = 0,
): void {
  const length = target.length;
  if (maskingKey === undefined) {
    for (let i = 0; i < length; i++) target[i] = source[start + i] as number;
    return;
  }
  const k0 = maskingKey[keyOffset & 3] as number;
  const k1 = maskingKey[(keyOffset + 1) & 3] as number;
  const k2 = maskingKey[(keyOffset + 2) & 3] as number;
  const k3 = maskingKey[(keyOffset + 3) & 3] as number;
  const stop = length & ~3;
  let i = 0;
  for (; i < stop; i += 4) {
    target[i] = (source[start + i] as number) ^ k0;
    target[i + 1] = (source[start + i + 1] as number) ^ k1;
    target[i + 2] = (source[start + i + 2] as number) ^ k2;
    target[i + 3] = (source[start + i + 3] as number) ^ k3;
  }
  if (i < length) target[i] = (source[start + i] as number) ^ k0;
  if (i + 1 < length) target[i + 1] = (source[start + i + 1] as number) ^ k1;
  if (i + 2 < length) target[i + 2] = (source[start + i + 2] as number) ^ k2;
}

/**
 * From this many bytes on, {@link unmaskRange} unmasks a view of the range with
 * {@link maskInto} (WebAssembly SIMD where the runtime has it), faster there than the word loop.
 */
const RANGE_VIEW_MIN = 8192;
/** The key of {@link unmaskRange}'s long ranges as bytes (read only during the call). */
const rangeKey = new Uint8Array(4);

/**
 * The last array {@link unmaskRange} made a 32-bit view of, and that view (of the 4-aligned
 * part of its buffer around it). A received chunk usually holds several frames: one view per
 * chunk rather than one per frame (on JavaScriptCore a view costs about as much as unmasking a
 * kilobyte with it).
 */
let wordsOf: Uint8Array | undefined;
let words: Uint32Array | undefined;

/**
 * XORs `chunk[start…end)` in place with a masking key given as a big-endian 32-bit number
 * (key byte 0 in the top bits), from key position 0 at `start`: unmasking a payload where it
 * lies in the received chunk, without a view of it. From {@link WORD_LOOP_MIN} bytes on, a word
 * loop over a 32-bit view of the chunk's buffer, which touches only the words inside the range
 * (the buffer may hold other data around the chunk); from {@link RANGE_VIEW_MIN} on, SIMD over a
 * view of the range.
 */
export function unmaskRange(chunk: Uint8Array, start: number, end: number, key: number): void {
  const k0 = key >>> 24;
  const k1 = (key >>> 16) & 0xff;
  const k2 = (key >>> 8) & 0xff;
  const k3 = key & 0xff;
  if (end - start >= RANGE_VIEW_MIN) {
    // Long enough that a view of it costs little beside it: WebAssembly SIMD, as any payload.
    rangeKey[0] = k0;
    rangeKey[1] = k1;
    rangeKey[2] = k2;
    rangeKey[3] = k3;
    const view = chunk.subarray(start, end);
    maskInto(view, rangeKey, view);
    return;
  }
  let i = start;
  if (end - start >= WORD_LOOP_MIN) {
    if (wordsOf !== chunk || words === undefined) {
      const from = chunk.byteOffset & ~3;
      words = new Uint32Array(chunk.buffer, from, (chunk.byteOffset + chunk.length - from) >>> 2);
      wordsOf = chunk;
    }
    const base = chunk.byteOffset & 3;
    // Bytes up to the first aligned position, then whole words, then the tail.
    for (; ((base + i) & 3) !== 0; i++) chunk[i] = (chunk[i] as number) ^ keyByte(i - start, k0, k1, k2, k3);
    const phase = i - start;
    rotatedKey[0] = keyByte(phase, k0, k1, k2, k3);
    rotatedKey[1] = keyByte(phase + 1, k0, k1, k2, k3);
    rotatedKey[2] = keyByte(phase + 2, k0, k1, k2, k3);
    rotatedKey[3] = keyByte(phase + 3, k0, k1, k2, k3);
    const word = rotatedKeyWord[0] as number;
    const view = words;
    let w = (base + i) >>> 2;
    const stop = (base + end) >>> 2;
    for (; w + 4 <= stop; w += 4) {
      view[w] = (view[w] as number) ^ word;
      view[w + 1] = (view[w + 1] as number) ^ word;
      view[w + 2] = (view[w + 2] as number) ^ word;
      view[w + 3] = (view[w + 3] as number) ^ word;
    }
    for (; w < stop; w++) view[w] = (view[w] as number) ^ word;
    i = w * 4 - base;
  }
  for (; i < end; i++) chunk[i] = (chunk[i] as number) ^ keyByte(i - start, k0, k1, k2, k3);
}

/** Byte `position mod 4` of a masking key held as four bytes. */
function keyByte(position: number, k0: number, k1: number, k2: number, k3: number): number {
  const at = position & 3;
  return at === 0 ? k0 : at === 1 ? k1 : at === 2 ? k2 : k3;
}
