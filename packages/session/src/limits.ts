/**
 * Limits: the codec's {@link Limits} plus the session's own, with the same defaults on every
 * runtime.
 *
 * @module
 */
import { DEFAULT_LIMITS, type Limits } from "@ws/codec";
import { resolveLimits } from "@ws/codec/connection";

/** The codec's limits plus the session's. */
export interface SessionLimits extends Limits {
  /**
   * Most bytes the send side may hold (`bufferedAmount`: frames queued by the session plus
   * bytes the runtime has not flushed yet) for a peer that does not read them. A `send()` that
   * would go past it while something is already buffered is dropped, an `error` is reported
   * and the connection is closed with 1008 (the WHATWG "buffer is full" rule: the WebSocket is
   * closed): the close frame is queued after what is buffered, and a peer that still does not
   * read is dropped after `closeTimeout`. A message sent while nothing is buffered always
   * goes, whatever its size, so a connection holds at most this plus one message.
   * Default 4 MiB: a hundred peers that stop reading cost a server about 400 MiB, not 12 GiB.
   */
  readonly maxBufferedAmount: number;
}

/** The default {@link SessionLimits}, identical on every runtime. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  ...DEFAULT_LIMITS,
  maxBufferedAmount: 4 * 1024 * 1024,
});

/**
 * The last result for each overrides object, and the codec's part of each result. A server
 * hands the same overrides to every session: they then share one frozen object (and their
 * codec connections another) instead of two copies each (about 170 bytes per connection).
 */
const resolved = new WeakMap<object, SessionLimits>();
const codecParts = new WeakMap<SessionLimits, Limits>();

/**
 * Merges user overrides over {@link DEFAULT_SESSION_LIMITS}, checking each value. The result is
 * frozen; the same overrides with the same values give the same object.
 */
export function resolveSessionLimits(overrides?: Partial<SessionLimits>): SessionLimits {
  if (overrides === undefined) return DEFAULT_SESSION_LIMITS;
  const known = resolved.get(overrides);
  if (known !== undefined && sameValues(overrides, known)) return known;
  const { maxBufferedAmount = DEFAULT_SESSION_LIMITS.maxBufferedAmount, ...codec } = overrides;
  if (!(maxBufferedAmount >= 0)) {
    throw new RangeError(
      `Cannot use limit maxBufferedAmount: ${String(maxBufferedAmount)} is not a non-negative number`,
    );
  }
  const limits = Object.freeze({ ...resolveLimits(codec), maxBufferedAmount });
  if (typeof overrides === "object" && overrides !== null) resolved.set(overrides, limits);
  return limits;
}

/** The codec's limits of `limits` (all but `maxBufferedAmount`), one object per `limits`. */
export function codecLimits(limits: SessionLimits): Limits {
  let part = codecParts.get(limits);
  if (part === undefined) {
    const { maxBufferedAmount: _, ...codec } = limits;
    part = resolveLimits(codec);
    codecParts.set(limits, part);
  }
  return part;
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
