import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { randomBytes } from "../../test/helpers.ts";
import { applyMask, maskInto, maskIntoJs, unmaskRange } from "./mask.ts";
import { maskIntoSimd, SIMD_BLOCK, simdMaskAvailable } from "./mask-simd.ts";

function naiveMask(data: Uint8Array, key: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) ^ (key[(i + offset) & 3] as number);
  return out;
}

/** The first index where the two differ, or -1 (deep equality on 100 KiB arrays is slow). */
function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return i;
  return -1;
}

const key = fc.uint8Array({ minLength: 4, maxLength: 4 });
const payload = fc.uint8Array({ maxLength: 300 });

describe("applyMask", () => {
  it("masking twice is the identity", () => {
    fc.assert(
      fc.property(payload, key, fc.integer({ min: 0, max: 3 }), (data, k, offset) => {
        const copy = data.slice();
        applyMask(copy, k, offset);
        applyMask(copy, k, offset);
        expect(copy).toEqual(data);
      }),
    );
  });

  it("matches a byte-by-byte XOR at any alignment and key offset", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        key,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 7 }),
        (data, k, offset, shift) => {
          const backing = new Uint8Array(data.length + shift);
          backing.set(data, shift);
          const view = backing.subarray(shift);
          applyMask(view, k, offset);
          expect(view).toEqual(naiveMask(data, k, offset));
        },
      ),
    );
  });

  it("masks a payload in pieces the same as whole", () => {
    fc.assert(
      fc.property(payload, key, fc.nat(), (data, k, cut) => {
        const at = data.length === 0 ? 0 : cut % data.length;
        const pieces = data.slice();
        applyMask(pieces.subarray(0, at), k, 0);
        applyMask(pieces.subarray(at), k, at & 3);
        expect(pieces).toEqual(naiveMask(data, k, 0));
      }),
    );
  });
});

describe("maskInto", () => {
  it("writes the masked bytes to another buffer and leaves the source alone", () => {
    fc.assert(
      fc.property(payload, key, fc.integer({ min: 0, max: 3 }), (data, k, shift) => {
        const source = data.slice();
        const target = new Uint8Array(data.length + shift).subarray(shift);
        maskInto(source, k, target);
        expect(source).toEqual(data);
        expect(target).toEqual(naiveMask(data, k, 0));
      }),
    );
  });
});

type Masker = (source: Uint8Array, key: Uint8Array, target: Uint8Array, keyOffset: number) => void;
const paths: [string, Masker][] = [
  ["JavaScript", maskIntoJs],
  [
    "WebAssembly SIMD",
    (source, k, target, keyOffset) => {
      if (!maskIntoSimd(source, k, target, keyOffset)) throw new Error("WebAssembly SIMD is unavailable");
    },
  ],
];

describe("both masking paths", () => {
  it("WebAssembly SIMD is available on every runtime we test (Node, Deno, Bun)", () => {
    // Without this the SIMD cases below could not run; a browser without SIMD takes the
    // JavaScript path, which the same cases cover.
    expect(simdMaskAvailable()).toBe(true);
  });

  for (const [name, mask] of paths) {
    it(`${name}: matches a byte-by-byte XOR for any length, source and target alignment, key offset`, () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 0, max: 2 * SIMD_BLOCK + 100 })),
          key,
          fc.integer({ min: 0, max: 3 }),
          // Offsets across a 4 KiB page too: the SIMD path places its block by them.
          fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 8191 })),
          fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 8191 })),
          fc.boolean(),
          fc.integer(),
          (length, k, keyOffset, sourceShift, targetShift, inPlace, seed) => {
            const data = randomBytes(length, seed);
            const source = new Uint8Array(length + sourceShift).subarray(sourceShift);
            source.set(data);
            const target = inPlace ? source : new Uint8Array(length + targetShift + 3).subarray(targetShift);
            mask(source, k, target, keyOffset);
            const expected = naiveMask(data, k, keyOffset);
            expect(firstDifference(target.subarray(0, length), expected)).toBe(-1);
            if (!inPlace) expect(firstDifference(source, data)).toBe(-1);
          },
        ),
        { numRuns: 40 },
      );
    });

    it(`${name}: every length up to 300 bytes, every source and target alignment modulo 4, every key offset`, () => {
      // Short payloads switch between the byte loop and the word loop by length and by whether
      // source and target share an alignment (WORD_LOOP_MIN, MISALIGNED_WORD_LOOP_MIN, SIMD_MIN):
      // every combination around those edges, against a byte-by-byte XOR.
      const k = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
      for (let length = 0; length <= 300; length++) {
        const data = randomBytes(length, length);
        for (const keyOffset of [0, 1, 2, 3]) {
          const expected = naiveMask(data, k, keyOffset);
          for (let sourceShift = 0; sourceShift < 4; sourceShift++) {
            for (let targetShift = 0; targetShift < 4; targetShift++) {
              const source = new Uint8Array(length + sourceShift).subarray(sourceShift);
              source.set(data);
              const target = new Uint8Array(length + targetShift + 1).subarray(targetShift);
              mask(source, k, target, keyOffset);
              expect(firstDifference(target.subarray(0, length), expected)).toBe(-1);
              expect(target[length]).toBe(0);
              expect(firstDifference(source, data)).toBe(-1);
            }
            const inPlace = new Uint8Array(length + sourceShift).subarray(sourceShift);
            inPlace.set(data);
            mask(inPlace, k, inPlace, keyOffset);
            expect(firstDifference(inPlace, expected)).toBe(-1);
          }
        }
      }
    });

    it(`${name}: agrees with the other path on block edges and small sizes`, () => {
      const k = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
      for (const length of [
        0,
        1,
        3,
        4,
        31,
        32,
        33,
        63,
        64,
        65,
        511,
        512,
        513,
        SIMD_BLOCK - 1,
        SIMD_BLOCK,
        SIMD_BLOCK + 1,
        2 * SIMD_BLOCK + 7,
      ]) {
        for (const keyOffset of [0, 1, 2, 3]) {
          const data = randomBytes(length, length + keyOffset);
          const target = new Uint8Array(length + 6).subarray(6);
          mask(data, k, target, keyOffset);
          const other = new Uint8Array(length);
          (name === "JavaScript" ? (paths[1] as [string, Masker])[1] : maskIntoJs)(data, k, other, keyOffset);
          expect(firstDifference(target, other)).toBe(-1);
          expect(firstDifference(target, naiveMask(data, k, keyOffset))).toBe(-1);
        }
      }
    });
  }

  it("WebAssembly SIMD: every source and target alignment and key offset, across block boundaries, against a byte-by-byte XOR", () => {
    // The SIMD path keeps the view of a whole block for the last block position used: changing
    // alignments from call to call must move it (a stale view would copy out the wrong bytes).
    const k = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    for (const length of [SIMD_BLOCK - 1, SIMD_BLOCK, SIMD_BLOCK + 1, 2 * SIMD_BLOCK + 3]) {
      for (let sourceShift = 0; sourceShift < 8; sourceShift++) {
        for (let targetShift = 0; targetShift < 8; targetShift++) {
          const keyOffset = (sourceShift + targetShift + length) & 3;
          const data = randomBytes(length, length + sourceShift * 8 + targetShift);
          const source = new Uint8Array(length + sourceShift).subarray(sourceShift);
          source.set(data);
          const target = new Uint8Array(length + targetShift + 1).subarray(targetShift, targetShift + length);
          expect(maskIntoSimd(source, k, target, keyOffset)).toBe(true);
          expect(firstDifference(target, naiveMask(data, k, keyOffset))).toBe(-1);
          expect(firstDifference(source, data)).toBe(-1);
          // In place too (the same alignment for source and target).
          expect(maskIntoSimd(source, k, source, keyOffset)).toBe(true);
          expect(firstDifference(source, naiveMask(data, k, keyOffset))).toBe(-1);
        }
      }
    }
  });

  it("source and target half a page apart (the SIMD block moves away from both) mask the same", () => {
    const k = new Uint8Array([9, 8, 7, 6]);
    for (const [, mask] of paths) {
      for (const gap of [2048 - 70, 2048 - 64, 2048 - 1, 2048, 2048 + 1, 2048 + 63]) {
        const data = randomBytes(3000, gap);
        const source = new Uint8Array(3000 + 8192).subarray(100, 3100);
        source.set(data);
        const target = new Uint8Array(3000 + 8192).subarray(100 + gap, 3100 + gap);
        mask(source, k, target, 1);
        expect(firstDifference(target, naiveMask(data, k, 1))).toBe(-1);
      }
    }
  });

  it("masking in place in the middle of a shared buffer leaves the bytes around it alone", () => {
    const k = new Uint8Array([1, 2, 3, 4]);
    for (const [, mask] of paths) {
      const buffer = randomBytes(SIMD_BLOCK + 300, 7);
      const before = buffer.slice();
      const view = buffer.subarray(14, 14 + SIMD_BLOCK + 1);
      mask(view, k, view, 2);
      expect(buffer.subarray(0, 14)).toEqual(before.subarray(0, 14));
      expect(buffer.subarray(15 + SIMD_BLOCK)).toEqual(before.subarray(15 + SIMD_BLOCK));
      expect(firstDifference(view, naiveMask(before.subarray(14, 14 + SIMD_BLOCK + 1), k, 2))).toBe(-1);
    }
  });
});

describe("unmaskRange", () => {
  it("matches a byte-by-byte XOR for any range, at any offset of the chunk in its buffer, leaving the rest alone", () => {
    fc.assert(
      fc.property(
        key,
        fc.uint8Array({ minLength: 1, maxLength: 700 }),
        fc.nat(3),
        fc.nat(700),
        fc.nat(700),
        (k, bytes, at, a, b) => {
          const buffer = new Uint8Array(at + bytes.length + 5).fill(0x5a);
          buffer.set(bytes, at);
          const chunk = buffer.subarray(at, at + bytes.length);
          const start = Math.min(a, b) % (bytes.length + 1);
          const end = Math.min(Math.max(a, b), bytes.length);
          const before = buffer.slice();
          const asNumber =
            (((k[0] as number) << 24) |
              ((k[1] as number) << 16) |
              ((k[2] as number) << 8) |
              (k[3] as number)) >>>
            0;
          unmaskRange(chunk, start, Math.max(start, end), asNumber);
          const expected = before.slice();
          expected.set(naiveMask(before.subarray(at + start, at + Math.max(start, end)), k, 0), at + start);
          expect(firstDifference(buffer, expected)).toBe(-1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("long ranges (through WebAssembly SIMD) match a byte-by-byte XOR and leave the rest alone", () => {
    const k = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    for (const length of [8191, 8192, 8193, 20_001]) {
      for (const at of [0, 1, 3]) {
        const buffer = randomBytes(length + 16, length + at);
        const before = buffer.slice();
        const chunk = buffer.subarray(2, length + 14);
        unmaskRange(chunk, at, at + length, 0xdeadbeef);
        const expected = before.slice();
        expected.set(naiveMask(before.subarray(2 + at, 2 + at + length), k, 0), 2 + at);
        expect(firstDifference(buffer, expected)).toBe(-1);
      }
    }
  });

  it("reuses its view across calls on one chunk and makes a new one for the next chunk", () => {
    const k = new Uint8Array([9, 8, 7, 6]);
    const asNumber = 0x09080706;
    for (const size of [64, 100, 1000]) {
      const first = randomBytes(size, 1);
      const second = randomBytes(size + 3, 2);
      const a = first.slice();
      const b = second.slice();
      unmaskRange(a, 0, size >> 1, asNumber);
      unmaskRange(a, size >> 1, size, asNumber);
      unmaskRange(b, 3, size + 3, asNumber);
      expect(firstDifference(a.subarray(0, size >> 1), naiveMask(first.subarray(0, size >> 1), k, 0))).toBe(
        -1,
      );
      expect(firstDifference(a.subarray(size >> 1), naiveMask(first.subarray(size >> 1), k, 0))).toBe(-1);
      expect(firstDifference(b.subarray(3), naiveMask(second.subarray(3), k, 0))).toBe(-1);
      expect(b.subarray(0, 3)).toEqual(second.subarray(0, 3));
    }
  });
});
