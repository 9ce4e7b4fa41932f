/**
 * Portability smoke test: the few runtime facilities the codec relies on behave the same on
 * Node 20, Node 24, Deno and Bun. This file runs under every runtime's test command
 * (`test`, `test:node24`, `test:deno`, `test:bun`), so keep it to describe/it/expect.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isControlOpcode, isKnownOpcode, MAX_CONTROL_PAYLOAD, Opcode } from "../src/constants.ts";
import { createUtf8Decoder, utf8Encoder, webRandom } from "../src/web-globals.ts";

describe("runtime smoke", () => {
  describe("constants", () => {
    it("classifies control opcodes by their high bit (RFC 6455 §5.5)", () => {
      expect(isControlOpcode(Opcode.Close)).toBe(true);
      expect(isControlOpcode(Opcode.Ping)).toBe(true);
      expect(isControlOpcode(Opcode.Pong)).toBe(true);
      expect(isControlOpcode(Opcode.Text)).toBe(false);
      expect(isControlOpcode(Opcode.Binary)).toBe(false);
      expect(isControlOpcode(Opcode.Continuation)).toBe(false);
      expect(MAX_CONTROL_PAYLOAD).toBe(125);
    });

    it("knows exactly the six opcodes RFC 6455 defines", () => {
      const known = Array.from({ length: 16 }, (_, op) => op).filter((op) => isKnownOpcode(op));
      expect(known).toEqual([0x0, 0x1, 0x2, 0x8, 0x9, 0xa]);
    });

    it("agrees with the high-bit rule for every 4-bit opcode (fast-check)", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 15 }), (op) => {
          expect(isControlOpcode(op)).toBe(op >= 8);
        }),
      );
    });
  });

  describe("TextDecoder (WHATWG Encoding)", () => {
    it("fatal decoder throws on invalid UTF-8", () => {
      const decoder = createUtf8Decoder(true);
      // 0xC0 0xAF: overlong encoding of "/"; 0xFF never appears in UTF-8.
      expect(() => decoder.decode(new Uint8Array([0xc0, 0xaf]))).toThrow(TypeError);
      expect(() => createUtf8Decoder(true).decode(new Uint8Array([0xff]))).toThrow();
      // UTF-16 surrogate encoded in UTF-8 (ED A0 80) is invalid too (RFC 3629 §3).
      expect(() => createUtf8Decoder(true).decode(new Uint8Array([0xed, 0xa0, 0x80]))).toThrow();
    });

    it("non-fatal decoder substitutes U+FFFD instead", () => {
      expect(createUtf8Decoder(false).decode(new Uint8Array([0x61, 0xff, 0x62]))).toBe("a\uFFFDb");
    });

    it("keeps a leading U+FEFF as content (ignoreBOM, RFC 6455 §5.6)", () => {
      const text = createUtf8Decoder(true).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]));
      expect(text.length).toBe(3);
      expect(text.charCodeAt(0)).toBe(0xfeff);
      expect(text.slice(1)).toBe("hi");
    });

    it("streams a code point split across chunks and rejects a truncated one at the end", () => {
      const decoder = createUtf8Decoder(true);
      // U+20AC EURO SIGN = E2 82 AC, split after the first byte.
      expect(decoder.decode(new Uint8Array([0x41, 0xe2]), { stream: true })).toBe("A");
      expect(decoder.decode(new Uint8Array([0x82, 0xac]), { stream: true })).toBe("\u20ac");
      expect(decoder.decode()).toBe("");
      const truncated = createUtf8Decoder(true);
      expect(truncated.decode(new Uint8Array([0xe2, 0x82]), { stream: true })).toBe("");
      expect(() => truncated.decode()).toThrow();
    });

    it("round-trips any string through TextEncoder (fast-check)", () => {
      fc.assert(
        fc.property(fc.string({ unit: "grapheme" }), (s) => {
          expect(createUtf8Decoder(true).decode(utf8Encoder.encode(s))).toBe(s);
        }),
      );
    });
  });

  describe("crypto.getRandomValues", () => {
    it("fills buffers larger than the 65536-byte per-call limit", () => {
      const target = new Uint8Array(65536 * 2 + 7);
      webRandom(target);
      // The odds that a 64-byte window of strong randomness is all zero are 2^-512.
      expect(target.subarray(0, 64).some((b) => b !== 0)).toBe(true);
      expect(target.subarray(target.length - 64).some((b) => b !== 0)).toBe(true);
    });
  });
});
