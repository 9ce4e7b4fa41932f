/**
 * Limits: the codec's {@link Limits} plus the session's own, with the same defaults on every
 * runtime.
 *
 * @module
 */
import { DEFAULT_LIMITS, type Limits, resolveLimits } from "@ws/codec";

/** The codec's limits plus the session's. */
export interface SessionLimits extends Limits {
  /**
   * Most bytes the send side may hold (`bufferedAmount`: frames queued by the session plus
   * bytes the runtime has not flushed yet). A `send()` that would go past it is dropped, an
   * `error` is reported and the connection is closed with 1008 (the WHATWG "buffer is full"
   * rule: the WebSocket is closed). Default 128 MiB (twice the default `maxMessageSize`, so
   * one message of the largest size always fits).
   */
  readonly maxBufferedAmount: number;
}

/** The default {@link SessionLimits}, identical on every runtime. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  ...DEFAULT_LIMITS,
  maxBufferedAmount: 128 * 1024 * 1024,
});

/** Merges user overrides over {@link DEFAULT_SESSION_LIMITS}, checking each value. */
export function resolveSessionLimits(overrides: Partial<SessionLimits> = {}): SessionLimits {
  const { maxBufferedAmount = DEFAULT_SESSION_LIMITS.maxBufferedAmount, ...codec } = overrides;
  if (!(maxBufferedAmount >= 0)) {
    throw new RangeError(
      `Cannot use limit maxBufferedAmount: ${String(maxBufferedAmount)} is not a non-negative number`,
    );
  }
  return Object.freeze({ ...resolveLimits(codec), maxBufferedAmount });
}
