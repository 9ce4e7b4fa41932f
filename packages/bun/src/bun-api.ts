/**
 * The subset of Bun's TCP API this adapter uses, typed locally (no `@types/bun` dependency;
 * the runtime object is read from `globalThis.Bun`).
 *
 * Bun docs relied on:
 * - TCP sockets, `Bun.listen` / `Bun.connect`, socket handlers (`open`, `data`, `drain`,
 *   `end`, `close`, `error`, `connectError`), `socket.data`: https://bun.com/docs/api/tcp
 * - `socket.write()` returns the number of bytes written; the rest must be written again on
 *   `drain` (backpressure): https://bun.com/docs/api/tcp#buffering
 * - TLS options (`cert`, `key`, `ca`, `serverName`, `rejectUnauthorized`):
 *   https://bun.com/docs/api/tcp#tls and https://bun.com/docs/api/fetch#tls
 *
 * @module
 */

/** A Bun TCP socket (`Socket<Data>`). */
export interface BunSocket<Data> {
  /** Per-socket state. */
  data: Data;
  /** Writes; returns the bytes written (the rest was not taken), or -1 when closed. */
  write(data: Uint8Array | string): number;
  /**
   * Writes what Bun buffered, then closes the descriptor (`close(2)`, not a half-close, despite
   * older docs; oven-sh/bun#35932): unread received bytes make the kernel send a TCP RST.
   */
  end(): void;
  /**
   * No argument: `shutdown(fd, SHUT_WR)`, a half-close (FIN; reading goes on, and the socket
   * is closed once the peer's FIN arrives). `true` is `SHUT_RD`, not what the name suggests.
   */
  shutdown?(shutdownRead?: boolean): void;
  /** Sends the bytes Bun has buffered (corked writes) now. */
  flush?(): void;
  /** Closes at once. */
  terminate(): void;
  /** Stops / restarts reading. */
  pause(): void;
  resume(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  readonly remoteAddress: string;
}

/** Socket event handlers of `Bun.listen` / `Bun.connect`. */
export interface BunSocketHandler<Data> {
  /**
   * What `data` receives: `"uint8array"` for plain `Uint8Array`s (Bun's default is `Buffer`).
   * https://bun.com/reference/bun/SocketHandler/binaryType
   */
  binaryType?: "uint8array" | "buffer" | "arraybuffer";
  open?(socket: BunSocket<Data>): void;
  data?(socket: BunSocket<Data>, data: Uint8Array): void;
  drain?(socket: BunSocket<Data>): void;
  end?(socket: BunSocket<Data>): void;
  close?(socket: BunSocket<Data>, error?: Error): void;
  error?(socket: BunSocket<Data>, error: Error): void;
  connectError?(socket: BunSocket<Data>, error: Error): void;
}

/** Bun's TLS options (a subset). */
export interface BunTlsOptions {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | string[] | undefined;
  readonly serverName?: string | undefined;
  readonly rejectUnauthorized?: boolean | undefined;
  readonly [option: string]: unknown;
}

/** A `Bun.listen` listener. */
export interface BunListener {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): void;
}

/** The `Bun` global, as far as this adapter needs it. */
export interface BunApi {
  listen<Data>(options: {
    hostname: string;
    port: number;
    tls?: BunTlsOptions | undefined;
    allowHalfOpen?: boolean | undefined;
    reusePort?: boolean | undefined;
    socket: BunSocketHandler<Data>;
  }): BunListener;
  connect<Data>(options: {
    hostname: string;
    port: number;
    tls?: BunTlsOptions | boolean | undefined;
    data?: Data;
    allowHalfOpen?: boolean | undefined;
    socket: BunSocketHandler<Data>;
  }): Promise<BunSocket<Data>>;
}

/** `globalThis.Bun`, or a clear error outside Bun. */
export function bun(): BunApi {
  const api = (globalThis as { Bun?: BunApi }).Bun;
  if (api === undefined)
    throw new TypeError("Cannot use @ws/bun: globalThis.Bun is missing (not running on Bun)");
  return api;
}
