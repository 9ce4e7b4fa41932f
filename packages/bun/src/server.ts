/**
 * The WebSocket server for Bun: listens with `Bun.listen` (TCP, or TLS with `tls`), reads each
 * request head with the codec's `HttpHeadParser`, and runs the shared handshake, `verify`
 * hook, client tracking and shutdown of `@ws/session`'s `ServerCore`. Same API and defaults as
 * `@ws/node`'s `WebSocketServer`.
 *
 * Bun docs relied on:
 * - `Bun.listen` (hostname, port, tls, socket handlers), `listener.stop()`:
 *   https://bun.com/docs/api/tcp#start-a-server-bun-listen
 * - `node:events` `EventEmitter` in Bun: https://bun.com/docs/runtime/nodejs-apis#node-events
 *
 * @module
 */
import { EventEmitter } from "node:events";
import type { HttpRequestHead } from "@ws/codec/handshake";
import type { MessageData, PreparedMessage, PrepareMessageOptions, PublishOptions } from "@ws/session";
import {
  type BinaryType,
  reportListenerError,
  ServerCore,
  type ServerCoreOptions,
  type UpgradeInfo as SharedUpgradeInfo,
} from "@ws/session";
import { type BunListener, type BunTlsOptions, bun } from "./bun-api.ts";
import { type ClientOptions, WebSocket } from "./client.ts";
import { deflateEngine } from "./deflate.ts";
import { handshakeConnection, type SocketTransport, socketHandlers } from "./socket-transport.ts";

/** The request head as parsed from the socket, and the request headers (lower-case names). */
export type UpgradeInfo = SharedUpgradeInfo<HttpRequestHead, Readonly<Record<string, string>>>;

/** Options of a {@link WebSocketServer}: the shared server options plus where to listen. */
export interface WebSocketServerOptions<B extends BinaryType = "uint8array">
  extends ServerCoreOptions<UpgradeInfo, B> {
  /** Listen on this port (0 picks a free one). Other requests than upgrades get 426. */
  readonly port?: number | undefined;
  /** The address to listen on. Default `"0.0.0.0"` (all interfaces, as Node). */
  readonly host?: string | undefined;
  /** Serve `wss:`: Bun's TLS options (`cert`, `key` as PEM text …). */
  readonly tls?: BunTlsOptions | undefined;
  /** Not supported on Bun: use `@ws/node`'s `WebSocketServer` with `node:http` (it runs on Bun). */
  readonly server?: undefined;
  /** Neither listen nor attach (only `close()` / `clients` are then useful). */
  readonly noServer?: boolean | undefined;
  /**
   * Set `SO_REUSEPORT` (Linux): several processes listen on one port and the kernel spreads
   * connections across them (with a `broker` carrying pub/sub between them).
   */
  readonly reusePort?: boolean | undefined;
}

/** Events of a {@link WebSocketServer}; `B` is the sockets' `binaryType` type. */
export interface WebSocketServerEvents<B extends BinaryType = "uint8array"> {
  connection: [socket: WebSocket<B>, request: HttpRequestHead];
  listening: [];
  error: [error: Error];
  close: [];
}

/**
 * A WebSocket server on `Bun.listen` (ws-style API on the shared WHATWG `WebSocket` objects).
 *
 * @example
 * ```ts
 * import { WebSocketServer } from "@ws/bun";
 * const wss = new WebSocketServer({ port: 8080, protocols: ["chat"] });
 * wss.on("connection", (ws) => {
 *   ws.onmessage = (event) => ws.send(event.data);
 * });
 * ```
 */
export class WebSocketServer<B extends BinaryType = "uint8array"> extends EventEmitter<
  WebSocketServerEvents<B>
> {
  /** The open sockets (when `clientTracking` is on). */
  readonly clients: Set<WebSocket<B>>;
  /** The options given. */
  readonly options: WebSocketServerOptions<B>;
  readonly #core: ServerCore<HttpRequestHead, WebSocket<B>, Readonly<Record<string, string>>>;
  #listener: BunListener | undefined;

  constructor(options: WebSocketServerOptions<B> = {}) {
    super();
    this.options = options;
    this.#core = new ServerCore(
      options,
      (url, init) => new WebSocket<B>(url, undefined, init as ClientOptions<B>),
      ["port", "host", "server", "noServer", "tls", "reusePort"],
      deflateEngine,
    );
    this.clients = this.#core.clients;
    // Broker failures (lost connection, failed publish) go to 'error' listeners, if any.
    this.#core.reportError = (error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
    };
    if ((options as { server?: unknown }).server !== undefined) {
      throw new TypeError(
        "Cannot create WebSocketServer: @ws/bun does not attach to node:http servers; use @ws/node's WebSocketServer there (it runs on Bun), or give port",
      );
    }
    const { port, host, noServer } = options;
    if (Number(port !== undefined) + Number(noServer === true) !== 1) {
      throw new TypeError("Cannot create WebSocketServer: give exactly one of port or noServer: true");
    }
    if (port === undefined) return;
    try {
      this.#listener = bun().listen<SocketTransport>({
        hostname: host ?? "0.0.0.0",
        port,
        tls: options.tls,
        // Keep reading after our FIN (TCP half-close), as Node does: closing with unread bytes
        // would reset the connection and could drop our close frame.
        allowHalfOpen: true,
        ...(options.reusePort === true ? { reusePort: true } : {}),
        // The head read, handshake, limits and response are the shared accept path's.
        socket: socketHandlers((transport) => {
          const connection = handshakeConnection(transport, options.tls !== undefined);
          void this.#core.accept(connection, this.#deliver, this.#onError);
        }),
      });
    } catch (error) {
      queueMicrotask(() => this.emit("error", error instanceof Error ? error : new Error(String(error))));
      return;
    }
    queueMicrotask(() => this.emit("listening"));
  }

  /** The listening address, or null. */
  address(): { address: string; family: string; port: number } | null {
    const listener = this.#listener;
    if (listener === undefined) return null;
    const family = listener.hostname.includes(":") ? "IPv6" : "IPv4";
    return { address: listener.hostname, family, port: listener.port };
  }

  readonly #deliver = (ws: WebSocket<B>, request: HttpRequestHead): void => {
    this.emit("connection", ws, request);
  };

  /**
   * A broken hook or listener must not bring the server down: reported to 'error' listeners,
   * else to the console (never silently dropped, never thrown).
   */
  readonly #onError = (error: Error): void => {
    if (this.listenerCount("error") > 0) this.emit("error", error);
    else reportListenerError(error);
  };

  /**
   * Graceful shutdown: stops listening, closes every socket with 1001 (Going Away, RFC 6455
   * §7.4.1) and waits for them; sockets still open after `timeout` ms (default: the
   * session's close timeout, 5000) are terminated.
   */
  async close(timeout?: number): Promise<void> {
    this.#listener?.stop(false);
    this.#listener = undefined;
    await this.#core.close(timeout);
    this.emit("close");
  }

  /**
   * Sends `data` to the sockets subscribed to `topic` (`socket.subscribe(topic)`), framed and
   * compressed once, here and, with a `broker`, on every other server. Returns how many of this
   * server's sockets it reached. See `@ws/session`'s README, "Pub/sub".
   *
   * @throws {BrokerError} `BROKER_UNAVAILABLE` when the broker cannot be reached (nothing sent).
   */
  publish(
    topic: string,
    data: MessageData | PreparedMessage,
    options?: PublishOptions<WebSocket<B>>,
  ): number {
    return this.#core.pubsub.publish(topic, data, options);
  }

  /** Sends `data` to every open socket (of every server, with a `broker`); like {@link publish}. */
  broadcast(data: MessageData | PreparedMessage, options?: PublishOptions<WebSocket<B>>): number {
    return this.#core.pubsub.broadcast(data, options);
  }

  /** How many of this server's sockets are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.#core.pubsub.subscriberCount(topic);
  }

  /** Frames (and, with `perMessageDeflate`, compresses) `data` once, for `socket.sendPrepared()`. */
  prepareMessage(data: MessageData, options?: PrepareMessageOptions): PreparedMessage {
    return this.#core.pubsub.prepare(data, options);
  }

  /** Terminates every socket at once (no close handshake). */
  terminate(): void {
    this.#core.terminate();
  }
}
