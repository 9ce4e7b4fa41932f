/**
 * The frame codec against frames built here byte by byte from RFC 6455 §5.2 (header) and §5.3
 * (payload byte `i` XOR key byte `i mod 4`), with none of the code under test: masked binary
 * frames at every length form boundary and every masking block edge, with the payload at every
 * alignment, decoded from any split into chunks (with and without gathering) and encoded with
 * the same key.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder } from "../src/frame/decoder.ts";
import { encodeFrameParts } from "../src/frame/encode.ts";
import { SIMD_BLOCK } from "../src/frame/mask-simd.ts";

/** A final binary frame (opcode 2), masked with `key`, as §5.2 lays it out. */
function referenceFrame(payload: Uint8Array, key: Uint8Array): Uint8Array {
  const length = payload.length;
  const header: number[] = [0x82];
  if (length < 126) header.push(0x80 | length);
  else if (length < 65536) header.push(0x80 | 126, length >>> 8, length & 0xff);
  else {
    // 64-bit length, most significant byte first; the lengths here stay below 2^32.
    header.push(
      0x80 | 127,
      0,
      0,
      0,
      0,
      (length >>> 24) & 0xff,
      (length >>> 16) & 0xff,
      (length >>> 8) & 0xff,
      length & 0xff,
    );
  }
  header.push(...key);
  const frame = new Uint8Array(header.length + length);
  frame.set(header);
  for (let i = 0; i < length; i++) frame[header.length + i] = (payload[i] as number) ^ (key[i % 4] as number);
  return frame;
}

function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `bytes` copied into a fresh buffer at byte offset `shift` (the alignment a socket read could have). */
function at(bytes: Uint8Array, shift: number): Uint8Array {
  const view = new Uint8Array(shift + bytes.length + 7).subarray(shift, shift + bytes.length);
  view.set(bytes);
  return view;
}

function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return false;
  return true;
}

/** Length form boundaries (§5.2) and masking block edges. */
const EDGE_LENGTHS = [
  0,
  1,
  3,
  4,
  63,
  64,
  65,
  125,
  126,
  127,
  255,
  256,
  257,
  SIMD_BLOCK - 1,
  SIMD_BLOCK,
  SIMD_BLOCK + 1,
  2 * SIMD_BLOCK + 3,
  65535,
  65536,
  65537,
  8 * SIMD_BLOCK + 13,
];

const length = fc.oneof(fc.constantFrom(...EDGE_LENGTHS), fc.integer({ min: 0, max: 70_000 }));
const key = fc.uint8Array({ minLength: 4, maxLength: 4 });

describe("frames against a hand-built RFC 6455 reference", () => {
  it("decodes a masked frame split anywhere, each chunk at any alignment, gathered or in pieces", () => {
    fc.assert(
      fc.property(
        length,
        key,
        fc.integer(),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 6, maxLength: 6 }),
        fc.boolean(),
        (size, k, seed, cutPoints, shifts, gather) => {
          const payload = pseudoRandomBytes(size, seed);
          const frame = referenceFrame(payload, k);
          const cuts = [...new Set(cutPoints.map((p) => Math.floor(p * frame.length)))].sort((a, b) => a - b);
          const decoder = new FrameDecoder({ role: "server", gatherDataFrames: gather });
          const pieces: Uint8Array[] = [];
          let last = false;
          let from = 0;
          for (const [index, to] of [...cuts, frame.length].entries()) {
            decoder.push(at(frame.subarray(from, to), shifts[index] as number));
            from = to;
            for (let piece = decoder.next(); piece !== undefined; piece = decoder.next()) {
              expect(piece).toMatchObject({ fin: true, opcode: 2, rsv: 0, payloadLength: size });
              pieces.push(piece.data);
              last = piece.last;
            }
          }
          expect(last).toBe(true);
          expect(decoder.bufferedAmount).toBe(0);
          const joined = new Uint8Array(size);
          let offset = 0;
          for (const piece of pieces) {
            joined.set(piece, offset);
            offset += piece.length;
          }
          expect(offset).toBe(size);
          expect(sameBytes(joined, payload)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("encodes a masked frame byte for byte as the reference, for a payload at any alignment", () => {
    fc.assert(
      fc.property(length, key, fc.integer(), fc.integer({ min: 0, max: 15 }), (size, k, seed, shift) => {
        const payload = at(pseudoRandomBytes(size, seed), shift);
        const before = payload.slice();
        const parts = encodeFrameParts(2, true, 0, payload, k);
        const encoded = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
        let offset = 0;
        for (const part of parts) {
          encoded.set(part, offset);
          offset += part.length;
        }
        expect(sameBytes(encoded, referenceFrame(before, k))).toBe(true);
        // The caller's payload is never modified.
        expect(sameBytes(payload, before)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("decodes every edge length at every payload alignment, one chunk per 4093 bytes", () => {
    const k = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    for (const size of EDGE_LENGTHS) {
      const payload = pseudoRandomBytes(size, size + 1);
      const frame = referenceFrame(payload, k);
      for (let shift = 0; shift < 8; shift++) {
        for (const gather of [false, true]) {
          const decoder = new FrameDecoder({ role: "server", gatherDataFrames: gather });
          const joined = new Uint8Array(size);
          let offset = 0;
          for (let from = 0; from < frame.length; from += 4093) {
            decoder.push(at(frame.subarray(from, Math.min(frame.length, from + 4093)), shift));
            for (let piece = decoder.next(); piece !== undefined; piece = decoder.next()) {
              joined.set(piece.data, offset);
              offset += piece.data.length;
            }
          }
          expect(offset).toBe(size);
          expect(sameBytes(joined, payload)).toBe(true);
        }
      }
    }
  });
});
