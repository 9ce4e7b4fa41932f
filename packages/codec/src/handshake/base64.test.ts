import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64, encodeBase64 } from "./base64.ts";

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

describe("base64", () => {
  // RFC 4648 §10 test vectors.
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ];

  it("encodeBase64 matches the RFC 4648 §10 vectors", () => {
    for (const [plain, encoded] of vectors) expect(encodeBase64(ascii(plain))).toBe(encoded);
  });

  it("decodeBase64 matches the RFC 4648 §10 vectors", () => {
    for (const [plain, encoded] of vectors) expect(text(decodeBase64(encoded))).toBe(plain);
  });

  it("encodeBase64 uses + and / for 62 and 63", () => {
    expect(encodeBase64(new Uint8Array([0xfb, 0xff]))).toBe("+/8=");
    expect(decodeBase64("+/8=")).toEqual(new Uint8Array([0xfb, 0xff]));
  });

  it("base64 round trips arbitrary bytes and agrees with Buffer (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const encoded = encodeBase64(bytes);
        expect(encoded).toBe(Buffer.from(bytes).toString("base64"));
        expect(decodeBase64(encoded)).toEqual(bytes);
      }),
    );
  });

  it("decodeBase64 rejects lengths that are not a multiple of 4", () => {
    expect(decodeBase64("Zm9")).toBeUndefined();
    expect(decodeBase64("Zg")).toBeUndefined();
    expect(decodeBase64("Zm9vY")).toBeUndefined();
  });

  it("decodeBase64 rejects characters outside the alphabet, whitespace and the URL-safe alphabet", () => {
    expect(decodeBase64("Zm9 ")).toBeUndefined();
    expect(decodeBase64(" Zm9v")).toBeUndefined();
    expect(decodeBase64("Zm9v\n")).toBeUndefined();
    expect(decodeBase64("-_8=")).toBeUndefined();
    expect(decodeBase64("Zm9\u00e9")).toBeUndefined();
    expect(decodeBase64("Zm9\u0176")).toBeUndefined();
  });

  it("decodeBase64 rejects misplaced padding", () => {
    expect(decodeBase64("====")).toBeUndefined();
    expect(decodeBase64("Z===")).toBeUndefined();
    expect(decodeBase64("Zg==Zm9v")).toBeUndefined();
    expect(decodeBase64("Z=9v")).toBeUndefined();
  });

  it("decodeBase64 rejects non-zero bits before the padding (non-canonical encodings)", () => {
    expect(decodeBase64("Zh==")).toBeUndefined();
    expect(decodeBase64("Zm9=")).toBeUndefined();
    expect(text(decodeBase64("Zm8="))).toBe("fo");
  });

  it("decodeBase64 returns undefined or bytes whose encoding is the input, for arbitrary strings (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(..."AZaz09+/=-_ \u00e9".split("")), maxLength: 16 }),
        (input) => {
          const decoded = decodeBase64(input);
          if (decoded !== undefined) expect(encodeBase64(decoded)).toBe(input);
        },
      ),
    );
  });
});
