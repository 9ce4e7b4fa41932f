/**
 * Byte-level mutation of seed inputs, as fast-check arbitraries so that a failing input shrinks
 * to the fewest, smallest edits: bit flips, byte sets, "interesting" values, inserts, deletes,
 * repeats (long runs of a range, for oversized and backtracking-shaped inputs), splices with
 * another seed, truncation, and edits of WebSocket frame length fields (RFC 6455 §5.2: 7-bit,
 * 16-bit and 64-bit encodings, non-minimal ones and the forbidden most significant bit).
 *
 * @module
 */
import fc from "fast-check";

/** One edit of a byte string. Positions are taken modulo the current length. */
export type Mutation =
  | { readonly op: "flip"; readonly at: number; readonly bit: number }
  | { readonly op: "set"; readonly at: number; readonly value: number }
  | { readonly op: "interesting"; readonly at: number; readonly width: 1 | 2 | 4 | 8; readonly pick: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "delete"; readonly at: number; readonly length: number }
  | { readonly op: "repeat"; readonly at: number; readonly length: number; readonly times: number }
  | { readonly op: "splice"; readonly at: number; readonly other: number; readonly from: number }
  | { readonly op: "truncate"; readonly at: number }
  | { readonly op: "frame-length"; readonly frame: number; readonly pick: number };

/** Values that sit on the edges of the codec's branches (length encodings, opcodes, bits). */
const INTERESTING: readonly bigint[] = [
  0n,
  1n,
  0x7dn,
  0x7en,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0xffffffffn,
  0x100000000n,
  0x1fffffffffffffn,
  0x20000000000000n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
];

/** Frame payload lengths to write into a frame header, in every encoding (minimal or not). */
const FRAME_LENGTHS: readonly { readonly length: bigint; readonly encoding: 7 | 16 | 64 }[] = [
  { length: 0n, encoding: 7 },
  { length: 1n, encoding: 7 },
  { length: 125n, encoding: 7 },
  { length: 126n, encoding: 16 },
  { length: 125n, encoding: 16 },
  { length: 0n, encoding: 16 },
  { length: 0xffffn, encoding: 16 },
  { length: 0x10000n, encoding: 64 },
  { length: 0xffffn, encoding: 64 },
  { length: 5n, encoding: 64 },
  { length: 64n * 1024n * 1024n, encoding: 64 },
  { length: 64n * 1024n * 1024n + 1n, encoding: 64 },
  { length: 0xffffffffn, encoding: 64 },
  { length: 0x100000000n, encoding: 64 },
  { length: 0x1fffffffffffffn, encoding: 64 },
  { length: 0x20000000000000n, encoding: 64 },
  { length: 0x7fffffffffffffffn, encoding: 64 },
  { length: 0x8000000000000000n, encoding: 64 },
  { length: 0xffffffffffffffffn, encoding: 64 },
];

const position = fc.nat({ max: 0xffff });

/** One mutation. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("set" as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    op: fc.constant("interesting" as const),
    at: position,
    width: fc.constantFrom<1 | 2 | 4 | 8>(1, 2, 4, 8),
    pick: fc.nat({ max: INTERESTING.length - 1 }),
  }),
  fc.record({
    op: fc.constant("insert" as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ op: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({
    op: fc.constant("repeat" as const),
    at: position,
    length: fc.integer({ min: 1, max: 16 }),
    times: fc.oneof(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 100, max: 4000 })),
  }),
  fc.record({ op: fc.constant("splice" as const), at: position, other: fc.nat(), from: position }),
  fc.record({ op: fc.constant("truncate" as const), at: position }),
  fc.record({
    op: fc.constant("frame-length" as const),
    frame: fc.nat({ max: 15 }),
    pick: fc.nat({ max: FRAME_LENGTHS.length - 1 }),
  }),
);

/** One to `max` mutations. */
export function mutationsArb(max = 6): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb, { minLength: 1, maxLength: max });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Big-endian bytes of the low `width` bytes of `value`. */
function bigEndian(value: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** Where each frame header of a (mostly) valid frame stream starts, walked from offset 0. */
export function frameOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    offsets.push(at);
    const second = bytes[at + 1] as number;
    const len7 = second & 0x7f;
    let header = 2;
    let length = len7;
    if (len7 === 126) {
      if (at + 4 > bytes.length) break;
      length = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
      header = 4;
    } else if (len7 === 127) {
      if (at + 10 > bytes.length) break;
      let big = 0;
      for (let i = 2; i < 10; i++) big = big * 256 + (bytes[at + i] as number);
      length = big;
      header = 10;
    }
    if ((second & 0x80) !== 0) header += 4;
    at += header + length;
  }
  return offsets;
}

/** Rewrites the length field of the frame starting at `at` (its header size may change). */
function setFrameLength(bytes: Uint8Array, at: number, pick: number): Uint8Array {
  const { length, encoding } = FRAME_LENGTHS[pick % FRAME_LENGTHS.length] as (typeof FRAME_LENGTHS)[number];
  const second = bytes[at + 1] as number;
  const len7 = second & 0x7f;
  const oldField = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const mask = second & 0x80;
  let field: Uint8Array;
  let code: number;
  if (encoding === 7) {
    field = new Uint8Array(0);
    code = Number(length);
  } else if (encoding === 16) {
    field = bigEndian(length, 2);
    code = 126;
  } else {
    field = bigEndian(length, 8);
    code = 127;
  }
  return concat(
    bytes.subarray(0, at + 1),
    new Uint8Array([mask | code]),
    field,
    bytes.subarray(Math.min(bytes.length, at + 2 + oldField)),
  );
}

/**
 * Applies one mutation to `bytes`, which it may modify in place (the caller owns them); `seeds`
 * are the other inputs a splice may take bytes from.
 */
export function mutate(bytes: Uint8Array, m: Mutation, seeds: readonly Uint8Array[]): Uint8Array {
  const n = bytes.length;
  switch (m.op) {
    // In place: mutateAll hands over a copy it owns.
    case "flip":
      if (n > 0) bytes[m.at % n] = (bytes[m.at % n] as number) ^ (1 << m.bit);
      return bytes;
    case "set":
      if (n > 0) bytes[m.at % n] = m.value;
      return bytes;
    case "interesting": {
      if (n === 0) return bytes;
      const at = m.at % n;
      const value = bigEndian(INTERESTING[m.pick % INTERESTING.length] as bigint, m.width);
      bytes.set(value.subarray(0, Math.min(value.length, n - at)), at);
      return bytes;
    }
    case "insert": {
      const at = m.at % (n + 1);
      return concat(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
    }
    case "delete": {
      if (n === 0) return bytes;
      const at = m.at % n;
      return concat(bytes.subarray(0, at), bytes.subarray(Math.min(n, at + m.length)));
    }
    case "repeat": {
      if (n === 0) return bytes;
      const at = m.at % n;
      const unit = bytes.subarray(at, Math.min(n, at + m.length));
      const run = new Uint8Array(unit.length * m.times);
      for (let i = 0; i < m.times; i++) run.set(unit, i * unit.length);
      return concat(bytes.subarray(0, at), run, bytes.subarray(at));
    }
    case "splice": {
      const other = seeds.length === 0 ? bytes : (seeds[m.other % seeds.length] as Uint8Array);
      const at = m.at % (n + 1);
      const from = m.from % (other.length + 1);
      return concat(bytes.subarray(0, at), other.subarray(from));
    }
    case "truncate":
      return bytes.subarray(0, m.at % (n + 1));
    case "frame-length": {
      const offsets = frameOffsets(bytes);
      if (offsets.length === 0) return bytes;
      return setFrameLength(bytes, offsets[m.frame % offsets.length] as number, m.pick);
    }
  }
}

/** Applies mutations in order to a copy of `bytes` (the in-place edits must not reach the corpus). */
export function mutateAll(
  bytes: Uint8Array,
  mutations: readonly Mutation[],
  seeds: readonly Uint8Array[],
): Uint8Array {
  let out: Uint8Array = bytes.slice();
  for (const m of mutations) out = mutate(out, m, seeds);
  return out;
}

/** Random cut points, for chunking a byte stream (positions taken modulo length + 1). */
export const cutsArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.array(fc.nat({ max: 0xffff }), { maxLength: 12 }),
  // Now and then one byte at a time over a prefix: every state boundary gets hit.
  fc.integer({ min: 1, max: 64 }).map((n) => Array.from({ length: n }, (_, i) => i + 1)),
);

/** Splits `bytes` at `cuts` (copies: consumers may own and modify their chunks). */
export function chunk(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) out.push(bytes.slice(start, point));
    start = Math.max(start, point);
  }
  return out;
}
