import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeAcceptKey, generateKey, isValidKey } from "./accept-key.ts";
import { decodeBase64 } from "./base64.ts";

describe("accept-key", () => {
  it("computeAcceptKey gives the RFC 6455 §1.3 sample accept value", () => {
    // RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" → accept "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
    expect(computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("computeAcceptKey agrees with node:crypto for generated keys (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const key = Buffer.from(bytes).toString("base64");
        const expected = createHash("sha1")
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest("base64");
        expect(computeAcceptKey(key)).toBe(expected);
      }),
    );
  });

  it("generateKey encodes 16 bytes from the injected random source", () => {
    const key = generateKey((target) => {
      for (let i = 0; i < target.length; i++) target[i] = i;
    });
    expect(key).toBe("AAECAwQFBgcICQoLDA0ODw==");
    expect(decodeBase64(key)).toEqual(Uint8Array.from({ length: 16 }, (_, i) => i));
  });

  it("generateKey uses crypto.getRandomValues by default and gives valid, distinct keys", () => {
    const keys = new Set(Array.from({ length: 20 }, () => generateKey()));
    expect(keys.size).toBe(20);
    for (const key of keys) expect(isValidKey(key)).toBe(true);
  });

  it("isValidKey accepts only the base64 encoding of exactly 16 bytes", () => {
    expect(isValidKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe(true);
    expect(isValidKey("dGhlIHNhbXBsZQ==")).toBe(false); // 10 bytes
    expect(isValidKey("dGhlIHNhbXBsZSBub25jZQ")).toBe(false); // unpadded
    expect(isValidKey("dGhlIHNhbXBsZSBub25jZR==")).toBe(false); // non-zero trailing bits
    expect(isValidKey("dGhlIHNhbXBsZSBub25jZSE=")).toBe(false); // 17 bytes
    expect(isValidKey("dGhlIHNhbXBsZSBub25j ZQ=")).toBe(false);
    expect(isValidKey("")).toBe(false);
  });
});
