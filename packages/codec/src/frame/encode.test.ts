import { describe, expect, it } from "vitest";
import { hex, toHex } from "../../test/helpers.ts";
import { FRAME_EXAMPLES } from "../../test/vectors/rfc6455.ts";
import { encodeFrame, encodeFrameParts, encodeTextFrame } from "./encode.ts";

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
