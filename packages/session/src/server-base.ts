/**
 * The `WebSocketServer` class every adapter extends, written once: the typed events, the
 * {@link ServerCore} it runs on, delivery of open sockets (`'connection'`), where errors go,
 * graceful shutdown and pub/sub. An adapter adds only its runtime's listening: where
 * connections come from (`Deno.listen`, `Bun.listen`, `node:http`'s `'upgrade'`) and how to
 * stop them.
 *
 * @module
 */
import type { DeflateEngineSource } from "./deflate.ts";
import { Emitter } from "./emitter.ts";
import type { ServerStats } from "./meter.ts";
import type { PreparedMessage, PrepareMessageOptions } from "./pubsub/prepared-message.ts";
import type { PublishOptions } from "./pubsub/pubsub.ts";
import { type IncomingHeaders, ServerCore, type ServerCoreOptions, type UpgradeInfo } from "./server-core.ts";
import type { MessageData } from "./session.ts";
import type { WebSocket, WebSocketInit } from "./websocket.ts";

/** Events of a `WebSocketServer` whose sockets are `WS` and whose requests are `Request`. */
export interface ServerEvents<WS, Request> {
  /** A socket opened; `request` is the upgrade request it came from. */
  connection: [socket: WS, request: Request];
  /** The server listens (`port` mode). */
  listening: [];
  /** Listening failed, a hook or listener threw, or the broker failed. */
  error: [error: Error];
  /** `close()` finished. */
  close: [];
}

/**
 * The runtime-neutral part of every adapter's `WebSocketServer` (see the module comment).
 * `WS` is the adapter's `WebSocket` class, `Request` what `verify` and `'connection'` get.
 */
export abstract class WebSocketServerBase<
  // biome-ignore lint/suspicious/noExplicitAny: the adapter's socket type, whatever its binaryType.
  WS extends WebSocket<any>,
  Request,
  Headers extends IncomingHeaders,
  Options extends ServerCoreOptions<UpgradeInfo<Request, Headers>>,
> extends Emitter<ServerEvents<WS, Request>> {
  /** The open sockets (when `clientTracking` is on). */
  readonly clients: Set<WS>;
  /** The options given. */
  readonly options: Options;
  /** The shared accept path, client tracking, shutdown and pub/sub. */
  protected readonly core: ServerCore<Request, WS, Headers>;

  /**
   * @param options the options given (checked by {@link ServerCore}).
   * @param createSocket builds the adapter's `WebSocket` around an accepted session.
   * @param runtimeKeys the adapter's own option names (`port`, `host` …).
   * @param deflateEngine the adapter's deflate engine, for `perMessageDeflate`.
   */
  constructor(
    options: Options,
    createSocket: (url: string, init: WebSocketInit) => WS,
    runtimeKeys: readonly string[],
    deflateEngine: DeflateEngineSource,
  ) {
    super();
    this.options = options;
    this.core = new ServerCore<Request, WS, Headers>(options, createSocket, runtimeKeys, deflateEngine);
    this.clients = this.core.clients;
    // Broker failures (lost connection, failed publish) go to 'error' listeners, if any.
    this.core.reportError = (error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
    };
  }

  /** Hands an open socket to the `'connection'` listeners. */
  protected readonly deliver = (ws: WS, request: Request): void => {
    this.emit("connection", ws, request);
  };

  /**
   * A broken hook or listener must not bring the server down: reported to 'error' listeners,
   * else to the console (never silently dropped, never thrown).
   */
  protected readonly onError = (error: Error): void => {
    this.emit("error", error);
  };

  /**
   * Runs `listen` (the runtime's listen call); then `'listening'`, or `'error'` with what it
   * threw, in a microtask (so that listeners added after the constructor see it).
   */
  protected listen(listen: () => void): void {
    try {
      listen();
    } catch (error) {
      queueMicrotask(() => this.emit("error", error instanceof Error ? error : new Error(String(error))));
      return;
    }
    queueMicrotask(() => this.emit("listening"));
  }

  /** Stops taking new connections (the first step of {@link WebSocketServerBase.close}). */
  protected abstract stopListening(): void;

  /** Releases what the adapter created for listening, after the sockets closed. */
  protected closed(): Promise<void> | void {}

  /**
   * Graceful shutdown: stops accepting, closes every socket with 1001 (Going Away, RFC 6455
   * §7.4.1) and waits for them; sockets still open after `timeout` ms (default: the
   * session's close timeout, 5000) are terminated.
   */
  async close(timeout?: number): Promise<void> {
    this.stopListening();
    await this.core.close(timeout);
    await this.closed();
    this.emit("close");
  }

  /** Terminates every socket at once (no close handshake). */
  terminate(): void {
    this.core.terminate();
  }

  /**
   * The server's counters now: open connections, handshakes in progress, bytes buffered in
   * each direction (summed over the open connections when called), messages and bytes
   * received and sent, handshakes accepted and rejected. See the observability guide.
   */
  stats(): ServerStats {
    return this.core.stats();
  }

  /**
   * Sends `data` to the sockets subscribed to `topic` (`socket.subscribe(topic)`), framed and
   * compressed once, here and, with a `broker`, on every other server. Returns how many of this
   * server's sockets it reached. See `@ws/session`'s README, "Pub/sub".
   *
   * @throws {BrokerError} `BROKER_UNAVAILABLE` when the broker cannot be reached (nothing sent).
   */
  publish(topic: string, data: MessageData | PreparedMessage, options?: PublishOptions<WS>): number {
    return this.core.pubsub.publish(topic, data, options);
  }

  /** Sends `data` to every open socket (of every server, with a `broker`); like {@link publish}. */
  broadcast(data: MessageData | PreparedMessage, options?: PublishOptions<WS>): number {
    return this.core.pubsub.broadcast(data, options);
  }

  /** How many of this server's sockets are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.core.pubsub.subscriberCount(topic);
  }

  /** Frames (and, with `perMessageDeflate`, compresses) `data` once, for `socket.sendPrepared()`. */
  prepareMessage(data: MessageData, options?: PrepareMessageOptions): PreparedMessage {
    return this.core.pubsub.prepare(data, options);
  }
}
