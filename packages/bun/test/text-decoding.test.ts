/**
 * The range decoder text messages in one frame go through on Bun (src/text-decoding.ts): the
 * same strings as a fatal TextDecoder for valid UTF-8, and undefined for every kind of invalid
 * input (RFC 6455 §8.1: such a message fails the connection with 1007).
 */
import { describe, expect, it } from "bun:test";
import { decodeUtf8Range } from "../src/text-decoding.ts";

// As the codec decodes: a leading U+FEFF is message content.
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** What a fatal TextDecoder makes of `bytes`, undefined where it throws. */
function reference(bytes: Uint8Array): string | undefined {
  try {
    return fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

/** `bytes` placed at `at` in a chunk with other bytes around, as a frame's payload lies in a read. */
function inChunk(bytes: readonly number[], at: number): Uint8Array {
  const chunk = new Uint8Array(at + bytes.length + 3).fill(0x41);
  chunk.set(bytes, at);
  return chunk;
}

const invalid: [string, number[]][] = [
  ["lone continuation byte", [0x80]],
  ["truncated 2-byte sequence", [0x61, 0xc3]],
  ["truncated 3-byte sequence", [0xe2, 0x82]],
  ["truncated 4-byte sequence", [0xf0, 0x9f, 0x98]],
  ["overlong 2-byte NUL", [0xc0, 0x80]],
  ["overlong 3-byte", [0xe0, 0x80, 0xaf]],
  ["overlong 4-byte", [0xf0, 0x80, 0x80, 0xaf]],
  ["UTF-16 high surrogate (CESU-8)", [0xed, 0xa0, 0x80]],
  ["UTF-16 low surrogate", [0xed, 0xbf, 0xbf]],
  ["surrogate pair encoded separately", [0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9]],
  ["beyond U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ["5-byte form", [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ["0xFE", [0xfe]],
  ["0xFF", [0xff]],
  [
    "Autobahn 6.4.1 prefix",
    [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80],
  ],
];

const valid: [string, string][] = [
  ["empty", ""],
  ["ASCII", "Hello, world"],
  ["Latin-1", "déjà vu"],
  ["BMP", "κόσμε"],
  ["astral", "😀 and 𝄞"],
  ["a literal U+FFFD", "a \ufffd b"],
  ["a literal U+FFFD after U+FEFF", "\ufeff\ufffd"],
  ["U+FEFF at the start (kept: a BOM is data in a message)", "\ufeffx"],
  ["a kilobyte", `${"x".repeat(1000)}é`],
];

describe("decodeUtf8Range (Bun)", () => {
  it("decodes valid UTF-8 as a fatal TextDecoder does, at any place in the chunk", () => {
    for (const [name, text] of valid) {
      const bytes = [...new TextEncoder().encode(text)];
      for (const at of [0, 1, 5]) {
        const chunk = inChunk(bytes, at);
        expect(decodeUtf8Range(chunk, at, at + bytes.length), name).toBe(text);
        expect(reference(chunk.subarray(at, at + bytes.length)), name).toBe(text);
      }
    }
  });

  it("returns undefined for every kind of invalid UTF-8, as a fatal TextDecoder throws", () => {
    for (const [name, bytes] of invalid) {
      for (const at of [0, 3]) {
        const chunk = inChunk(bytes, at);
        expect(reference(chunk.subarray(at, at + bytes.length)), name).toBeUndefined();
        expect(decodeUtf8Range(chunk, at, at + bytes.length), name).toBeUndefined();
      }
    }
  });

  it("agrees with a fatal TextDecoder on random bytes, for chunks that are views of larger buffers", () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed >>> 24;
    };
    for (let round = 0; round < 3000; round++) {
      const length = random() % 24;
      // Bytes mostly valid-looking: ASCII and lead/continuation bytes.
      const bytes = Array.from({ length }, () => (random() < 96 ? random() & 0x7f : 0x80 | random()));
      const backing = new Uint8Array(length + 10);
      const chunk = backing.subarray(4, 4 + length + 2);
      chunk.set(bytes, 1);
      expect(decodeUtf8Range(chunk, 1, 1 + length)).toBe(reference(new Uint8Array(bytes)));
    }
  });

  it("reads the chunk it is given, not the one it decoded from before", () => {
    const first = inChunk([...new TextEncoder().encode("first")], 0);
    const second = inChunk([...new TextEncoder().encode("other")], 0);
    expect(decodeUtf8Range(first, 0, 5)).toBe("first");
    expect(decodeUtf8Range(second, 0, 5)).toBe("other");
    first.set(new TextEncoder().encode("again"));
    expect(decodeUtf8Range(first, 0, 5)).toBe("again");
  });
});
