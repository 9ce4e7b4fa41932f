import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RemoteProtocolError } from "../errors.ts";
import { decodeUtf8With, isValidUtf8, StreamingUtf8Decoder, type WholeUtf8Strategy } from "./utf8.ts";

/**
 * Reference: the index of the first byte at which `bytes` can no longer be a prefix of valid
 * UTF-8 (Unicode Table 3-7, well-formed byte sequences), or -1 when it still can be.
 */
function firstInvalidIndex(bytes: Uint8Array): number {
  let need = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (need === 0) {
      if (b <= 0x7f) continue;
      if (b >= 0xc2 && b <= 0xdf) need = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
      } else return i;
    } else {
      if (b < lower || b > upper) return i;
      lower = 0x80;
      upper = 0xbf;
      need--;
    }
  }
  return -1;
}

/** Bytes that are mostly valid UTF-8 with some damage. */
const utf8ish = fc
  .tuple(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
  )
  .map(([text, damage]) => {
    const bytes = new TextEncoder().encode(text);
    for (const [at, value] of damage) if (bytes.length > 0) bytes[at % bytes.length] = value;
    return bytes;
  });

describe("StreamingUtf8Decoder", () => {
  it("fails at the piece holding the first invalid byte, never later (fail-fast)", () => {
    fc.assert(
      fc.property(utf8ish, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const bad = firstInvalidIndex(bytes);
        const decoder = new StreamingUtf8Decoder();
        let start = 0;
        let text = "";
        for (const end of [...points, bytes.length]) {
          if (end < start) continue;
          const last = end === bytes.length;
          const piece = bytes.subarray(start, end);
          if (bad !== -1 && bad < end) {
            expect(() => decoder.decode(piece, last)).toThrow(RemoteProtocolError);
            return;
          }
          try {
            text += decoder.decode(piece, last);
          } catch {
            // Only a truncated sequence at the very end may fail late.
            expect(last).toBe(true);
            expect(bad).toBe(-1);
            expect(isValidUtf8(bytes)).toBe(false);
            return;
          }
          start = end;
          if (last) break;
        }
        expect(bad).toBe(-1);
        expect(text).toBe(new TextDecoder().decode(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("fails on surrogates, overlongs and code points above U+10FFFF with 1007", () => {
    for (const bad of [
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xff],
    ]) {
      let caught: unknown;
      try {
        new StreamingUtf8Decoder().decode(new Uint8Array(bad), false);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: "INVALID_UTF8", closeCode: 1007 });
    }
  });

  it("keeps a leading U+FEFF as content", () => {
    expect(new StreamingUtf8Decoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), true)).toBe("\ufeffA");
  });

  it("can decode a new message after a failed one", () => {
    const decoder = new StreamingUtf8Decoder();
    expect(() => decoder.decode(new Uint8Array([0xce, 0xff]), false)).toThrow(RemoteProtocolError);
    expect(decoder.decode(new Uint8Array([0xce]), false)).toBe("");
    expect(decoder.decode(new Uint8Array([0xba]), true)).toBe("κ");
  });
});

// A loop, not describe.each: the Deno test shim has no describe.each.
for (const strategy of ["fatal", "lax-then-check"] satisfies WholeUtf8Strategy[]) {
  const decode = (bytes: Uint8Array): string => decodeUtf8With(strategy, bytes, "payload");
  describe(`decodeUtf8 (${strategy})`, () => {
    it("agrees with TextDecoder on valid input of any length", () => {
      fc.assert(
        fc.property(fc.string({ unit: "grapheme", maxLength: 100 }), (text) => {
          expect(decode(new TextEncoder().encode(text))).toBe(text);
        }),
      );
    });

    it("accepts exactly the inputs the reference accepts, past the ASCII fast path too", () => {
      // Long enough (> 64 bytes) to reach the decoder; the damage lands anywhere in it.
      const longUtf8ish = fc
        .tuple(
          fc.string({ unit: "binary", minLength: 70, maxLength: 200 }),
          fc.array(fc.nat(), { maxLength: 3 }),
        )
        .chain(([text, spots]) =>
          fc.tuple(
            fc.constant(text),
            fc.constant(spots),
            fc.array(fc.integer({ min: 0x80, max: 0xff }), {
              minLength: spots.length,
              maxLength: spots.length,
            }),
          ),
        )
        .map(([text, spots, values]) => {
          const bytes = new TextEncoder().encode(text);
          spots.forEach((at, i) => {
            bytes[at % bytes.length] = values[i] as number;
          });
          return bytes;
        });
      fc.assert(
        fc.property(longUtf8ish, (bytes) => {
          const valid = firstInvalidIndex(bytes) === -1 && isValidUtf8(bytes);
          if (valid) expect(decode(bytes)).toBe(new TextDecoder().decode(bytes));
          else expect(() => decode(bytes)).toThrow(RemoteProtocolError);
        }),
        { numRuns: 500 },
      );
    });

    it("keeps a literal U+FFFD, and rejects a payload whose only damage would decode to one", () => {
      const literal = new TextEncoder().encode(`${"a".repeat(80)}\ufffd${"b".repeat(10)}`);
      expect(decode(literal)).toBe(`${"a".repeat(80)}\ufffd${"b".repeat(10)}`);
      const damaged = new TextEncoder().encode("a".repeat(100));
      damaged[90] = 0xff;
      expect(() => decode(damaged)).toThrow(
        expect.objectContaining({ code: "INVALID_UTF8", closeCode: 1007 }),
      );
    });

    it("rejects a truncated sequence at the end", () => {
      expect(() => decode(new Uint8Array([0x41, 0xe2, 0x82]))).toThrow(RemoteProtocolError);
      const long = new Uint8Array(100).fill(0x41);
      long.set([0xe2, 0x82], 98);
      expect(() => decode(long)).toThrow(RemoteProtocolError);
    });
  });
}
