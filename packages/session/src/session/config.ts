/**
 * A session's settings, resolved from its {@link SessionOptions} once: what the session only
 * reads after it is made (role, limits, timeouts, the server's meter and budget). A server
 * hands one frozen options object to every connection without a subprotocol or extensions
 * (`ServerCore`): its sessions then share one config instead of a dozen fields each.
 *
 * @module
 */
import { resolveSessionLimits, type SessionLimits } from "../limits.ts";
import type { MemoryBudget } from "../memory-budget.ts";
import type { Meter } from "../meter.ts";
import {
  checkDuration,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_RECEIVE_HIGH_WATER_MARK,
  type HeartbeatOptions,
  type SessionOptions,
} from "./types.ts";

/** The resolved settings of a session (see the module comment). */
export interface SessionConfig {
  readonly role: "client" | "server";
  /** The negotiated subprotocol, or "". */
  readonly protocol: string;
  /** The negotiated extensions header value, or "". */
  readonly extensions: string;
  readonly limits: SessionLimits;
  readonly streamMessages: boolean;
  readonly autoPong: boolean;
  readonly echoCloseReason: boolean;
  readonly closeTimeout: number;
  readonly heartbeat: HeartbeatOptions | undefined;
  readonly receiveHighWaterMark: number;
  /** `idleTimeout` in ms, 0 when off. */
  readonly idleTimeout: number;
  /** The accepting server's counters (`meter.ts`); undefined for a client. */
  readonly meter: Meter | undefined;
  /** The server's memory budget; see `memory-budget.ts`. */
  readonly budget: MemoryBudget | undefined;
}

/** The config of each frozen options object (one that cannot change after it is resolved). */
const shared = new WeakMap<SessionOptions, SessionConfig>();

/**
 * Resolves and checks `options` (throws as the session constructor documents). A frozen
 * options object resolves once: every session made with it gets the same config.
 */
export function sessionConfig(options: SessionOptions): SessionConfig {
  const frozen = Object.isFrozen(options);
  if (frozen) {
    const known = shared.get(options);
    if (known !== undefined) return known;
  }
  const heartbeat = options.heartbeat;
  if (heartbeat !== undefined) {
    checkDuration("heartbeat.interval", heartbeat.interval);
    checkDuration("heartbeat.timeout", heartbeat.timeout);
  }
  const config: SessionConfig = {
    role: options.role,
    protocol: options.protocol ?? "",
    extensions: options.extensionsHeader ?? "",
    limits: resolveSessionLimits(options.limits),
    streamMessages: options.streamMessages ?? false,
    autoPong: options.autoPong ?? true,
    echoCloseReason: options.echoCloseReason ?? false,
    closeTimeout: checkDuration("closeTimeout", options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT),
    heartbeat,
    receiveHighWaterMark: options.receiveHighWaterMark ?? DEFAULT_RECEIVE_HIGH_WATER_MARK,
    idleTimeout: checkDuration("idleTimeout", options.idleTimeout ?? 0),
    meter: options.meter,
    budget: options.budget,
  };
  if (frozen) shared.set(options, config);
  return config;
}
