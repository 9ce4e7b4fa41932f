import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyMask, maskInto } from "./mask.ts";

function naiveMask(data: Uint8Array, key: Uint8Array, offset: number): Uint8Array {
  return data.map((b, i) => b ^ (key[(i + offset) & 3] as number));
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
        payload,
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
