import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hex, randomBytes, toHex } from "../../test/helpers.ts";
import { FRAME_EXAMPLES } from "../../test/vectors/rfc6455.ts";
import {
  encodeFrame,
  encodeFrameInto,
  encodeFrameParts,
  encodeOwnedPayload,
  encodeTextFrame,
  encodeTextFrameInto,
  textFrameRoom,
} from "./encode.ts";
import { frameHeaderSize } from "./header.ts";
import { POOLED_MAX } from "./pool.ts";

const hello = new TextEncoder().encode("Hello");
const joined = (parts: Uint8Array[]) => parts.map(toHex).join("");

describe("encodeFrame", () => {
  it("encodes the RFC 6455 §5.7 unmasked and masked text examples", () => {
    expect(joined(encodeFrame({ opcode: 1, payload: hello }))).toBe(FRAME_EXAMPLES.unmaskedText);
    const maskingKey = hex("37fa213d");
    expect(joined(encodeFrame({ opcode: 1, payload: hello, maskingKey }))).toBe(FRAME_EXAMPLES.maskedText);
  });

  it("encodes the §5.7 fragmented message and the 16- and 64-bit length headers", () => {
    const first = encodeFrame({ opcode: 1, fin: false, payload: new TextEncoder().encode("Hel") });
    expect(joined(first)).toBe(FRAME_EXAMPLES.fragmentedText[0]);
    const [header256] = encodeFrame({ opcode: 2, payload: new Uint8Array(256) });
    expect(toHex(header256?.subarray(0, 4) ?? new Uint8Array())).toBe(FRAME_EXAMPLES.binary256Header);
    const [header64k] = encodeFrame({ opcode: 2, payload: new Uint8Array(65536) });
    expect(toHex(header64k ?? new Uint8Array())).toBe(FRAME_EXAMPLES.binary64KiBHeader);
  });

  it("returns an unmasked payload as the caller's own view, without a copy", () => {
    const payload = new Uint8Array(5000);
    const parts = encodeFrame({ opcode: 2, payload });
    expect(parts.length).toBe(2);
    expect(parts[1]).toBe(payload);
  });

  it("never modifies the caller's payload when masking", () => {
    const payload = hello.slice();
    encodeFrame({ opcode: 1, payload, maskingKey: hex("01020304") });
    expect(payload).toEqual(hello);
  });

  it("rejects a masking key that is not 4 bytes", () => {
    expect(() => encodeFrame({ opcode: 1, payload: hello, maskingKey: new Uint8Array(3) })).toThrow(
      RangeError,
    );
  });
});

describe("encodeTextFrame", () => {
  it("gives the same bytes as encoding the UTF-8 first, for every length class", () => {
    for (const text of [
      "",
      "Hello",
      "é".repeat(41),
      "é".repeat(63),
      "a".repeat(125),
      "a".repeat(126),
      "€".repeat(1365),
      "x".repeat(70000),
    ]) {
      for (const maskingKey of [undefined, hex("37fa213d")]) {
        const payload = new TextEncoder().encode(text);
        const expected = encodeFrame(
          maskingKey ? { opcode: 1, payload, maskingKey } : { opcode: 1, payload },
        );
        expect(joined(encodeTextFrame(text, 1, true, 0, maskingKey))).toBe(joined(expected));
      }
    }
  });
});

/**
 * The frame RFC 6455 §5.2 prescribes, built byte by byte (no code under test): header, masking
 * key, payload XOR key byte `i mod 4` (§5.3).
 */
function referenceFrame(opcode: number, payload: Uint8Array, maskingKey: Uint8Array | undefined): string {
  const length = payload.length;
  const lengthBytes =
    length < 126
      ? [length]
      : length < 65536
        ? [126, length >>> 8, length & 0xff]
        : [127, 0, 0, 0, 0, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
  if (maskingKey !== undefined) lengthBytes[0] = (lengthBytes[0] as number) | 0x80;
  const out = [0x80 | opcode, ...lengthBytes, ...(maskingKey ?? [])];
  const bytes = new Uint8Array(out.length + length);
  bytes.set(out);
  for (let i = 0; i < length; i++) {
    const key = maskingKey === undefined ? 0 : (maskingKey[i & 3] as number);
    bytes[out.length + i] = (payload[i] as number) ^ key;
  }
  return toHex(bytes);
}

describe("long text (the UTF-8 the codec made is masked where it lies)", () => {
  const key = hex("37fa213d");
  // Pieces that take 1, 2, 3 and 4 bytes, and lone surrogates (U+FFFD, 3 bytes).
  const piece = fc.constantFrom("a", "é", "€", "😀", "\ud800", "\udc00", "z");
  const text = fc
    .tuple(fc.nat({ max: 9000 }), fc.array(piece, { maxLength: 40 }), fc.nat({ max: 3000 }))
    .map(([before, pieces, after]) => `${"a".repeat(before)}${pieces.join("")}${"b".repeat(after)}`);

  it("gives RFC 6455's bytes for any text, masked or not, at every length and fallback point", () => {
    fc.assert(
      fc.property(text, fc.boolean(), fc.uint8Array({ minLength: 4, maxLength: 4 }), (value, masked, k) => {
        const maskingKey = masked ? k : undefined;
        const expected = referenceFrame(1, new TextEncoder().encode(value), maskingKey);
        expect(joined(encodeTextFrame(value, 1, true, 0, maskingKey))).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("switches the length form where the UTF-8 length, not the string length, crosses it", () => {
    for (const value of [
      "a".repeat(65535),
      "a".repeat(65536),
      `${"a".repeat(65534)}é`, // 65,535 code units, 65,536 bytes: the 64-bit form
      `${"a".repeat(65533)}😀`,
      `${"a".repeat(65534)}😀`,
      `😀${"a".repeat(2000)}`,
      `${"a".repeat(49000)}${"é".repeat(8000)}`,
      "€".repeat(30000),
      "x".repeat(140000), // past the in-place bound: copied
    ]) {
      for (const maskingKey of [undefined, key]) {
        const expected = referenceFrame(1, new TextEncoder().encode(value), maskingKey);
        expect(joined(encodeTextFrame(value, 1, true, 0, maskingKey))).toBe(expected);
      }
    }
  });

  it("keeps every frame intact while later ones are encoded", () => {
    const values = [
      "x".repeat(1400),
      `${"y".repeat(1400)}é`,
      "€".repeat(1500),
      "z".repeat(3000),
      "w".repeat(9000),
    ];
    const frames = values.map((value) => encodeTextFrame(value, 1, true, 0, key));
    values.forEach((value, i) => {
      expect(joined(frames[i] as Uint8Array[])).toBe(referenceFrame(1, new TextEncoder().encode(value), key));
    });
  });
});

describe("encodeTextFrameInto (a server's text frame written where the caller joins a write)", () => {
  const piece = fc.constantFrom("a", "é", "€", "😀", "\ud800", "\udc00", "z");
  const text = fc
    .tuple(fc.nat({ max: 3000 }), fc.array(piece, { maxLength: 40 }), fc.nat({ max: 300 }))
    .map(([before, pieces, after]) => `${"a".repeat(before)}${pieces.join("")}${"b".repeat(after)}`);

  it("writes RFC 6455's bytes at the offset, within textFrameRoom, and touches nothing else", () => {
    fc.assert(
      fc.property(text, fc.nat({ max: 40 }), (value, offset) => {
        const room = textFrameRoom(value);
        // Exactly the room it asks for, between two guard bytes.
        const target = new Uint8Array(offset + room + 1).fill(0xee);
        const size = encodeTextFrameInto(value, target.subarray(0, offset + room), offset);
        expect(toHex(target.subarray(offset, offset + size))).toBe(
          referenceFrame(1, new TextEncoder().encode(value), undefined),
        );
        for (let i = 0; i < offset; i++) expect(target[i]).toBe(0xee);
        expect(target[offset + room]).toBe(0xee);
      }),
      { numRuns: 300 },
    );
  });

  it("uses the 7-bit, 16-bit and 64-bit length forms where the UTF-8 length needs them", () => {
    for (const value of [
      "",
      "a".repeat(41),
      "é".repeat(41), // 82 bytes behind room reserved for 123: moved down to a 2-byte header
      "a".repeat(125),
      "a".repeat(126),
      `${"a".repeat(124)}é`, // 125 code units, 126 bytes
      "😀".repeat(31),
      "€".repeat(21845), // 65,535 bytes
      "€".repeat(21846), // 65,538 bytes
      "x".repeat(70000),
    ]) {
      const target = new Uint8Array(textFrameRoom(value) + 3);
      const size = encodeTextFrameInto(value, target, 3);
      expect(toHex(target.subarray(3, 3 + size))).toBe(
        referenceFrame(1, new TextEncoder().encode(value), undefined),
      );
    }
  });
});

describe("encodeOwnedPayload", () => {
  it("masks a large payload (up to 128 KiB) where it lies behind a header of its own, others into one buffer, at any alignment", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: POOLED_MAX + 3000 }),
          fc.integer({ min: 128 * 1024 - 100, max: 128 * 1024 + 100 }),
        ),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (length, offset, maskingKey) => {
          const payload = new Uint8Array(offset + length).map((_, i) => (i * 31 + 7) & 0xff).subarray(offset);
          const expected = referenceFrame(2, payload.slice(), maskingKey);
          const parts = encodeOwnedPayload(2, true, 0, payload, maskingKey);
          expect(joined(parts)).toBe(expected);
          if (length > POOLED_MAX && length <= 128 * 1024) expect(parts[1]).toBe(payload);
          else expect(parts).toHaveLength(1);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("freshUpTo", () => {
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  const payload = new TextEncoder().encode("Hello");

  it("encodes small frames into arrays of their own, with the same bytes as slab views", () => {
    for (const maskingKey of [undefined, key]) {
      const pooled = encodeFrameParts(2, true, 0, payload, maskingKey);
      const fresh = encodeFrameParts(2, true, 0, payload, maskingKey, 64);
      expect(fresh.map(toHex)).toEqual(pooled.map(toHex));
      const first = fresh[0] as Uint8Array;
      expect(first.byteLength).toBe(first.buffer.byteLength);
      expect((pooled[0] as Uint8Array).buffer.byteLength).toBeGreaterThan((pooled[0] as Uint8Array).length);
    }
    const text = encodeTextFrame("Hello", 1, true, 0, undefined, 64)[0] as Uint8Array;
    expect(toHex(text)).toBe(FRAME_EXAMPLES.unmaskedText);
    expect(text.byteLength).toBe(text.buffer.byteLength);
  });

  it("encodes text beyond the short ASCII loop (and short non-ASCII text) with the runtime's encoder into an array of its own, with the same bytes", () => {
    const lengths = [0, 1, 23, 24, 25, 26, 63, 64, 65, 125, 126, 1365, 1366, 70000];
    for (const length of lengths) {
      for (const text of [
        "a".repeat(length),
        "é".repeat(length),
        `€${"b".repeat(Math.max(0, length - 1))}`,
      ]) {
        for (const maskingKey of [undefined, key]) {
          const utf8 = new TextEncoder().encode(text);
          const expected = encodeFrame(
            maskingKey ? { opcode: 1, payload: utf8, maskingKey } : { opcode: 1, payload: utf8 },
          );
          const fresh = encodeTextFrame(text, 1, true, 0, maskingKey, 64);
          expect(joined(fresh)).toBe(joined(expected));
          // Unmasked text past the loop (24 characters), or not ASCII: a header of its own and
          // the encoder's array, neither a view of the slab.
          const viaEncoder =
            maskingKey === undefined && length > 0 && (length > 24 || text !== "a".repeat(length));
          if (viaEncoder) {
            expect(fresh).toHaveLength(2);
            for (const part of fresh) expect(part.byteLength).toBe(part.buffer.byteLength);
          }
        }
      }
    }
  });

  it("keeps larger frames in the slab", () => {
    const frame = encodeFrameParts(2, true, 0, new Uint8Array(100), key, 64)[0] as Uint8Array;
    expect(frame.buffer.byteLength).toBeGreaterThan(frame.length);
  });
});

describe("encodeFrameInto (a frame written into memory the caller owns)", () => {
  const concat = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  /** Where two byte arrays first differ, -1 if nowhere (toEqual is slow on 64 KiB arrays). */
  const firstDifference = (a: Uint8Array, b: Uint8Array) => {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
    return -1;
  };
  // Every length form (7-, 16-, 64-bit), the short and SIMD masking paths and their edges.
  const length = fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 8000, max: 8400 }),
    fc.integer({ min: 65530, max: 65540 }),
    fc.integer({ min: 0, max: 70000 }),
  );

  it("writes encodeFrame's bytes at any offset, for any length, payload and target alignment, masked or not, and touches nothing else", () => {
    fc.assert(
      fc.property(
        length,
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 15 }),
        fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        (size, payloadShift, offset, maskingKey, fin, slack, seed) => {
          const data = randomBytes(size, seed);
          const payload = new Uint8Array(size + payloadShift).subarray(payloadShift);
          payload.set(data);
          const expected = concat(
            encodeFrame({ opcode: 2, fin, rsv: 0x40, payload: data, ...(maskingKey && { maskingKey }) }),
          );
          const frameSize = frameHeaderSize(size, maskingKey !== undefined) + size;
          const target = new Uint8Array(offset + frameSize + slack).fill(0xee);
          const written = encodeFrameInto(target, offset, 2, fin, 0x40, payload, maskingKey);
          expect(written).toBe(frameSize);
          expect(firstDifference(target.subarray(offset, offset + written), expected)).toBe(-1);
          expect(target.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
          expect(target.subarray(offset + written).every((b) => b === 0xee)).toBe(true);
          expect(firstDifference(payload, data)).toBe(-1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("masks a payload that already lies at its place in the target where it lies, and copies one that overlaps the frame elsewhere", () => {
    fc.assert(
      fc.property(
        length,
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: -40, max: 40 }),
        fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        (size, offset, shift, maskingKey, seed) => {
          const data = randomBytes(size, seed);
          const expected = concat(
            encodeFrame({ opcode: 2, payload: data, ...(maskingKey && { maskingKey }) }),
          );
          const headerSize = frameHeaderSize(size, maskingKey !== undefined);
          const memory = new Uint8Array(offset + headerSize + size + 100);
          // The payload at its place (shift 0), or shifted by up to 40 bytes either way.
          const at = Math.max(0, offset + headerSize + shift);
          const payload = memory.subarray(at, at + size);
          payload.set(data);
          const target = memory.subarray(0, offset + headerSize + size);
          expect(encodeFrameInto(target, offset, 2, true, 0, payload, maskingKey)).toBe(headerSize + size);
          expect(firstDifference(target.subarray(offset), expected)).toBe(-1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("throws a RangeError, writing nothing, when the target lacks room, the offset is not a position, or the key is not 4 bytes", () => {
    const payload = new Uint8Array(200).fill(7);
    const maskingKey = hex("01020304");
    const room = frameHeaderSize(200, true) + 200;
    const target = new Uint8Array(room + 3);
    expect(() => encodeFrameInto(target, 4, 2, true, 0, payload, maskingKey)).toThrow(RangeError);
    expect(() => encodeFrameInto(target, -1, 2, true, 0, payload, maskingKey)).toThrow(RangeError);
    expect(() => encodeFrameInto(target, 0.5, 2, true, 0, payload, maskingKey)).toThrow(RangeError);
    expect(() => encodeFrameInto(target, 0, 2, true, 0, payload, new Uint8Array(5))).toThrow(RangeError);
    expect(target.every((b) => b === 0)).toBe(true);
    expect(encodeFrameInto(target, 3, 2, true, 0, payload, maskingKey)).toBe(room);
  });
});
