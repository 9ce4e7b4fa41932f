/**
 * The few universal Web APIs the codec uses, typed locally so that the codec compiles with no
 * ambient runtime types at all (`"types": []`, `lib: ["ES2022"]`). Every runtime we target
 * (Node ≥ 20, Deno, Bun, browsers, workers) provides these on `globalThis` (WHATWG Encoding
 * Standard, W3C Web Cryptography `getRandomValues`).
 *
 * @module
 */

/** The subset of WHATWG `TextDecoder` used by the codec. */
export interface TextDecoderLike {
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}

/** The subset of WHATWG `TextEncoder` used by the codec. */
export interface TextEncoderLike {
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}

interface WebGlobals {
  TextDecoder: new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }) => TextDecoderLike;
  TextEncoder: new () => TextEncoderLike;
  crypto?: { getRandomValues<T extends Uint8Array>(array: T): T };
}

const web = globalThis as unknown as WebGlobals;

/** Creates a UTF-8 `TextDecoder`; `fatal` makes invalid input throw instead of inserting U+FFFD. */
export function createUtf8Decoder(fatal: boolean): TextDecoderLike {
  // ignoreBOM: a leading U+FEFF is message content, not a byte order mark (RFC 6455 §5.6).
  return new web.TextDecoder("utf-8", { fatal, ignoreBOM: true });
}

/** A shared UTF-8 encoder. */
export const utf8Encoder: TextEncoderLike = /* @__PURE__ */ new web.TextEncoder();

/** A shared non-fatal UTF-8 decoder, for bytes already known to be valid. */
export const utf8Decoder: TextDecoderLike = /* @__PURE__ */ createUtf8Decoder(false);

/** Fills `target` with cryptographically strong random bytes from `globalThis.crypto`. */
export function webRandom(target: Uint8Array): void {
  const crypto = web.crypto;
  if (crypto === undefined) {
    throw new TypeError(
      "Cannot generate random bytes: globalThis.crypto.getRandomValues is missing, pass a random option",
    );
  }
  // getRandomValues fills at most 65536 bytes per call (W3C WebCrypto §10.1.1).
  for (let offset = 0; offset < target.length; offset += 65536) {
    crypto.getRandomValues(target.subarray(offset, Math.min(target.length, offset + 65536)));
  }
}

/** A source of random bytes: fills `target` completely. Injected so tests can be deterministic. */
export type RandomSource = (target: Uint8Array) => void;
