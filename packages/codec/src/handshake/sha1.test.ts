import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha1 } from "./sha1.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

describe("sha1", () => {
  it("sha1 matches the FIPS 180-4 example vectors", () => {
    expect(hex(sha1(ascii("")))).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect(hex(sha1(ascii("abc")))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(hex(sha1(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    );
  });

  it("sha1 hashes a million 'a' bytes", () => {
    expect(hex(sha1(new Uint8Array(1_000_000).fill(0x61)))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  it("sha1 agrees with node:crypto at every padding boundary length", () => {
    for (let length = 0; length <= 200; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(hex(sha1(bytes))).toBe(createHash("sha1").update(bytes).digest("hex"));
    }
  });

  it("sha1 agrees with node:crypto on arbitrary bytes (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (bytes) => {
        expect(hex(sha1(bytes))).toBe(createHash("sha1").update(bytes).digest("hex"));
      }),
    );
  });

  it("sha1 hashes only the view it is given", () => {
    const backing = ascii("xxabcxx");
    expect(hex(sha1(backing.subarray(2, 5)))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });
});
