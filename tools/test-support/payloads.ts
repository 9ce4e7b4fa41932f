/**
 * Deterministic test payloads for the adapters' compression tests (Node, Deno and Bun suites):
 * compressible text, incompressible bytes and a byte ramp. Runtime-neutral.
 */

/** Deterministic words with back-references at every distance (up to the 32 KiB window). */
export function words(size: number, seed = 1): string {
  const vocabulary =
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega".split(
      " ",
    );
  let x = seed;
  let out = "";
  while (out.length < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += `${vocabulary[x % vocabulary.length]}${x % 7 === 0 ? `-${x % 1000}` : ""} `;
  }
  return out.slice(0, size);
}

/** Incompressible bytes (xorshift). */
export function noise(size: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** `size` bytes counting 0, 1, … 255, 0, 1, … (easy to check at any offset). */
export function big(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => i & 0xff);
}
