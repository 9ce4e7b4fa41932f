/**
 * Limits on what a peer may make us hold in memory (RFC 6455 §10.4 "Implementation-Specific
 * Limits"). Every limit is an option with a safe default; breaching one fails the connection
 * with the close code given on each field.
 *
 * @module
 */

/** Resource limits for a {@link Connection} and the opening handshake. */
export interface Limits {
  /**
   * Largest message, in bytes after any extension has decoded it (for permessage-deflate: the
   * inflated size). Breach: close 1009. Default 64 MiB.
   */
  readonly maxMessageSize: number;
  /** Largest single frame payload, in bytes. Breach: close 1009. Default 64 MiB. */
  readonly maxFrameSize: number;
  /**
   * Most frames in one fragmented message. Breach: close 1008. Default `Infinity` (no count
   * bound): what a message in progress holds is bounded by its bytes and `maxMessageSize`,
   * however it is fragmented, and each fragment costs work in proportion to its bytes, so a
   * flood of tiny fragments is no cheaper for the peer than any other message. Set a number
   * to refuse messages in more frames than that.
   */
  readonly maxFragments: number;
  /** Largest HTTP head of a handshake request or response, in bytes. Breach: 431 / error. Default 16 KiB. */
  readonly maxHeadSize: number;
  /** Most header fields in a handshake request or response. Breach: 431 / error. Default 100. */
  readonly maxHeaderCount: number;
}

/** The default {@link Limits}, identical on every runtime. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxMessageSize: 64 * 1024 * 1024,
  maxFrameSize: 64 * 1024 * 1024,
  maxFragments: Infinity,
  maxHeadSize: 16 * 1024,
  maxHeaderCount: 100,
});

/**
 * The last result for each overrides object. A server hands the same overrides to every
 * connection: they then share one frozen object instead of a copy each (64 bytes per
 * connection).
 */
const resolved = new WeakMap<object, Limits>();

/**
 * Merges user overrides over {@link DEFAULT_LIMITS}, checking each value. The result is frozen;
 * the same overrides with the same values give the same object.
 */
export function resolveLimits(overrides?: Partial<Limits>): Limits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  const known = resolved.get(overrides);
  if (known !== undefined && sameValues(overrides, known)) return known;
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !(value >= 0) || (!Number.isSafeInteger(value) && value !== Infinity)) {
      throw new RangeError(
        `Cannot use limit ${name}: ${String(value)} is not a non-negative integer or Infinity`,
      );
    }
  }
  const frozen = Object.freeze(limits);
  if (typeof overrides === "object" && overrides !== null) resolved.set(overrides, frozen);
  return frozen;
}

/**
 * Whether every override still has the value it was resolved with (the overrides object may
 * have been changed since).
 */
function sameValues(overrides: object, limits: object): boolean {
  // for-in rather than Object.entries: no arrays made on every connection.
  for (const name in overrides) {
    if (!Object.hasOwn(overrides, name)) continue;
    if ((limits as Record<string, unknown>)[name] !== (overrides as Record<string, unknown>)[name])
      return false;
  }
  return true;
}
