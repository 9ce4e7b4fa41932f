/**
 * Liveness: `ping()` with its round-trip time (RFC 6455 §5.5.2–§5.5.3) and the opt-in
 * heartbeat that takes a silent peer for dead. Made by the session on first use: most
 * connections never ping.
 *
 * @module
 */
import { WebSocketError } from "../errors.ts";
import type { HeartbeatOptions } from "./types.ts";

/** What keep-alive needs from its session. */
export interface KeepAliveLink {
  /** Sends a ping when the session may (open, no close frame sent); else nothing. */
  sendPing(payload: Uint8Array): void;
  /** The peer stayed silent after a heartbeat ping: drop the connection (reported as 1006). */
  lost(): void;
}

type PendingPing = {
  readonly payload: Uint8Array;
  readonly sentAt: number;
  readonly resolve: (rtt: number) => void;
  readonly reject: (error: unknown) => void;
};

/** Milliseconds from a monotonic clock when there is one. */
function now(): number {
  return typeof performance === "undefined" ? Date.now() : performance.now();
}

/** Pings awaiting their pong, and the heartbeat's timers. */
export class KeepAlive {
  /** Set by the session on every received chunk: any byte from the peer proves it alive. */
  heard = false;
  readonly #link: KeepAliveLink;
  #pings: PendingPing[] | undefined;
  #counter = 0;
  #interval: ReturnType<typeof setTimeout> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(link: KeepAliveLink) {
    this.#link = link;
  }

  /** A fresh 4-byte ping payload (a counter), for pings sent without one. */
  nextPayload(): Uint8Array {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, ++this.#counter >>> 0);
    return payload;
  }

  /** Resolves with the round-trip time when the pong for `payload` (or a later ping) arrives. */
  expectPong(payload: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#pings ??= [];
      this.#pings.push({ payload, sentAt: now(), resolve, reject });
    });
  }

  /** A pong arrived: settles the ping it answers and the earlier ones (RFC 6455 §5.5.3). */
  pong(payload: Uint8Array): void {
    const pings = this.#pings;
    if (pings === undefined) return;
    const index = pings.findIndex((ping) => equalBytes(ping.payload, payload));
    if (index === -1) return;
    const answered = pings.splice(0, index + 1);
    const time = now();
    for (const ping of answered) ping.resolve(time - ping.sentAt);
  }

  /**
   * Pings every `interval` ms; when nothing at all arrives within `timeout` ms after a ping,
   * the link is told the peer is lost.
   */
  startHeartbeat(options: HeartbeatOptions): void {
    if (this.#stopped) return;
    this.#interval = setTimeout(() => {
      this.#interval = undefined;
      if (this.#stopped) return;
      this.heard = false;
      // A bare ping: liveness is any byte from the peer, so no pong is awaited or recorded.
      this.#link.sendPing(this.nextPayload());
      this.#deadline = setTimeout(() => {
        this.#deadline = undefined;
        if (this.#stopped) return;
        // A silent peer is taken for dead: closed as if it vanished (1006, not clean).
        if (!this.heard) this.#link.lost();
        else this.startHeartbeat(options);
      }, options.timeout);
    }, options.interval);
  }

  /** The connection closed (with `code`): timers stop, pending pings reject. */
  stop(code: number): void {
    this.#stopped = true;
    clearTimeout(this.#interval);
    clearTimeout(this.#deadline);
    this.#interval = this.#deadline = undefined;
    const pings = this.#pings;
    this.#pings = undefined;
    if (pings === undefined || pings.length === 0) return;
    const closedError = new WebSocketError("CONNECTION_FAILED", `Connection closed (${code})`);
    for (const ping of pings) ping.reject(closedError);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
