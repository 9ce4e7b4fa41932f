/**
 * Assertions for fuzz properties, without a test framework (the long runner is plain Node), and
 * the comparison helpers the chunking invariants use.
 *
 * @module
 */

/** A broken invariant: the fuzzer reports the input that led to it. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantError";
  }
}

/** Throws an {@link InvariantError} unless `condition` holds. */
export function check(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === "string" ? message : message());
}

/** JSON with byte arrays as hex, for comparing and printing outcomes. */
export function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array)
      return `hex:${Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    if (typeof v === "bigint") return `${v}n`;
    return v;
  });
}

/** Deep equality of plain data: arrays, plain objects, byte arrays (bytewise), primitives. */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], other[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((k) => left[k] !== undefined);
  if (keys.length !== Object.keys(right).filter((k) => right[k] !== undefined).length) return false;
  for (const key of keys) if (!same(left[key], right[key])) return false;
  return true;
}

/** Throws unless `a` and `b` are {@link same} (printed in their {@link stable} form). */
export function checkSame(a: unknown, b: unknown, what: string): void {
  if (same(a, b)) return;
  throw new InvariantError(`${what} differ:\n  ${stable(a).slice(0, 2000)}\n  ${stable(b).slice(0, 2000)}`);
}

/** Joins byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Rethrows `error` unless it is an instance of one of `allowed` (the documented errors). */
export function onlyDocumented(
  error: unknown,
  allowed: readonly (abstract new (...args: never[]) => Error)[],
  where: string,
): void {
  if (allowed.some((kind) => error instanceof kind)) return;
  const detail =
    error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ""}` : String(error);
  throw new InvariantError(`${where} threw an undocumented error: ${detail}`);
}
