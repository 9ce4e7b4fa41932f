/**
 * Event classes of the WHATWG WebSocket API that not every runtime has (Node 20 has no global
 * `CloseEvent` nor `ErrorEvent`). `MessageEvent` is a universal global and is used as is.
 *
 * @module
 */

/** Init dictionary of {@link CloseEvent} (WHATWG `CloseEventInit`). */
export interface CloseEventInit extends EventInit {
  readonly wasClean?: boolean;
  readonly code?: number;
  readonly reason?: string;
}

/**
 * The WHATWG `CloseEvent`: fired once, when the connection is closed. `code` is the close code
 * received from the peer, 1005 when its close frame had none, 1006 when the connection closed
 * without a close frame (RFC 6455 §7.1.5, §7.4.1).
 */
export class CloseEvent extends Event {
  // WebIDL §3.7.6: attributes are accessors on the prototype, not own properties.
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#wasClean = Boolean(init.wasClean ?? false);
    this.#code = Number(init.code ?? 0);
    this.#reason = String(init.reason ?? "");
  }
  /** Whether the close handshake completed (RFC 6455 §7.1.4 "closed cleanly"). */
  get wasClean(): boolean {
    return this.#wasClean;
  }
  /** The WebSocket connection close code. */
  get code(): number {
    return this.#code;
  }
  /** The WebSocket connection close reason. */
  get reason(): string {
    return this.#reason;
  }
  /** `Object.prototype.toString` gives `[object CloseEvent]`. */
  declare readonly [Symbol.toStringTag]: string;

  static {
    // WebIDL §3.7.6: attributes are enumerable accessors, the class string a data property.
    for (const name of ["wasClean", "code", "reason"]) {
      const descriptor = Object.getOwnPropertyDescriptor(CloseEvent.prototype, name) as PropertyDescriptor;
      Object.defineProperty(CloseEvent.prototype, name, { ...descriptor, enumerable: true });
    }
    Object.defineProperty(CloseEvent.prototype, Symbol.toStringTag, {
      value: "CloseEvent",
      configurable: true,
    });
  }
}

/**
 * The `error` event. Browsers fire a plain `Event`; this one also carries what went wrong
 * (`error`, `message`), like Node's `ErrorEvent`.
 */
export class WebSocketErrorEvent extends Event {
  /** What went wrong. */
  readonly error: unknown;
  /** The error's message, or "". */
  readonly message: string;
  constructor(type: string, error: unknown) {
    super(type);
    this.error = error;
    this.message = error instanceof Error ? error.message : "";
  }
}
