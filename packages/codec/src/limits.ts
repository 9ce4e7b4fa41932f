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
   * Most frames in one fragmented message (guards against floods of tiny fragments).
   * Breach: close 1008. Default 65536.
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
  maxFragments: 65536,
  maxHeadSize: 16 * 1024,
  maxHeaderCount: 100,
});

/** Merges user overrides over {@link DEFAULT_LIMITS}, checking each value. */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !(value >= 0) || (!Number.isSafeInteger(value) && value !== Infinity)) {
      throw new RangeError(
        `Cannot use limit ${name}: ${String(value)} is not a non-negative integer or Infinity`,
      );
    }
  }
  return Object.freeze(limits);
}
